"""What an edit changes: the route-tree diff of two routing views and the requests whose outcome moves.

UI-free (the TUI editor preview, plugins and scripts share it). The virtual host comes from `hosts` and the
route from the one matcher (`evaluate.first_failure`), exactly as the sandbox decides them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

from .actions import describe_action
from .evaluate import Request, first_failure
from .hosts import select_virtual_host
from .types import FlattenedRoute, GatewayView, RoutingView

ChangeKind = Literal["added", "removed", "moved", "changed"]


# --- which route takes a request ---------------------------------------------------------------

def route_failure(route: FlattenedRoute, req: Request) -> str | None:
    """None when `route` takes `req`; otherwise the first failing condition (of the first matcher)."""
    first: str | None = None
    for m in route.matchers:
        why = first_failure(m, req)
        if why is None:
            return None
        first = first or why
    return first or "no matcher"


@dataclass
class TraceStep:
    route: FlattenedRoute
    failure: str | None  # None for the route that took the request
    index: int  # the route's place in the virtual host's Envoy route list


@dataclass
class Outcome:
    """Where one request goes on one gateway."""

    gateway: str
    virtual_host: str | None
    route: FlattenedRoute | None
    trace: list[TraceStep]  # every route tried, in Envoy order, up to and including the taker
    reason: str = ""  # why nothing matched

    @property
    def index(self) -> int | None:
        """The taking route's place in the virtual host's Envoy route list."""
        return self.trace[-1].index if self.route is not None and self.trace else None

    @property
    def route_id(self) -> str | None:
        return self.route.id if self.route is not None else None

    def describe(self) -> str:
        if self.virtual_host is None:
            return f"no virtual host on {self.gateway} ({self.reason})"
        if self.route is None:
            return f"{self.virtual_host}: no route (404)"
        label = self.route.name or self.route.id
        return f"{self.virtual_host}: [{self.index}] {label} {describe_action(self.route)}"


def outcome(gateway: GatewayView, req: Request) -> Outcome:
    hit = select_virtual_host(gateway.virtual_hosts, req.authority)
    vh = hit.virtual_host if hit is not None else None
    if vh is None:
        return Outcome(gateway.name, None, None, [], f"no domain takes {req.authority or '(empty authority)'}")
    trace: list[TraceStep] = []
    for index, route in enumerate(vh.routes):
        why = route_failure(route, req)
        trace.append(TraceStep(route, why, index))
        if why is None:
            return Outcome(gateway.name, vh.name, route, trace)
    return Outcome(gateway.name, vh.name, None, trace, "no route matched")


# --- tree diff -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RouteChange:
    kind: ChangeKind
    gateway: str
    virtual_host: str
    route_id: str
    name: str
    old_index: int | None
    new_index: int | None
    detail: str

    def describe(self) -> str:
        where = {"added": f"at [{self.new_index}]", "removed": f"was [{self.old_index}]",
                 "moved": f"[{self.old_index}] → [{self.new_index}]", "changed": f"at [{self.new_index}]"}[self.kind]
        text = f"{self.kind:<8} {self.gateway} {self.virtual_host} {self.name or self.route_id} {where}"
        return text + (f": {self.detail}" if self.detail else "")


def route_signature(r: FlattenedRoute) -> tuple[object, ...]:
    """What makes two versions of a route behave the same: match, action, options, validity."""
    return (r.describe_match(), describe_action(r), repr(r.options.to_dict()), r.valid, tuple(r.problems))


def _indexed(view: RoutingView) -> dict[tuple[str, str, str], tuple[FlattenedRoute, int]]:
    """Every served route by (gateway, virtual host, id), with its place in the host's Envoy route list."""
    return {(g.name, v.name, r.id): (r, i) for g in view.gateways for v in g.virtual_hosts
            for i, r in enumerate(v.routes)}


def diff_views(old: RoutingView, new: RoutingView) -> list[RouteChange]:
    """Routes added, removed, moved (Envoy position changed) or changed (match/action/options), in a stable order."""
    before, after = _indexed(old), _indexed(new)
    changes: list[RouteChange] = []
    for key, (r, index) in after.items():
        g, v, rid = key
        if key not in before:
            changes.append(RouteChange("added", g, v, rid, r.name, None, index,
                                       f"{r.describe_match()} {describe_action(r)}"))
            continue
        prev, old_index = before[key]
        old_sig, new_sig = route_signature(prev), route_signature(r)
        if old_sig != new_sig:
            what = [label for label, a, b in zip(("match", "action", "options", "validity", "problems"),
                                                  old_sig, new_sig, strict=True) if a != b]
            detail = ", ".join(what)
            if "match" in what:
                detail += f": {prev.describe_match()} → {r.describe_match()}"
            elif "action" in what:
                detail += f": {describe_action(prev)} → {describe_action(r)}"
            changes.append(RouteChange("changed", g, v, rid, r.name, old_index, index, detail))
        elif old_index != index:
            changes.append(RouteChange("moved", g, v, rid, r.name, old_index, index,
                                       r.position.reason))
    for key, (r, old_index) in before.items():
        if key not in after:
            g, v, rid = key
            changes.append(RouteChange("removed", g, v, rid, r.name, old_index, None, r.describe_match()))
    order = {"removed": 0, "added": 1, "changed": 2, "moved": 3}
    changes.sort(key=lambda c: (c.gateway, c.virtual_host, c.new_index if c.new_index is not None
                                else c.old_index or 0, order[c.kind]))
    return changes


# --- requests whose outcome changes ---------------------------------------------------------------

@dataclass(frozen=True)
class OutcomeChange:
    request: Request
    gateway: str
    old: str  # Outcome.describe() before
    new: str  # ... and after
    old_route: str | None
    new_route: str | None


def sample_requests(view: RoutingView, limit: int = 500) -> list[Request]:
    """One request per route (a witness its own matcher takes), at most `limit`: the edit preview's probes."""
    from .shadow import witness_for  # heavy-ish; only needed here

    out: list[Request] = []
    for g in view.gateways:
        for v in g.virtual_hosts:
            authority = next((d for d in v.domains if "*" not in d), "example.com")
            for r in v.routes:
                for m in r.matchers[:1]:
                    req = witness_for(m, authority)
                    if req is not None:
                        out.append(req)
                if len(out) >= limit:
                    return out
    return out


def changed_outcomes(old: RoutingView, new: RoutingView, requests: Iterable[Request]) -> list[OutcomeChange]:
    """For each request and each gateway of either view: the ones where the taking route differs."""
    out: list[OutcomeChange] = []
    seen: set[tuple[str, str, str, tuple[tuple[str, str], ...]]] = set()
    names = list(dict.fromkeys([g.name for g in old.gateways] + [g.name for g in new.gateways]))
    for req in requests:
        key = (req.method, req.authority, req.path, tuple(sorted(req.headers.items())))
        if key in seen:
            continue
        seen.add(key)
        for name in names:
            g_old, g_new = old.gateway(name), new.gateway(name)
            a = outcome(g_old, req) if g_old else None
            b = outcome(g_new, req) if g_new else None
            a_id = a.route_id if a else None
            b_id = b.route_id if b else None
            a_sig = route_signature(a.route) if a and a.route else None
            b_sig = route_signature(b.route) if b and b.route else None
            if a_id == b_id and a_sig == b_sig:
                continue
            out.append(OutcomeChange(req, name, a.describe() if a else f"gateway {name} absent",
                                     b.describe() if b else f"gateway {name} absent", a_id, b_id))
    return out
