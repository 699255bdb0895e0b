"""Why a request did or did not take each route: first failed condition, and how far it got (closest misses)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Sequence

from ..routing.evaluate import Request, first_failure, path_failure
from ..routing.matchers import EffectiveMatcher
from ..routing.types import FlattenedRoute

# Progress stages: how far a request got through a matcher before the first condition failed.
STAGE_PATH, STAGE_METHOD, STAGE_CONDITIONS, STAGE_MATCHED = 0, 1, 2, 3


@dataclass(frozen=True)
class TraceEntry:
    position: int
    route: FlattenedRoute
    matched: bool
    reason: str  # first failed condition (per matcher), or what matched
    progress: tuple[int, int]  # (stage, detail): higher is closer to a match
    matcher_index: int | None = None

    @property
    def label(self) -> str:
        return route_label(self.route)

    def to_dict(self) -> dict[str, object]:
        return {"index": self.position, "route": self.label, "owner": self.route.owner_ref, "matched": self.matched,
                "reason": self.reason}


def route_label(route: FlattenedRoute) -> str:
    """The route's name, or "#N" (its index in the owning resource) when it has none."""
    return route.name or f"#{route.chain[-1].route_index}"


def matcher_progress(m: EffectiveMatcher, req: Request) -> tuple[int, int]:
    """How far `req` gets through `m`, using only the one matcher (first_failure) on growing parts of it."""
    if path_failure(m, req) is not None:
        target = req.path.lower() if m.ignore_case else req.path
        pattern = m.path.lower() if m.ignore_case else m.path
        shared = len(os.path.commonprefix([target, pattern])) if m.path_kind in ("prefix", "exact") else 0
        return (STAGE_PATH, shared)
    if m.method and first_failure(replace(m, headers=(), query=()), req) is not None:
        return (STAGE_METHOD, 0)
    # headers first, then query parameters: the first k conditions of that order
    conditions = len(m.headers) + len(m.query)
    for k in range(1, conditions + 1):
        partial = replace(m, headers=m.headers[:k], query=m.query[:max(0, k - len(m.headers))])
        if first_failure(partial, req) is not None:
            return (STAGE_CONDITIONS, k - 1)
    return (STAGE_MATCHED, conditions)


def explain_route(position: int, route: FlattenedRoute, req: Request) -> TraceEntry:
    reasons: list[str] = []
    best = (-1, 0)
    for i, m in enumerate(route.matchers):
        why = first_failure(m, req)
        if why is None:
            return TraceEntry(position, route, True, f"matched {m.describe()}", (STAGE_MATCHED, 0), i)
        reasons.append(why)
        best = max(best, matcher_progress(m, req))
    if not reasons:
        return TraceEntry(position, route, False, "route has no usable matcher", (STAGE_PATH, 0))
    reason = reasons[0] if len(reasons) == 1 else " | ".join(dict.fromkeys(reasons))
    return TraceEntry(position, route, False, reason, best)


def trace(routes: Sequence[FlattenedRoute], req: Request, until: int | None) -> list[TraceEntry]:
    """Every route up to and including position `until` (all routes when None), with its verdict."""
    stop = len(routes) if until is None else until + 1
    return [explain_route(pos, routes[pos], req) for pos in range(stop)]


def closest_misses(entries: Sequence[TraceEntry], limit: int = 3) -> list[TraceEntry]:
    """Failed routes that got furthest (path matched but a header failed beats a path mismatch)."""
    failed = [e for e in entries if not e.matched]
    failed.sort(key=lambda e: (-e.progress[0], -e.progress[1], e.position))
    return failed[:limit]


def describe_progress(entry: TraceEntry) -> str:
    stage, detail = entry.progress
    if stage == STAGE_PATH:
        return f"path differs (shares {detail} leading characters)" if detail else "path differs"
    if stage == STAGE_METHOD:
        return "path matched, method differs"
    return f"path{' and method' if any(m.method for m in entry.route.matchers) else ''} matched, " \
           f"{detail} further condition(s) held before one failed"
