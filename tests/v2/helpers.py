"""Small builders of Gloo v2 YAML for the v2 tests."""

from __future__ import annotations

import yaml

from meshctl.model.snapshot import Snapshot, snapshot_from_text
from meshctl.routing.flatten import build_routing_view
from meshctl.routing.types import RoutingView

V2 = "networking.gloo.solo.io/v2"


def gateway(name: str = "gw", ns: str = "ops", listeners: list | None = None) -> dict:
    if listeners is None:
        listeners = [{"http": {}, "port": {"number": 8080}}]
    return {"apiVersion": V2, "kind": "VirtualGateway", "metadata": {"name": name, "namespace": ns},
            "spec": {"workloads": [{"selector": {"labels": {"istio": "ingressgateway"}}}], "listeners": listeners}}


def table(name: str, ns: str = "ops", hosts: list | None = None, http: list | None = None, labels: dict | None = None,
          weight: int | None = None, created: str | None = None, gateways: list | None = None, **spec) -> dict:
    meta: dict = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = labels
    if created:
        meta["creationTimestamp"] = created
    body: dict = {}
    if hosts:
        body["hosts"] = hosts
        body["virtualGateways"] = gateways if gateways is not None else [{"name": "gw", "namespace": "ops"}]
    if weight is not None:
        body["weight"] = weight
    body["http"] = http or []
    body.update(spec)
    return {"apiVersion": V2, "kind": "RouteTable", "metadata": meta, "spec": body}


def fwd(name: str, matcher: dict | None = None, svc: str = "svc", **extra) -> dict:
    route: dict = {"name": name, "forwardTo": {"destinations": [{"ref": {"name": svc}, "port": {"number": 80}}]}}
    if matcher is not None:
        route["matchers"] = [matcher]
    route.update(extra)
    return route


def delegate(name: str, selectors: list, prefix: str = "/", sort: str | None = None, **matcher) -> dict:
    d: dict = {"routeTables": selectors}
    if sort:
        d["sortMethod"] = sort
    return {"name": name, "matchers": [{"uri": {"prefix": prefix}, **matcher}], "delegate": d}


def snap(*docs: dict) -> Snapshot:
    return snapshot_from_text(yaml.safe_dump_all(docs, sort_keys=False), "v2.yaml")


def view(*docs: dict) -> RoutingView:
    return build_routing_view(snap(*docs))


def names(v: RoutingView, gw: str | None = None, host: str | None = None) -> list[str]:
    g = v.gateway(gw) if gw else v.gateways[0]
    assert g is not None
    vh = next(h for h in g.virtual_hosts if host is None or h.name == host)
    return [r.name for r in vh.routes]


def codes(v: RoutingView) -> list[str]:
    return sorted(f.code for f in v.diagnostics)
