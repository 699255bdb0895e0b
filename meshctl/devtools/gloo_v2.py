"""Rewrite Gloo Mesh v1beta1 gateway routing (VirtualGateway, VirtualHost, RouteTable) as Gloo v2 documents.

Used to produce docs/examples/004-advanced-routing-v2 from the v1beta1 guide and to run the random differential
test in v2 form. A VirtualHost becomes a root RouteTable (hosts = domains) bound to the gateway; RouteTables become
delegated children; refs become name selectors and skv2 selectors become label selectors per namespace. Other
documents are returned unchanged.

Run: python -m meshctl.devtools.gloo_v2 SRC_DIR DEST_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

V1 = "networking.enterprise.mesh.gloo.solo.io/v1beta1"
V2 = "networking.gloo.solo.io/v2"


def convert_documents(docs: list[dict[str, Any]], listener_port: int = 8080,
                      gateways: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """`gateways`: the v1beta1 VirtualGateways the VirtualHosts bind to (default: those among `docs`)."""
    if gateways is None:
        gateways = [d for d in docs if d.get("apiVersion") == V1 and d.get("kind") == "VirtualGateway"]
    out: list[dict[str, Any]] = []
    for d in docs:
        if d.get("apiVersion") != V1:
            out.append(d)
        elif d["kind"] == "VirtualGateway":
            out.append(_gateway(d, listener_port))
        elif d["kind"] == "VirtualHost":
            out.append(_root_table(d, gateways))
        elif d["kind"] == "RouteTable":
            spec = d.get("spec", {})
            body: dict[str, Any] = {}
            if "weight" in spec:
                body["weight"] = spec["weight"]
            body["http"] = [_route(r, d["metadata"].get("namespace", "default")) for r in spec.get("routes", [])]
            out.append({"apiVersion": V2, "kind": "RouteTable", "metadata": d["metadata"], "spec": body})
        else:
            out.append(d)
    return out


def _gateway(d: dict[str, Any], port: int) -> dict[str, Any]:
    workloads = []
    for sel in d.get("spec", {}).get("ingressGatewaySelectors", []):
        for ds in sel.get("destinationSelectors", []):
            m = ds.get("kubeServiceMatcher") or {}
            selector: dict[str, Any] = {}
            if m.get("labels"):
                selector["labels"] = m["labels"]
            if m.get("namespaces"):
                selector["namespace"] = m["namespaces"][0]
            if m.get("clusters"):
                selector["cluster"] = m["clusters"][0]
            workloads.append({"selector": selector})
    listener: dict[str, Any] = {"http": {}, "port": {"number": port}}
    namespaces: list[str] = []
    for handler in d.get("spec", {}).get("connectionHandlers", [])[:1]:
        for rc in (handler.get("http") or {}).get("routeConfig", []):
            namespaces += (rc.get("virtualHostSelector") or {}).get("namespaces", [])
    if namespaces:
        listener["allowedRouteTables"] = [{"host": "*" if ns == "*" else f"{ns}/*"} for ns in namespaces]
    spec: dict[str, Any] = {"listeners": [listener]}
    if workloads:
        spec = {"workloads": workloads, **spec}
    return {"apiVersion": V2, "kind": "VirtualGateway", "metadata": d["metadata"], "spec": spec}


def _root_table(d: dict[str, Any], gateways: list[dict[str, Any]]) -> dict[str, Any]:
    spec = d.get("spec", {})
    ns = d["metadata"].get("namespace", "default")
    body: dict[str, Any] = {
        "hosts": list(spec.get("domains", [])),
        "virtualGateways": [{"name": g["metadata"]["name"], "namespace": g["metadata"].get("namespace", "default")}
                            for g in gateways],
        "http": [_route(r, ns) for r in spec.get("routes", [])],
    }
    policy = (spec.get("options") or {}).get("invalidRoutePolicy")
    if policy is not None and "drop" in policy:
        body["failureMode"] = "FREEZE_CONFIG"  # closest v2 behaviour: broken routes are not served offline
    return {"apiVersion": V2, "kind": "RouteTable", "metadata": d["metadata"], "spec": body}


def _route(r: dict[str, Any], ns: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("name", "labels", "matchers"):
        if key in r:
            out[key] = r[key]
    if "routeAction" in r:
        action = r["routeAction"] or {}
        fwd: dict[str, Any] = {"destinations": [_destination(x) for x in action.get("destinations", [])]}
        if "pathRewrite" in action:
            fwd["pathRewrite"] = action["pathRewrite"]
        out["forwardTo"] = fwd
    if "delegateAction" in r:
        action = r["delegateAction"] or {}
        selectors: list[dict[str, Any]] = [{"name": ref["name"], "namespace": ref.get("namespace") or ns}
                                           for ref in action.get("refs", [])]
        sel = action.get("selector")
        if sel is not None:
            for namespace in sel.get("namespaces") or [ns]:
                entry: dict[str, Any] = {} if namespace == "*" else {"namespace": namespace}
                if sel.get("labels"):
                    entry["labels"] = sel["labels"]
                selectors.append(entry)
        delegate: dict[str, Any] = {"routeTables": selectors}
        if "sortMethod" in action:
            delegate["sortMethod"] = action["sortMethod"]
        out["delegate"] = delegate
    if "directResponseAction" in r:
        out["directResponse"] = r["directResponseAction"]
    if "redirectAction" in r:
        red = r["redirectAction"] or {}
        out["redirect"] = {k: v for k, v in red.items() if k in ("hostRedirect", "pathRedirect", "responseCode")}
    return out


def _destination(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "kubeService" in d:
        k = d["kubeService"]
        ref = {"name": k["name"]}
        if k.get("namespace"):
            ref["namespace"] = k["namespace"]
        if k.get("clusterName"):
            ref["cluster"] = k["clusterName"]
        out["ref"] = ref
        if k.get("port"):
            out["port"] = {"number": k["port"]}
        if k.get("subset"):
            out["subset"] = k["subset"]
    elif "virtualDestination" in d:
        v = d["virtualDestination"]
        out["ref"] = {"name": v["name"], **({"namespace": v["namespace"]} if v.get("namespace") else {})}
        out["kind"] = "VIRTUAL_DESTINATION"
    if d.get("weight"):
        out["weight"] = d["weight"]
    return out


def convert_directory(src: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.glob("*.yaml")):
        docs = [d for d in yaml.safe_load_all(f.read_text()) if d]
        converted = convert_documents(docs)
        header = f"# Gloo v2 form of ../../004-advanced-routing/{src.name}/{f.name} (meshctl/devtools/gloo_v2.py)\n"
        if converted == docs:
            header = f"# Unchanged from ../../004-advanced-routing/{src.name}/{f.name}\n"
        (dest / f.name).write_text(header + yaml.safe_dump_all(converted, sort_keys=False))


if __name__ == "__main__":
    convert_directory(Path(sys.argv[1]), Path(sys.argv[2]))
