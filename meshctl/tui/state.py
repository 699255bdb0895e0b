"""The console's read model: one snapshot's routing view, lint findings and a search index, built off the UI thread."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from ..model.findings import Finding
from ..model.gcpause import gc_paused
from ..model.snapshot import Snapshot
from ..model.validate import ValidationMemo
from ..routing.actions import describe_action
from ..routing.lint import lint
from ..routing.render import findings_by_route
from ..routing.types import FlattenedRoute, GatewayView, RoutingView, VirtualHostView
from ..routing.view import build_routing_view

FILTER_FIELDS = ("path", "name", "dest", "label", "owner")


# The arrows of action descriptions are the only non-ASCII characters in most search texts; one of them makes
# CPython store the whole string with 2 bytes a character. They are folded to control characters (which no one
# types) in the text and in the query alike, so matching is unchanged and the text stays 1 byte a character.
_FOLD = str.maketrans({"→": "\x01", "⇒": "\x02", "↪": "\x03"})


@dataclass(slots=True, weakref_slot=True)
class RouteEntry:
    """A flattened route with the lower-case text the filter searches.

    `everything` is the fields in FILTER_FIELDS order, then the match description, joined by single spaces;
    `starts[i]` is where field i + 1 (or, last, the match description) begins. One string per route instead
    of one per field: 10k routes are ~9 MB less, twice over while a reload builds the next model."""

    gateway: str
    vhost: str
    route: FlattenedRoute
    everything: str
    starts: tuple[int, ...]

    def field_span(self, key: str) -> tuple[int, int]:
        i = FILTER_FIELDS.index(key)
        return (self.starts[i - 1] if i else 0), self.starts[i] - 1

    def field(self, key: str) -> str:
        start, end = self.field_span(key)
        return self.everything[start:end]


HostKey = tuple[str, str]  # (gateway, virtual host)


@dataclass(slots=True)
class HostPart:
    """The console's rows of one virtual host. Shared by successive models while the routing view hands over the
    same VirtualHostView object (nothing in it changed), so the part never refers back to a model."""

    gateway: str
    view: VirtualHostView
    entries: list[RouteEntry]  # all_routes order
    by_id: dict[str, RouteEntry]  # all routes, dropped invalid ones too (ids are unique per virtual host)


@dataclass
class ConsoleModel:
    version: int
    snapshot: Snapshot
    view: RoutingView
    findings: list[Finding]
    by_route: dict[str, list[Finding]]
    entries: list[RouteEntry]
    built_in: float  # seconds
    sources: list[dict[str, object]] = field(default_factory=list)
    hosts: dict[HostKey, HostPart] = field(default_factory=dict)

    def gateway(self, name: str | None) -> GatewayView | None:
        if name is None:
            return self.view.gateways[0] if self.view.gateways else None
        return self.view.gateway(name)

    def vhost(self, gateway: str, vhost: str) -> VirtualHostView | None:
        part = self.hosts.get((gateway, vhost))
        return part.view if part is not None else None

    def route(self, gateway: str, vhost: str, route_id: str) -> FlattenedRoute | None:
        part = self.hosts.get((gateway, vhost))
        entry = part.by_id.get(route_id) if part is not None else None
        return entry.route if entry is not None else None

    def index_of(self, gateway: str, vhost: str, route_id: str) -> int | None:
        """The route's place in its virtual host's Envoy route list; None when it is not served."""
        part = self.hosts.get((gateway, vhost))
        return part.view.index_of(route_id) if part is not None else None

    def is_served(self, gateway: str, vhost: str, route_id: str) -> bool:
        part = self.hosts.get((gateway, vhost))
        return part is not None and part.view.index_of(route_id) is not None

    def locate_route(self, route_id: str) -> tuple[str, str] | None:
        """(gateway, vhost) of a route id (ids are unique per virtual host; the first hit wins)."""
        for e in self.entries:
            if e.route.id == route_id:
                return e.gateway, e.vhost
        return None

    def marks(self, route: FlattenedRoute) -> list[str]:
        """"shadowed" / "partial" / "invalid" for a route, from lint findings and validity."""
        out = []
        codes = {f.code for f in self.by_route.get(route.id, [])}
        if "shadowed-route" in codes:
            out.append("shadowed")
        if "partially-shadowed" in codes:
            out.append("partial")
        if not route.valid or route.problems:
            out.append("invalid")
        return out


def _entry(gateway: str, vhost: str, r: FlattenedRoute) -> RouteEntry:
    labels = " ".join(f"{k}={val}" for k, val in r.labels.items())
    for link in r.chain:
        labels += " " + " ".join(f"{k}={val}" for k, val in link.resource.labels.items())
    fields = [text.lower().translate(_FOLD) for text in (  # in FILTER_FIELDS order; lower() may change a length
        " ".join(m.path for m in r.matchers),
        f"{r.name} {r.id}",
        describe_action(r),
        labels,
        " ".join(link.owner for link in r.chain),
        r.describe_match(),
    )]
    starts, at = [], 0
    for text in fields[:-1]:
        at += len(text) + 1
        starts.append(at)
    everything = " ".join(fields)
    return RouteEntry(gateway, vhost, r, everything, tuple(starts))


def same_search_text(old: FlattenedRoute, new: FlattenedRoute) -> bool:
    """Everything `_entry` reads of the two routes is the same. The routing view hands a reused route over as the
    same object or, moved or renumbered, as a copy holding the same model objects (Route, matchers, labels), so
    identity settles most of it cheaply."""
    if old is new:  # an unchanged route the incremental view shared with the previous view (never mutated)
        return True
    if old.route is not new.route or old.replaced_by_direct_response != new.replaced_by_direct_response:
        return False
    # identity first: on the common path (a copy) every field is the same object and no value is compared
    if old.matchers is not new.matchers and old.matchers != new.matchers:
        return False
    if (old.name is not new.name and old.name != new.name) or (old.id is not new.id and old.id != new.id):
        return False
    if old.labels is not new.labels and old.labels != new.labels:
        return False
    if old.chain is new.chain:
        return True
    if len(old.chain) != len(new.chain):
        return False
    for a, b in zip(old.chain, new.chain, strict=True):  # re-read resources above a reused table: by value
        if a.resource is not b.resource and (a.owner != b.owner or a.resource.labels != b.resource.labels):
            return False
    return True


class ModelBuilder:
    """Builds the console models of successive snapshots of one workspace, redoing only what changed:

    - a virtual host whose VirtualHostView the routing view reused (the same object) keeps its HostPart whole;
    - in a rebuilt host, a route whose searched fields did not change keeps its search text (`same_search_text`);
    - validation re-checks only re-read resources (model/validate.py `ValidationMemo`); the engine's findings,
      shadowing included, come from the view, which is itself incremental per virtual host.

    The result equals a fresh `build_model` (tests/tui/test_model_incremental.py). One build at a time: the
    console may start a build before the previous one finished."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[HostKey, HostPart] = {}
        self._validation = ValidationMemo()
        self.last_stats: dict[str, int] = {}

    def build(self, snapshot: Snapshot, version: int, view: RoutingView | None = None,
              sources: list[dict[str, object]] | None = None) -> ConsoleModel:
        with self._lock:
            started = time.perf_counter()
            view = view if view is not None else build_routing_view(snapshot)
            with gc_paused():  # see model/gcpause.py: GC passes over the live 10k-route model were half of this
                findings = lint(snapshot, view, self._validation)
                self.last_stats = {"hosts_reused": 0, "hosts_built": 0, "entries_reused": 0, "entries_built": 0}
                parts = [self._part(g, v) for g in view.gateways for v in g.virtual_hosts]
                entries = [e for part in parts for e in part.entries]
                hosts = {(part.gateway, part.view.name): part for part in parts}
            self._hosts = hosts  # the parts of this model only: nothing keeps an older model's rows
            return ConsoleModel(version, snapshot, view, findings, findings_by_route(findings), entries,
                                time.perf_counter() - started, sources or [], hosts)

    def _part(self, g: GatewayView, v: VirtualHostView) -> HostPart:
        gateway, vhost = g.name, v.name  # (GatewayView.name is computed: once per host, not per route)
        old = self._hosts.get((gateway, vhost))
        if old is not None and old.view is v:
            self.last_stats["hosts_reused"] += 1
            return old
        self.last_stats["hosts_built"] += 1
        previous = old.by_id if old is not None else {}
        entries = [self._route_entry(gateway, vhost, r, previous.get(r.id)) for r in v.all_routes]
        by_id = {e.route.id: e for e in entries}
        v.index_of("")  # the place of each served route, mapped here in the worker rather than by the tree's first look
        return HostPart(gateway, v, entries, by_id)

    def _route_entry(self, gateway: str, vhost: str, r: FlattenedRoute, was: RouteEntry | None) -> RouteEntry:
        if was is not None and same_search_text(was.route, r):
            self.last_stats["entries_reused"] += 1
            return RouteEntry(gateway, vhost, r, was.everything, was.starts)
        self.last_stats["entries_built"] += 1
        return _entry(gateway, vhost, r)


def build_model(snapshot: Snapshot, version: int, view: RoutingView | None = None,
                sources: list[dict[str, object]] | None = None) -> ConsoleModel:
    """The console model of one snapshot, built from scratch."""
    return ModelBuilder().build(snapshot, version, view, sources)


def parse_query(query: str) -> list[tuple[str | None, str]]:
    """"path:/api name:v1 reviews" → [("path", "/api"), ("name", "v1"), (None, "reviews")] (lower-cased)."""
    terms: list[tuple[str | None, str]] = []
    for word in query.lower().translate(_FOLD).split():
        key, sep, value = word.partition(":")
        if sep and key in FILTER_FIELDS and value:
            terms.append((key, value))
        elif sep and key in ("destination", "to"):
            terms.append(("dest", value))
        else:
            terms.append((None, word))
    return terms


def filter_entries(entries: list[RouteEntry], query: str, gateway: str | None = None) -> list[RouteEntry]:
    """Routes whose fields contain every term (a term without a field matches any field)."""
    pool = entries if gateway is None else [e for e in entries if e.gateway == gateway]
    return narrow(pool, parse_query(query))


def narrow(pool: list[RouteEntry], terms: list[tuple[str | None, str]]) -> list[RouteEntry]:
    for key, value in terms:  # one list comprehension per term: the fast path in CPython
        if key is None:
            pool = [e for e in pool if value in e.everything]
        else:  # find() within the field's span: no slice per route
            i = FILTER_FIELDS.index(key)
            if i == 0:
                pool = [e for e in pool if e.everything.find(value, 0, e.starts[0] - 1) >= 0]
            else:
                pool = [e for e in pool if e.everything.find(value, e.starts[i - 1], e.starts[i] - 1) >= 0]
    return pool


def is_narrower(old: list[tuple[str | None, str]], new: list[tuple[str | None, str]]) -> bool:
    """Every route matching `new` also matches `old` (typing on extends a term or adds one)."""
    if len(new) < len(old):
        return False
    return all(ok == nk and ov in nv for (ok, ov), (nk, nv) in zip(old, new, strict=False))


class RouteFilter:
    """Filters as the operator types: a query that narrows the previous one only scans the previous matches.

    It keeps the current model's entries (the pool and the last result); `reset` lets go of them, which the
    tree does when a new model arrives, so the previous model is freed at the swap rather than at the next
    keystroke."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._model: ConsoleModel | None = None  # held, not an id(): a freed model's id can be reused
        self._gateway: str | None = None
        self._terms: list[tuple[str | None, str]] = []
        self._result: list[RouteEntry] = []
        self._pool: list[RouteEntry] = []

    def run(self, model: ConsoleModel, gateway: str | None, query: str) -> list[RouteEntry]:
        terms = parse_query(query)
        if model is not self._model or gateway != self._gateway:
            self._model, self._gateway = model, gateway
            self._pool = [e for e in model.entries if gateway is None or e.gateway == gateway]
            self._terms, self._result = [], self._pool
        base = self._result if is_narrower(self._terms, terms) else self._pool
        self._result = narrow(base, terms)
        self._terms = terms
        return self._result
