"""The Gloo v2 reference's worked example (a), as shipped in docs/examples, with its expected outcomes."""

from __future__ import annotations

from pathlib import Path

from meshctl.model.snapshot import load_snapshot
from meshctl.model.validate import validate
from meshctl.routing.actions import action_dict
from meshctl.routing.flatten import build_routing_view
from meshctl.sandbox.engine import Sandbox
from meshctl.sandbox.request import parse_request

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "gloo-v2-reference-a"


def _view():
    return build_routing_view(load_snapshot([EXAMPLE]))


def test_example_a_validates_without_findings() -> None:
    assert [f.code for f in validate(load_snapshot([EXAMPLE]))] == []


def test_example_a_binding_and_route_specificity_order() -> None:
    view = _view()
    [gw] = view.gateways
    assert gw.name == "gw-config/ingress" and gw.default_port == 80
    [vh] = gw.virtual_hosts
    assert vh.domains == ["api.example.com"]
    assert [r.name for r in vh.routes] == ["health", "duplicate-all-1", "legacy", "list", "all"]
    assert [r.owner_ref for r in vh.routes] == ["RouteTable/shop/orders", "RouteTable/shop/users",
                                                "RouteTable/shop/orders", "RouteTable/shop/orders",
                                                "RouteTable/shop/users"]
    assert all(r.chain[0].ref == "RouteTable/gw-config/api-root#api" for r in vh.routes)


def test_example_a_effective_labels() -> None:
    vh = _view().gateways[0].virtual_hosts[0]
    labels = {r.name: r.labels for r in vh.routes}
    assert labels["list"] == {"expose": "true", "retry": "std", "tier": "edge"}
    assert labels["all"] == {"expose": "true", "retry": "std", "tier": "edge"}
    assert labels["duplicate-all-1"] == {"expose": "true", "retry": "none", "tier": "edge"}


def test_example_a_users_me_is_rewritten_to_v2_me() -> None:
    sandbox = Sandbox(load_snapshot([EXAMPLE]))
    result = sandbox.evaluate(parse_request(["GET", "http://api.example.com/users/me"]))
    assert result.route is not None and result.route.name == "duplicate-all-1"
    assert result.upstream_path == "/v2/me"
    legacy = sandbox.evaluate(parse_request(["GET", "http://api.example.com/orders/v2/x"]))
    assert action_dict(legacy.route) == {"type": "redirect", "status": 302, "pathRedirect": "/orders"}


def test_example_a_under_table_weight_shadows_the_exact_routes() -> None:
    text = (EXAMPLE / "config.yaml").read_text().replace("sortMethod: ROUTE_SPECIFICITY", "sortMethod: TABLE_WEIGHT")
    from meshctl.model.snapshot import snapshot_from_text

    view = build_routing_view(snapshot_from_text(text, "a.yaml"))
    vh = view.gateways[0].virtual_hosts[0]
    assert [r.name for r in vh.routes] == ["all", "duplicate-all-1", "list", "health", "legacy"]
    shadowed = {f.routes[0].split("#")[-1] for f in view.diagnostics if f.code == "shadowed-route"}
    assert shadowed == {"duplicate-all-1", "health"}
    assert all(f.witness for f in view.diagnostics if f.code == "shadowed-route")
