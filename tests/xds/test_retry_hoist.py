"""Which retry policy a virtual host carries for its routes (meshctl/xds/retry_hoist.py)."""

from __future__ import annotations

from typing import Any

from envoy_data_plane.envoy.config.route.v3 import DirectResponseAction
from envoy_data_plane.envoy.config.route.v3 import Route as EnvoyRoute
from envoy_data_plane.envoy.config.route.v3 import RouteAction as EnvoyRouteAction

from meshctl.xds import codec
from meshctl.xds.retry_hoist import hoist_host, no_retries
from meshctl.xds.translate_proto import msg
from meshctl.xds.translate_routes import _retry_policy

TWO = _retry_policy(2, None, "5xx", True)
THREE = _retry_policy(3, None, "5xx", True)


def forwarding(name: str, policy: Any = None) -> EnvoyRoute:
    return msg(EnvoyRoute, name=name, route=msg(EnvoyRouteAction, cluster="c", retry_policy=policy))


def direct(name: str) -> EnvoyRoute:
    return msg(EnvoyRoute, name=name, direct_response=msg(DirectResponseAction, status=200))


def policies(routes: list[EnvoyRoute]) -> list[Any]:
    return [r.route.retry_policy if r.route is not None else "direct" for r in routes]


def test_a_policy_most_forwarding_routes_share_moves_to_the_host() -> None:
    routes, common = hoist_host([forwarding("a", TWO), direct("d"), forwarding("b", TWO), forwarding("c"),
                                 forwarding("o", THREE)])
    assert common is TWO
    assert policies(routes) == [None, "direct", None, no_retries(), THREE]
    assert [r.name for r in routes] == ["a", "d", "b", "c", "o"]


def test_nothing_moves_for_one_route_or_when_routes_without_a_policy_outnumber_it() -> None:
    alone = [forwarding("a", TWO), forwarding("b"), direct("d")]
    assert hoist_host(alone) == (alone, None)
    outnumbered = [forwarding("a", TWO), forwarding("b", TWO), forwarding("c"), forwarding("d"), forwarding("e")]
    assert hoist_host(outnumbered)[1] is None
    assert hoist_host([direct("x"), direct("y")])[1] is None


def test_a_tie_goes_to_the_smaller_encoding_whatever_the_order() -> None:
    smaller, larger = sorted([TWO, THREE], key=codec.encode)
    for order in ([TWO, TWO, THREE, THREE], [THREE, THREE, TWO, TWO], [TWO, THREE, THREE, TWO]):
        _, common = hoist_host([forwarding(str(i), p) for i, p in enumerate(order)])
        assert common is smaller and common is not larger


def test_the_routes_given_are_not_changed() -> None:
    original = forwarding("a", TWO)
    routes, _ = hoist_host([original, forwarding("b", TWO)])
    assert original.route.retry_policy is TWO and routes[0] is not original
