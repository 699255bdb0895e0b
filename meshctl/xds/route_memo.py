"""Envoy routes kept across snapshots: a flattened route the incremental routing view reused is not translated again.

A route's Envoy messages depend on its model route, effective matchers, options, id and name (the same objects
when the routing view reused it, or equal ones when its file was re-read) and on how its destinations resolve in
this snapshot's mesh index. The memo records each resolution a translation made; an entry is reused only when
every one resolves the same way now, and it then reports the clusters and notes the translation reported.
Resolutions are compared once per translator (`_check_mesh`); while none changed, an entry checked under the same
mesh epoch is reused on identity alone, so a host whose 10,000 routes were all re-linked (copies holding the same
model objects: a re-read VirtualHost) costs one dict read each. Reused routes keep their encoded bytes pinned in
the codec, and each host its whole `routes` field, so packing a route configuration of 10,000 routes only encodes
the changed ones.

A whole virtual host is the unit of the fast path: the memo keeps, per host, the routes it translated last time
and their messages laid end to end. When the mesh resolves every destination it has seen as before (checked once
per translator, not per route), a route that is the very object at the same place as last time needs no look at
all; only the others (one edited table's routes) are looked up, and the host's messages are sliced together around
them. When routes were added or removed (a table dropped, added or moved), the routes before and after the one
changed stretch are still the very objects of last time (a route does not carry its place in the list), and the
host is spliced around that stretch. Clusters are reported in the order a route-by-route pass would report them;
when an edit could change that order (a changed route used a cluster first), the host is done route by route.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from itertools import accumulate, chain, compress, count, repeat
from operator import attrgetter, is_, is_not
from typing import Any

from envoy_data_plane.envoy.config.route.v3 import Route as EnvoyRoute
from envoy_data_plane.envoy.config.route.v3 import VirtualHost as EnvoyVirtualHost

from ..mesh.index import Backend
from ..model.common import KubeServiceDestination, WeightedDestination
from ..routing.types import FlattenedRoute
from . import codec
from .retry_hoist import Counts, add_counts, common_policy, hoisted, retry_slots
from .translate_routes import RouteContext, destination_key, envoy_routes

Key = tuple[str, str]  # (scope, route id)


@dataclass(slots=True)
class _Entry:
    key: Key
    route: Any  # the model Route, matchers tuple and options the messages were built from (held: identity keys)
    matchers: Any
    options: Any
    replaced: tuple[int, str] | None
    messages: list[EnvoyRoute]
    resolved: list[tuple[str, Any, str, Backend]]  # ("dest" | "kube", destination, owner namespace, backend)
    clusters: list[Backend]  # in the order the translation added them
    notes: list[str]
    epoch: int = -1  # the mesh epoch its resolutions were last checked under
    framed: bytes = b""  # its messages as elements of VirtualHost.routes (tag, length, pinned bytes), joined
    slots: tuple[Any, ...] = ()  # each message's retry policy (retry_hoist.retry_slots)
    # its messages under a host whose retry policy is `hoisted_for` (retry_hoist), pinned, and their framing
    hoisted_for: Any = None
    hoisted_messages: list[EnvoyRoute] = field(default_factory=list)
    hoisted_framed: bytes = b""

    def under(self, common: Any) -> tuple[list[EnvoyRoute], bytes]:
        """Its messages and their framing under a host whose retry policy is `common` (None: its own)."""
        if common is None:
            return self.messages, self.framed
        if self.hoisted_for is not common:
            self._unpin_hoisted()
            messages = [hoisted(m, common) for m in self.messages]
            for new, old in zip(messages, self.messages, strict=True):
                if new is not old:
                    codec.pin(new)
            self.hoisted_for, self.hoisted_messages = common, messages
            self.hoisted_framed = self.framed if all(map(is_, messages, self.messages)) else \
                b"".join(codec.framed(_ROUTES_KEY, m) for m in messages)
        return self.hoisted_messages, self.hoisted_framed

    def unpin(self) -> None:
        for message in self.messages:
            codec.unpin(message)
        self._unpin_hoisted()

    def _unpin_hoisted(self) -> None:
        for new, old in zip(self.hoisted_messages, self.messages, strict=False):
            if new is not old:
                codec.unpin(new)
        self.hoisted_for, self.hoisted_messages, self.hoisted_framed = None, [], b""

    @property
    def sizes(self) -> tuple[int, int]:
        return len(self.messages), len(self.notes)


@dataclass(slots=True)
class _Host:
    """One virtual host's routes as translated last time, with their messages and notes laid end to end."""

    routes: list[FlattenedRoute]
    entries: list[_Entry]
    messages: list[EnvoyRoute]
    message_at: list[int]  # where each route's messages start in `messages` (one more element: the end)
    notes: list[str]
    note_at: list[int]
    clusters: list[Backend]  # every cluster once, in the order a route-by-route pass reports them
    first_use: dict[str, int] = field(default_factory=dict)  # Envoy cluster name -> index of its first route
    epoch: int = 0  # the mesh resolutions these were made under (see RouteMemo._mesh_epoch)
    # the entries' framed messages joined: the whole field's encoding, pinned in the codec for the `messages` list
    encoded: bytes = b""
    framed: list[bytes] = field(default_factory=list)  # per entry, its part of `encoded`
    counts: Counts = field(default_factory=dict)  # its routes' retry policies, counted (retry_hoist)
    common: Any = None  # the retry policy set on the host instead of on its routes (retry_hoist), or None


_ROUTES_KEY = codec.field_key(EnvoyVirtualHost, "routes")


_SLOTS = attrgetter("slots")


_ID = attrgetter("id")
_MESSAGES = attrgetter("messages")
_NOTES = attrgetter("notes")
_CLUSTERS = attrgetter("clusters")


def _made_of(entry: _Entry, route: FlattenedRoute, epoch: int) -> bool:
    """Does `entry` translate `route` as it stands (the same parts, id and mesh epoch)?"""
    return (entry.route is route.route and entry.matchers is route.matchers and entry.options is route.options
            and entry.epoch == epoch and entry.key[1] == route.id
            and entry.replaced == route.replaced_by_direct_response)


class RouteMemo:
    """Per flattened route (by id and gateway scope), its Envoy routes; shared by a service's translators."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._host_lock = threading.Lock()
        self._entries: dict[Key, _Entry] = {}
        self._hosts: dict[str, _Host] = {}
        self._used: set[Key] = set()
        self._used_hosts: set[str] = set()
        self._since_sweep = 0  # translations since the last real sweep (sweeping is amortized)
        # backend comparisons already made (thousands of routes share a few backends): (id, id) -> (a, b, equal),
        # the objects held so their ids stay theirs
        self._same: dict[tuple[int, int], tuple[Backend, Backend, bool]] = {}
        # every destination resolution seen, by destination key: (kind, destination, namespace, backend)
        self._resolutions: dict[tuple[Any, ...], tuple[str, Any, str, Backend]] = {}
        self._mesh_epoch = 0
        self._checked: weakref.ref[Any] | None = None  # the translator whose resolutions were last compared
        self.translated = 0  # routes translated (misses), for tests and benchmarks
        self.reused = 0
        self.hosts_fast = 0  # virtual hosts assembled around their changed routes

    # -- one route ---------------------------------------------------------------------------------------
    def _entry(self, scope: str, route: FlattenedRoute, ctx: RouteContext, epoch: int) -> _Entry:
        """The route's entry, reused when it still holds, else translated (nothing is reported to `ctx`).
        `epoch` is the mesh epoch `ctx`'s translator was checked under (`_check_mesh`): an entry made or
        re-checked under that same epoch resolves every destination as it did, and is not looked up again."""
        key = (scope, route.id)
        entry = self._entries.get(key)  # a dict read is atomic; writes below hold the lock
        if entry is not None and self._holds(entry, route, ctx, epoch):
            self._used.add(key)
            self.reused += 1
            return entry
        entry = self._translate(key, route, ctx)
        entry.epoch = epoch
        for message in entry.messages:
            codec.pin(message)
        entry.framed = b"".join(codec.framed(_ROUTES_KEY, m) for m in entry.messages)
        entry.slots = retry_slots(entry.messages)
        with self._lock:
            old = self._entries.get(key)
            if old is not None and old is not entry:
                old.unpin()
            self._entries[key] = entry
            self._used.add(key)
            self.translated += 1
            self._since_sweep += 1
        return entry

    # -- one virtual host --------------------------------------------------------------------------------
    def host_routes(self, scope: str, routes: list[FlattenedRoute], ctx: RouteContext,
                    translator: Any) -> tuple[list[EnvoyRoute], Any]:
        """The Envoy routes of a virtual host's `routes` and the retry policy the host carries for them (as
        `retry_hoist.hoist_host` gives), reporting clusters and notes to `ctx` exactly as `envoy_routes` route
        by route would. `translator` owns `ctx.resolve` (one mesh index).

        One host at a time: the mesh check and the host it allows to be reused belong to one translator."""
        with self._host_lock:
            self._check_mesh(translator, ctx)
            previous = self._hosts.get(scope)
            if previous is None:
                host = None
            elif len(previous.routes) == len(routes):
                host = self._fast(previous, routes, ctx)
            else:  # routes added or removed
                host = self._spliced(previous, scope, routes, ctx)
            if host is None:
                host = self._route_by_route(routes, scope, ctx)
            else:
                self.hosts_fast += 1
            if previous is not None and previous.messages is not host.messages:
                codec.unpin_field(previous.messages)
            codec.pin_field(host.messages, _ROUTES_KEY, host.encoded)
            with self._lock:
                self._hosts[scope] = host
                self._used_hosts.add(scope)
        for backend in host.clusters:
            ctx.add_cluster(backend)
        if host.notes:
            ctx.notes.extend(host.notes)
        return host.messages, host.common

    def _route_by_route(self, routes: list[FlattenedRoute], scope: str, ctx: RouteContext) -> _Host:
        epoch = self._mesh_epoch
        keys = list(zip(repeat(scope), map(_ID, routes)))
        entries = list(map(self._entries.get, keys))
        # `_entry`'s test inlined for the common case (an entry checked under this epoch, the same model objects):
        # a host whose 10,000 routes were all re-linked is one pass, not 20,000 calls
        for index, (route, entry) in enumerate(zip(routes, entries, strict=True)):
            if (entry is None or entry.epoch != epoch or entry.route is not route.route
                    or entry.matchers is not route.matchers or entry.options is not route.options
                    or entry.replaced != route.replaced_by_direct_response):
                self.reused -= 1  # counted below with the others
                entries[index] = self._entry(scope, route, ctx, epoch)
        self._used.update(keys)
        self.reused += len(keys)
        return self._host(routes, entries)

    def _host(self, routes: list[FlattenedRoute], entries: list[_Entry]) -> _Host:
        counts: Counts = {}
        add_counts(counts, chain.from_iterable(map(_SLOTS, entries)))
        common = common_policy(counts)
        under = [entry.under(common) for entry in entries]
        messages = list(chain.from_iterable(u[0] for u in under))
        notes = list(chain.from_iterable(map(_NOTES, entries)))
        clusters: list[Backend] = []
        first_use: dict[str, int] = {}
        for index in compress(count(), map(_CLUSTERS, entries)):
            for backend in entries[index].clusters:
                if backend.envoy_cluster not in first_use:
                    first_use[backend.envoy_cluster] = index
                    clusters.append(backend)
        return _Host(routes, entries, messages, list(accumulate(map(len, map(_MESSAGES, entries)), initial=0)),
                     notes, list(accumulate(map(len, map(_NOTES, entries)), initial=0)), clusters, first_use,
                     self._mesh_epoch, b"".join(framed := [u[1] for u in under]), framed, counts, common)

    def _fast(self, previous: _Host, routes: list[FlattenedRoute], ctx: RouteContext) -> _Host | None:
        """The host rebuilt around its changed routes, or None when it must be done route by route."""
        size = len(routes)
        if previous.epoch != self._mesh_epoch or len(previous.routes) != size:
            return None
        changed = list(compress(range(size), map(is_not, routes, previous.routes)))
        if changed:  # a re-read VirtualHost re-links every route below it: new objects, mostly made of the same parts
            entries, epoch = previous.entries, self._mesh_epoch
            changed = [i for i in changed if not _made_of(entries[i], routes[i], epoch)]
        if len(changed) > max(64, size // 4):
            return None  # most of it changed: the slicing would not pay
        first_use = previous.first_use
        fresh: list[_Entry] = []
        for index in changed:
            old = previous.entries[index]
            if any(first_use.get(b.envoy_cluster) == index for b in old.clusters):
                return None  # the route that named a cluster first changed: the cluster order may change
            entry = self._entry(old.key[0], routes[index], ctx, self._mesh_epoch)
            for backend in entry.clusters:
                first = first_use.get(backend.envoy_cluster)
                if first is None or first > index:
                    return None  # a new cluster, or one now named earlier
            fresh.append(entry)
        if not changed:
            self.reused += size
            previous.routes = routes  # the very same objects; keep the newest list
            return previous
        counts = dict(previous.counts)
        for index, entry in zip(changed, fresh, strict=True):
            add_counts(counts, previous.entries[index].slots, -1)
            add_counts(counts, entry.slots)
        common = previous.common
        if common_policy(counts) is not common:
            return None  # the host's retry policy changes: every route reads differently
        self.reused += size - len(changed)
        entries = list(previous.entries)
        for index, entry in zip(changed, fresh, strict=True):
            entries[index] = entry
        if all(entry.sizes == previous.entries[i].sizes for i, entry in zip(changed, fresh, strict=True)):
            messages, notes, framed = list(previous.messages), previous.notes, list(previous.framed)
            for index, entry in zip(changed, fresh, strict=True):
                start = previous.message_at[index]
                messages[start:start + len(entry.messages)], framed[index] = entry.under(common)
            if any(entry.notes for entry in fresh):
                notes = [n for e in entries for n in e.notes]
            return _Host(routes, entries, messages, previous.message_at, notes, previous.note_at,
                         previous.clusters, first_use, self._mesh_epoch, b"".join(framed), framed, counts, common)
        return self._host(routes, entries)

    def _spliced(self, previous: _Host, scope: str, routes: list[FlattenedRoute], ctx: RouteContext) -> _Host | None:
        """The host rebuilt around one changed stretch when routes were added or removed (a table dropped, added or
        moved by an edit), or None when it must be done route by route. The routes before the stretch and after
        it are the very objects of last time (a route's place is not part of it, routing/types.py Position), so
        their entries and messages are kept and only the stretch's routes are looked up."""
        if previous.epoch != self._mesh_epoch:
            return None
        old, size = previous.routes, len(routes)
        limit = min(size, len(old))
        start = next(compress(count(), map(is_not, routes, old)), limit)
        same_end = min(limit - start, next(compress(count(), map(is_not, reversed(routes), reversed(old))), limit))
        end, old_end = size - same_end, len(old) - same_end
        if end - start > max(64, size // 4):
            return None  # most of it changed: the slicing would not pay
        first_use = previous.first_use
        if any(start <= first < old_end for first in first_use.values()):
            return None  # a route that named a cluster first is gone: the cluster order may change
        fresh: list[_Entry] = []
        for index in range(start, end):
            entry = self._entry(scope, routes[index], ctx, self._mesh_epoch)
            if any(first_use.get(b.envoy_cluster, start) >= start for b in entry.clusters):
                return None  # a new cluster, or one now named before the route that named it first
            fresh.append(entry)
        counts = dict(previous.counts)
        for entry in previous.entries[start:old_end]:
            add_counts(counts, entry.slots, -1)
        for entry in fresh:
            add_counts(counts, entry.slots)
        common = previous.common
        if common_policy(counts) is not common:
            return None  # the host's retry policy changes: every route reads differently
        self.reused += size - len(fresh)
        under = [entry.under(common) for entry in fresh]
        entries = [*previous.entries[:start], *fresh, *previous.entries[old_end:]]
        message_from, message_to = previous.message_at[start], previous.message_at[old_end]
        messages = [*previous.messages[:message_from], *chain.from_iterable(u[0] for u in under),
                    *previous.messages[message_to:]]
        framed = [*previous.framed[:start], *(u[1] for u in under), *previous.framed[old_end:]]
        shift = end - old_end
        return _Host(routes, entries, messages, list(accumulate(map(len, map(_MESSAGES, entries)), initial=0)),
                     list(chain.from_iterable(map(_NOTES, entries))),
                     list(accumulate(map(len, map(_NOTES, entries)), initial=0)), previous.clusters,
                     {name: first if first < start else first + shift for name, first in first_use.items()},
                     self._mesh_epoch, b"".join(framed), framed, counts, common)

    # -- the mesh ----------------------------------------------------------------------------------------
    def _check_mesh(self, translator: Any, ctx: RouteContext) -> None:
        """On every change of translator: does every destination seen so far resolve as it did? If not, every
        host is done route by route (each route's own resolutions are checked) under a new epoch. (Destinations
        of routes long gone stay in the table: a few resolutions more per check, and never a wrong reuse.)"""
        checked = self._checked() if self._checked is not None else None
        if checked is translator:
            return
        with self._lock:
            same = True
            for key, (kind, destination, namespace, backend) in list(self._resolutions.items()):
                now = ctx.resolve(destination, namespace) if kind == "dest" \
                    else ctx.resolve_kube(destination, namespace)
                if not self._equal(now, backend):
                    same = False
                    self._resolutions[key] = (kind, destination, namespace, now)
            if not same:
                self._mesh_epoch += 1
            self._checked = weakref.ref(translator)

    def _equal(self, a: Backend, b: Backend) -> bool:
        if a is b:
            return True
        hit = self._same.get((id(a), id(b)))
        if hit is None or hit[0] is not a or hit[1] is not b:
            hit = self._same[(id(a), id(b))] = (a, b, a == b)
        return hit[2]

    def _holds(self, entry: _Entry, route: FlattenedRoute, ctx: RouteContext, epoch: int) -> bool:
        if entry.replaced != route.replaced_by_direct_response:
            return False
        if entry.route is not route.route or entry.matchers is not route.matchers or entry.options is not route.options:
            # A re-read file gives every route in it new model objects, mostly equal to the old ones: compared by
            # value (what the translation reads of them), an edit translates and encodes only the route it changed.
            if entry.route != route.route or entry.matchers != route.matchers or entry.options != route.options:
                return False
            entry.route, entry.matchers, entry.options = route.route, route.matchers, route.options  # identity next
        if entry.epoch == epoch:
            return True
        for kind, destination, namespace, backend in entry.resolved:
            now = ctx.resolve(destination, namespace) if kind == "dest" else ctx.resolve_kube(destination, namespace)
            if not self._equal(now, backend):
                return False
        entry.epoch = epoch
        return True

    def _translate(self, key: Key, route: FlattenedRoute, ctx: RouteContext) -> _Entry:
        resolved: list[tuple[str, Any, str, Backend]] = []
        clusters: list[Backend] = []

        def resolve(d: WeightedDestination, namespace: str) -> Backend:
            backend = ctx.resolve(d, namespace)
            resolved.append(("dest", d, namespace, backend))
            self._resolutions.setdefault(destination_key(d, namespace), ("dest", d, namespace, backend))
            return backend

        def resolve_kube(k: KubeServiceDestination, namespace: str) -> Backend:
            backend = ctx.resolve_kube(k, namespace)
            resolved.append(("kube", k, namespace, backend))
            self._resolutions.setdefault(destination_key(WeightedDestination(kube_service=k), namespace),
                                         ("kube", k, namespace, backend))
            return backend

        def add_cluster(backend: Backend) -> str:
            clusters.append(backend)
            return backend.envoy_cluster

        recording = RouteContext(resolve, add_cluster, resolve_kube, [])
        messages = envoy_routes(route, recording)
        return _Entry(key, route.route, route.matchers, route.options, route.replaced_by_direct_response, messages,
                      resolved, clusters, recording.notes)

    # -- forgetting --------------------------------------------------------------------------------------
    def sweep(self) -> None:
        """Forget the routes and hosts not asked for since the last real sweep. Amortized: a real sweep runs
        once the translations since the last one reach an eighth of what is kept (a one-route edit in a
        10,000-route host does not walk 10,000 entries), so at most that much is kept beyond what is used."""
        with self._lock:
            if self._since_sweep * 8 < len(self._entries) and self._since_sweep < 4096:
                return
            live = set(self._used)
            for scope in self._used_hosts:
                host = self._hosts.get(scope)
                if host is not None:
                    live.update(e.key for e in host.entries)
            for key in [k for k in self._entries if k not in live]:
                self._entries.pop(key).unpin()
            for scope in [s for s in self._hosts if s not in self._used_hosts]:
                codec.unpin_field(self._hosts.pop(scope).messages)
            self._used, self._used_hosts, self._same, self._since_sweep = set(), set(), {}, 0

