"""VirtualGateway → VirtualHosts: virtualHostSelector (namespaces, labels, every expression operator) and inline hosts."""

from __future__ import annotations

from typing import Any

import pytest

from .helpers import build, codes, findings, gateway, leaf, matcher, vhost

ROUTE = leaf("r", matcher(prefix="/"))


def hosts(view: Any, gw: str = "ns/gw") -> list[str]:
    g = view.gateway(gw)
    assert g is not None
    return [v.name for v in g.virtual_hosts]


def test_empty_selector_takes_the_gateways_own_namespace() -> None:
    view = build(gateway(), vhost([ROUTE], name="mine"), vhost([ROUTE], name="theirs", ns="other"))
    assert hosts(view) == ["ns/mine"]
    (f,) = findings(view, "unselected-virtual-host")
    assert f.resource == "VirtualHost other/theirs"


@pytest.mark.parametrize(("namespaces", "expected"), [
    (["other"], ["other/b"]),
    (["ns", "other"], ["ns/a", "other/b"]),
    (["*"], ["ns/a", "other/b", "third/c"]),
    (["nowhere"], []),
])
def test_selector_namespaces(namespaces: list[str], expected: list[str]) -> None:
    view = build(gateway(route_config=[{"virtualHostSelector": {"namespaces": namespaces}}]),
                 vhost([ROUTE], name="a", domains=["a.com"]), vhost([ROUTE], name="b", ns="other", domains=["b.com"]),
                 vhost([ROUTE], name="c", ns="third", domains=["c.com"]))
    assert hosts(view) == expected


def test_selector_labels_are_equality_matches_all_required() -> None:
    view = build(gateway(route_config=[{"virtualHostSelector": {"labels": {"app": "shop", "tier": "web"}}}]),
                 vhost([ROUTE], name="both", labels={"app": "shop", "tier": "web", "extra": "x"}, domains=["1"]),
                 vhost([ROUTE], name="one", labels={"app": "shop"}, domains=["2"]),
                 vhost([ROUTE], name="wrong", labels={"app": "shop", "tier": "db"}, domains=["3"]))
    assert hosts(view) == ["ns/both"]


# (operator, values, labels of the VirtualHost, selected?)
EXPRESSIONS = [
    ("Equals", ["a"], {"k": "a"}, True),
    ("Equals", ["a"], {"k": "b"}, False),
    ("Equals", ["a"], {}, False),
    ("DoubleEquals", ["a"], {"k": "a"}, True),
    ("DoubleEquals", ["a"], {"k": "b"}, False),
    ("NotEquals", ["a"], {"k": "b"}, True),
    ("NotEquals", ["a"], {"k": "a"}, False),
    ("NotEquals", ["a"], {}, True),  # Kubernetes: != also holds when the key is absent
    ("In", ["a", "b"], {"k": "b"}, True),
    ("In", ["a", "b"], {"k": "c"}, False),
    ("In", ["a", "b"], {}, False),
    ("NotIn", ["a", "b"], {"k": "c"}, True),
    ("NotIn", ["a", "b"], {"k": "a"}, False),
    ("NotIn", ["a", "b"], {}, True),
    ("Exists", [], {"k": ""}, True),
    ("Exists", [], {"j": "x"}, False),
    ("DoesNotExist", [], {"j": "x"}, True),
    ("DoesNotExist", [], {"k": "x"}, False),
    ("GreaterThan", ["5"], {"k": "7"}, True),
    ("GreaterThan", ["5"], {"k": "5"}, False),
    ("GreaterThan", ["5"], {"k": "x"}, False),  # not an integer: never matches
    ("GreaterThan", ["5"], {}, False),
    ("LessThan", ["5"], {"k": "3"}, True),
    ("LessThan", ["5"], {"k": "10"}, False),  # compared as integers, not as text
    ("LessThan", ["5"], {}, False),
]


@pytest.mark.parametrize(("operator", "values", "labels", "selected"), EXPRESSIONS)
def test_selector_expression_operators(operator: str, values: list[str], labels: dict[str, str],
                                       selected: bool) -> None:
    expr = {"key": "k", "operator": operator, **({"values": values} if values else {})}
    view = build(gateway(route_config=[{"virtualHostSelector": {"expressions": [expr]}}]),
                 vhost([ROUTE], labels=labels))
    assert hosts(view) == (["ns/vh"] if selected else [])
    assert ("unselected-virtual-host" in codes(view)) is not selected


def test_labels_and_expressions_are_anded() -> None:
    selector = {"labels": {"app": "shop"}, "expressions": [{"key": "tier", "operator": "In", "values": ["web"]}]}
    view = build(gateway(route_config=[{"virtualHostSelector": selector}]),
                 vhost([ROUTE], name="yes", labels={"app": "shop", "tier": "web"}, domains=["1"]),
                 vhost([ROUTE], name="label-only", labels={"app": "shop"}, domains=["2"]),
                 vhost([ROUTE], name="expr-only", labels={"tier": "web"}, domains=["3"]))
    assert hosts(view) == ["ns/yes"]


def test_inline_virtual_host_and_selector_keep_route_config_order() -> None:
    inline = {"domains": ["inline.com"], "routes": [leaf("inline-route", matcher(prefix="/"))]}
    view = build(gateway(route_config=[{"virtualHost": inline}, {"virtualHostSelector": {}}]),
                 vhost([ROUTE], name="b", domains=["b.com"]), vhost([ROUTE], name="a", domains=["a.com"]))
    assert hosts(view) == ["ns/gw/inline-0", "ns/a", "ns/b"]  # selected hosts by namespace then name
    g = view.gateway("ns/gw")
    assert g is not None
    inline_view = g.virtual_hosts[0]
    assert [r.name for r in inline_view.routes] == ["inline-route"]
    assert inline_view.routes[0].chain[0].resource.kind == "VirtualGateway"
    assert inline_view.routes[0].chain[0].route_path[:6] == ("spec", "connectionHandlers", 0, "http", "routeConfig", 0)


def test_virtual_host_selected_twice_is_served_once() -> None:
    view = build(gateway(route_config=[{"virtualHostSelector": {}}, {"virtualHostSelector": {"namespaces": ["ns"]}}]),
                 vhost([ROUTE]))
    assert hosts(view) == ["ns/vh"]
    assert "duplicate-domain" not in codes(view)


def test_two_gateways_may_share_a_virtual_host() -> None:
    view = build(gateway("gw1"), gateway("gw2"), vhost([ROUTE]))
    assert hosts(view, "ns/gw1") == hosts(view, "ns/gw2") == ["ns/vh"]
    assert "unselected-virtual-host" not in codes(view)
