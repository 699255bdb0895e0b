"""Builders for small routing configurations written inside tests, and shortcuts to read the engine's answer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from meshctl.model.findings import Finding
from meshctl.model.snapshot import Snapshot, snapshot_from_text
from meshctl.routing.evaluate import Request
from meshctl.routing.types import FlattenedRoute, RoutingView, VirtualHostView
from meshctl.routing.view import build_routing_view

GLOO = "networking.enterprise.mesh.gloo.solo.io/v1beta1"
NS = "ns"


def gateway(name: str = "gw", ns: str = NS, route_config: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A VirtualGateway; by default one `virtualHostSelector: {}` (its own namespace)."""
    config = route_config if route_config is not None else [{"virtualHostSelector": {}}]
    return {"apiVersion": GLOO, "kind": "VirtualGateway", "metadata": {"name": name, "namespace": ns},
            "spec": {"connectionHandlers": [{"http": {"routeConfig": config}}]}}


def vhost(routes: list[dict[str, Any]], name: str = "vh", ns: str = NS, domains: list[str] | None = None,
          labels: dict[str, str] | None = None, options: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"domains": domains or [f"{name}.example.com"], "routes": routes}
    if options is not None:
        spec["options"] = options
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": GLOO, "kind": "VirtualHost", "metadata": meta, "spec": spec}


def table(name: str, routes: list[dict[str, Any]], ns: str = NS, weight: int | None = None,
          labels: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"routes": routes}
    if weight is not None:
        spec["weight"] = weight
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": GLOO, "kind": "RouteTable", "metadata": meta, "spec": spec}


def matcher(prefix: str | None = None, exact: str | None = None, regex: str | None = None,
            suffix: str | None = None, method: str | None = None, headers: list[dict[str, Any]] | None = None,
            query: list[dict[str, Any]] | None = None, ignore_case: bool | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {}
    uri = {k: v for k, v in (("prefix", prefix), ("exact", exact), ("regex", regex), ("suffix", suffix))
           if v is not None}
    if ignore_case is not None:
        uri["ignoreCase"] = ignore_case
    if uri:
        m["uri"] = uri
    if method:
        m["method"] = method
    if headers:
        m["headers"] = headers
    if query:
        m["queryParameters"] = query
    return m


def leaf(name: str, *matchers: dict[str, Any], status: int = 200, options: dict[str, Any] | None = None,
         labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A direct-response route (its body is its name, so a test can tell which route answered)."""
    r: dict[str, Any] = {"name": name, "directResponseAction": {"status": status, "body": name}}
    if matchers:
        r["matchers"] = list(matchers)
    if options is not None:
        r["options"] = options
    if labels:
        r["labels"] = labels
    return r


def delegate(name: str, *matchers: dict[str, Any], refs: list[str] | None = None,
             selector: dict[str, Any] | None = None, sort: str | None = None,
             options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A delegating route; refs are "name" (same namespace) or "ns/name"."""
    action: dict[str, Any] = {}
    if refs is not None:
        action["refs"] = [({"name": r.split("/")[1], "namespace": r.split("/")[0]} if "/" in r else {"name": r})
                          for r in refs]
    if selector is not None:
        action["selector"] = selector
    if sort is not None:
        action["sortMethod"] = sort
    r: dict[str, Any] = {"name": name, "delegateAction": action}
    if matchers:
        r["matchers"] = list(matchers)
    if options is not None:
        r["options"] = options
    return r


def to_yaml(docs: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False)


def load(*docs: dict[str, Any]) -> Snapshot:
    return snapshot_from_text(to_yaml(list(docs)), "test.yaml")


def build(*docs: dict[str, Any]) -> RoutingView:
    return build_routing_view(load(*docs))


def vh_view(view: RoutingView, vh: str = f"{NS}/vh", gw: str = f"{NS}/gw") -> VirtualHostView:
    g = view.gateway(gw)
    assert g is not None, f"no gateway {gw}: {[x.name for x in view.gateways]}"
    for v in g.virtual_hosts:
        if v.name == vh:
            return v
    raise AssertionError(f"gateway {gw} has no virtual host {vh}: {[v.name for v in g.virtual_hosts]}")


def served(view: RoutingView, vh: str = f"{NS}/vh", gw: str = f"{NS}/gw") -> list[str]:
    """Names of the routes Envoy would get for one virtual host, in order."""
    return [r.name for r in vh_view(view, vh, gw).routes]


def paths(routes: list[FlattenedRoute]) -> list[list[str]]:
    return [[f"{m.path_kind} {m.path}" for m in r.matchers] for r in routes]


def findings(view: RoutingView, code: str) -> list[Finding]:
    return [f for f in view.diagnostics if f.code == code]


def codes(view: RoutingView) -> set[str]:
    return {f.code for f in view.diagnostics}


_HEADER = re.compile(r" -H '([^:]+): ([^']*)'")


def parse_witness(text: str, authority: str = "") -> Request:
    """The request a finding's witness string describes ("GET /path?q=1 -H 'name: value'")."""
    head, _, rest = text.partition(" -H ")
    method, _, path = head.partition(" ")
    headers = dict(_HEADER.findall(" -H " + rest)) if rest else {}
    return Request(method=method, authority=authority, path=path, headers=headers)


def first_taker(routes: list[FlattenedRoute], req: Request) -> int | None:
    """Index of the first route with a matcher taking `req` (Envoy's first match), by the shared evaluator."""
    from meshctl.routing.evaluate import first_failure

    for i, r in enumerate(routes):
        if any(first_failure(m, req) is None for m in r.matchers):
            return i
    return None


def assert_finding_proven(view: RoutingView, finding: Finding) -> None:
    """A shadowing finding's witness is wanted by the later route and first taken by the earlier one it names."""
    from meshctl.routing.evaluate import first_failure

    later_id, earlier_id = finding.routes
    for g in view.gateways:
        for v in g.virtual_hosts:
            ids = [r.id for r in v.routes]
            if later_id not in ids or earlier_id not in ids:
                continue
            later, earlier = ids.index(later_id), ids.index(earlier_id)
            assert earlier < later, finding
            req = parse_witness(finding.witness or "", next(iter(v.domains), ""))
            assert any(first_failure(m, req) is None for m in v.routes[later].matchers), (finding, req)
            assert any(first_failure(m, req) is None for m in v.routes[earlier].matchers), (finding, req)
            assert first_taker(v.routes, req) == earlier, (finding, req)
            return
    raise AssertionError(f"routes of {finding} not found in one virtual host")


def write_changed(directory: Path, files: dict[str, str], stale: str = "*.yaml") -> None:
    """Write the files whose text changed and remove those matching `stale` that are gone: a file source re-reads
    only what changed, so every other resource stays the same object (what incremental rebuilds key on)."""
    for old in directory.glob(stale):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        path = directory / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
