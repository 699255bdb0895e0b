"""A virtual host's most common retry policy set once on the host instead of on each of its routes.

Envoy applies a virtual host's `retry_policy` to every route that sets none of its own, and a route's own policy
replaces the host's whole (nothing is inherited). A retry policy with the previous-hosts predicate is the
costliest part of a forwarding route for Envoy to take in: at 10,000 routes, half of them with one such policy,
Envoy's push -> ACK dropped from about 47 ms to about 33 ms once the policy was on the host
(benchmarks/edit_pipeline.py; benchmarks/envoy_route_shapes.py measures Envoy's cost by route shape).
So a host whose forwarding routes mostly share one policy carries it once: those routes leave it out, and the
forwarding routes that had no policy get an explicit empty one (which Envoy treats as no policy: no retry unless
a request header asks, one retry by default then, as without any policy). Routes with another policy keep theirs.

Policies are told apart by identity: `translate_routes._retry_policy` builds equal policies as one shared object.
The choice depends only on the routes' multiset of policies (ties go to the smaller encoding), so the route memo,
which counts incrementally, chooses as a fresh translation does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from envoy_data_plane.envoy.config.route.v3 import RetryPolicy as EnvoyRetryPolicy
from envoy_data_plane.envoy.config.route.v3 import Route as EnvoyRoute

from . import codec
from .translate_proto import msg, shared, with_fields

NOT_FORWARDING = object()  # the slot of a route that does not forward (direct response, redirect)
Counts = dict[int, tuple[Any, int]]  # id(policy) -> (policy, routes carrying it); id(None) for forwarding routes without


@shared
def no_retries() -> EnvoyRetryPolicy:
    """A route's own empty policy: it sets none of the host's."""
    return msg(EnvoyRetryPolicy)


def retry_slots(routes: Iterable[EnvoyRoute]) -> tuple[Any, ...]:
    """Per route: its retry policy (None when it forwards without one), or NOT_FORWARDING."""
    return tuple(NOT_FORWARDING if r.route is None else r.route.retry_policy for r in routes)


def add_counts(counts: Counts, slots: Iterable[Any], sign: int = 1) -> None:
    for policy in slots:
        if policy is NOT_FORWARDING:
            continue
        key = id(policy)
        held = counts.get(key)
        n = (held[1] if held is not None else 0) + sign
        if n:
            counts[key] = (policy, n)
        else:
            del counts[key]


def common_policy(counts: Counts) -> EnvoyRetryPolicy | None:
    """The policy worth hoisting: carried by at least two routes and by at least as many as the forwarding routes
    without one (each of which then needs an explicit empty policy)."""
    without = counts.get(id(None), (None, 0))[1]
    candidates = [(-n, codec.encode(policy), policy) for policy, n in counts.values()
                  if policy is not None and n >= 2 and n >= without]
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c[0], c[1]))[2]  # ties: the smaller encoding, for a fixed choice


def hoisted(route: EnvoyRoute, common: EnvoyRetryPolicy) -> EnvoyRoute:
    """`route` as it reads under a host whose retry policy is `common` (the same object when nothing changes)."""
    action = route.route
    if action is None:
        return route
    if action.retry_policy is common:
        return with_fields(route, route=with_fields(action, retry_policy=None))
    if action.retry_policy is None:
        return with_fields(route, route=with_fields(action, retry_policy=no_retries()))
    return route


def hoist_host(routes: Sequence[EnvoyRoute]) -> tuple[list[EnvoyRoute], EnvoyRetryPolicy | None]:
    """A host's routes with the common retry policy lifted out, and that policy (None: nothing lifted)."""
    counts: Counts = {}
    add_counts(counts, retry_slots(routes))
    common = common_policy(counts)
    if common is None:
        return list(routes), None
    return [hoisted(r, common) for r in routes], common
