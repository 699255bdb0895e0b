"""Selectors and references resolve only inside the referring workspace's visibility: RouteTable → VirtualGateway
(G2), delegation (R2) and forwardTo destinations (R16); a broken rule names the missing export or import."""

from __future__ import annotations

import yaml

from meshctl.model.snapshot import Snapshot, snapshot_from_text
from meshctl.routing.evaluate import Request
from meshctl.routing.view import build_routing_view
from meshctl.sandbox import Sandbox

from .helpers import gateway, table

ADMIN = "admin.gloo.solo.io/v2"


def workspace(name: str, namespace: str, created: str) -> dict:
    return {"apiVersion": ADMIN, "kind": "Workspace",
            "metadata": {"name": name, "namespace": "gloo-mesh", "creationTimestamp": created},
            "spec": {"workloadClusters": [{"name": "cluster1", "namespaces": [{"name": namespace}]}]}}


def settings(ns: str, export_to: list | None = None, import_from: list | None = None) -> dict:
    spec: dict = {}
    if export_to is not None:
        spec["exportTo"] = export_to
    if import_from is not None:
        spec["importFrom"] = import_from
    return {"apiVersion": ADMIN, "kind": "WorkspaceSettings", "metadata": {"name": ns, "namespace": ns},
            "spec": spec}


def service(name: str, ns: str) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "annotations": {"meshctl.io/cluster": "cluster1"}},
            "spec": {"ports": [{"name": "http", "port": 80}]}}


def fwd_to(name: str, svc: str, ns: str) -> dict:
    return {"name": name, "matchers": [{"uri": {"prefix": "/"}}],
            "forwardTo": {"destinations": [{"ref": {"name": svc, "namespace": ns}, "port": {"number": 80}}]}}


def snapshot_of(docs: list[dict]) -> Snapshot:
    return snapshot_from_text(yaml.safe_dump_all(docs), "ws.yaml")


def gateway_binding_docs(export: bool, import_: bool) -> list[dict]:
    return [workspace("ops", "ops", "2026-01-01T09:00:00Z"), workspace("shop", "shop", "2026-01-01T09:01:00Z"),
            settings("shop", export_to=[{"workspaces": [{"name": "ops"}]}] if export else []),
            settings("ops", import_from=[{"workspaces": [{"name": "shop"}], "resources": [{"kind": "ROUTE_TABLE"}]}]
                     if import_ else []),
            gateway(), service("orders", "shop"),
            table("shop-root", "shop", hosts=["shop.example.com"], http=[fwd_to("all", "orders", "shop")])]


def findings(view, code: str) -> list:
    return [d for d in view.diagnostics if d.code == code]


def test_g2_route_table_binds_a_gateway_of_another_workspace_only_when_shared() -> None:
    view = build_routing_view(snapshot_of(gateway_binding_docs(True, True)))
    [gw] = view.gateways
    assert [v.name for v in gw.virtual_hosts] == ["shop.example.com"]
    assert not findings(view, "route-table-not-visible")


def test_g2_missing_export_or_import_is_named() -> None:
    for export, import_, missing in ((False, True, "workspace shop does not export it (ROUTE_TABLE) to workspace ops"),
                                     (True, False, "workspace ops does not import it (ROUTE_TABLE) from workspace shop")):
        view = build_routing_view(snapshot_of(gateway_binding_docs(export, import_)))
        [gw] = view.gateways
        assert gw.virtual_hosts == []
        [f] = findings(view, "route-table-not-visible")
        assert f.severity.value == "error" and f.resource == "RouteTable shop/shop-root"
        assert missing in f.message and "VirtualGateway ops/gw of workspace ops" in f.message
        assert f.path == "spec.virtualGateways[0]" and f.line


def delegation_docs(child_sees_parent: bool) -> list[dict]:
    ops_export = [{"workspaces": [{"name": "shop"}], "resources": [{"kind": "ROUTE_TABLE"}]}] if child_sees_parent \
        else []
    return [workspace("ops", "ops", "2026-01-01T09:00:00Z"), workspace("shop", "shop", "2026-01-01T09:01:00Z"),
            settings("shop", export_to=[{"workspaces": [{"name": "ops"}]}],
                     import_from=[{"workspaces": [{"name": "ops"}]}]),
            settings("ops", export_to=ops_export, import_from=[{"workspaces": [{"name": "shop"}]}]),
            gateway(), service("orders", "shop"), service("local", "ops"),
            table("root", "ops", hosts=["api.example.com"],
                  http=[{"name": "to-shop", "matchers": [{"uri": {"prefix": "/shop"}}],
                         "delegate": {"routeTables": [{"labels": {"team": "shop"}}]}},
                        fwd_to("rest", "local", "ops")]),
            table("child", "shop", labels={"team": "shop"}, http=[fwd_to("orders", "orders", "shop")]),
            table("hidden", "ops-private", labels={"team": "shop"}, http=[fwd_to("x", "orders", "shop")])]


def test_r2_delegation_across_workspaces_and_r16_destinations() -> None:
    snapshot = snapshot_of(delegation_docs(True))
    view = build_routing_view(snapshot)
    [gw] = view.gateways
    [vh] = gw.virtual_hosts
    assert [r.name for r in vh.routes] == ["orders", "rest"]
    assert not findings(view, "delegate-not-visible") and not findings(view, "destination-not-visible")
    sandbox = Sandbox(snapshot, view)
    assert sandbox.evaluate(Request(authority="api.example.com", path="/shop/x")).route.name == "orders"


def test_r2_strict_reverse_rule_names_the_missing_export() -> None:
    view = build_routing_view(snapshot_of(delegation_docs(False)))
    [f] = findings(view, "delegate-not-visible")
    assert f.resource == "RouteTable ops/root" and f.path == "spec.http[0].delegate.routeTables[0]"
    assert "workspace ops does not export it (ROUTE_TABLE) to workspace shop" in f.message
    [vh] = view.gateways[0].virtual_hosts
    assert [r.name for r in vh.routes] == ["rest"]


def test_r2_child_not_imported_is_not_selected() -> None:
    docs = delegation_docs(True)
    docs[3]["spec"]["importFrom"] = []  # ops no longer imports from shop
    view = build_routing_view(snapshot_of(docs))
    [f] = findings(view, "delegate-not-visible")
    assert "workspace ops does not import it (ROUTE_TABLE) from workspace shop" in f.message
    assert "RouteTable/shop/child" in f.message


def test_r16_destination_of_another_workspace_needs_export_and_import() -> None:
    docs = delegation_docs(True)
    docs[2]["spec"]["exportTo"] = [{"workspaces": [{"name": "ops"}], "resources": [{"kind": "ROUTE_TABLE"}]}]
    snapshot = snapshot_of(docs)
    view = build_routing_view(snapshot)
    [f] = findings(view, "destination-not-visible")
    assert f.resource == "RouteTable shop/child" and f.path == "spec.http[0].forwardTo.destinations[0]"
    assert "Service shop/orders" in f.message and "workspace shop does not export it (SERVICE) to workspace ops" \
        in f.message
    sandbox = Sandbox(snapshot, view)
    answer = sandbox.evaluate(Request(authority="api.example.com", path="/shop/x"))
    assert answer.route is not None and answer.route.replaced_by_direct_response is not None
    assert answer.route.replaced_by_direct_response[0] == 500


def test_tables_outside_every_workspace_are_not_read() -> None:
    view = build_routing_view(snapshot_of(delegation_docs(True)))
    # ops-private belongs to no workspace: the label selector never sees `hidden`
    assert all("hidden" not in r.id for g in view.gateways for v in g.virtual_hosts for r in v.all_routes)
