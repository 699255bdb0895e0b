"""Mutual TLS in the demo: who is meshed (the ingress gateway and productpage's sidecar), their SPIFFE ids, and
what each proxy really holds (read back from its Envoy admin /certs for `meshctl demo status`).

The plan is written to the state dir as JSON by `demo up` and read by the demo's xDS server process, which runs
the CA, serves certificates over SDS and rotates them."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from ..mtls.identity import spiffe_id
from ..xds.mesh_tls import MeshedWorkload, MeshTls

MTLS_FILE = "mtls.json"
TRUST_DOMAIN = "meshctl.demo"
GATEWAY_ROLE = "gateway:gloo-mesh/demo-gateway"
SIDECAR_ROLE = "sidecar:bookinfo/productpage@cluster-1"
# (namespace, service account) of each meshed proxy
IDENTITIES = {GATEWAY_ROLE: ("istio-system", "istio-ingressgateway"), SIDECAR_ROLE: ("bookinfo", "productpage")}
GATEWAY_PRODUCTPAGE_HOST = "productpage.example.com"


def mtls_plan(lifetime_s: float, sidecar_inbound_port: int, productpage_app_port: int) -> dict[str, Any]:
    return {
        "trust_domain": TRUST_DOMAIN,
        "lifetime_s": lifetime_s,
        "identities": {role: spiffe_id(TRUST_DOMAIN, ns, sa).uri for role, (ns, sa) in IDENTITIES.items()},
        "workloads": [{"node_cluster": SIDECAR_ROLE, "identity": spiffe_id(TRUST_DOMAIN, *IDENTITIES[SIDECAR_ROLE]).uri,
                       "inbound_port": sidecar_inbound_port, "app_port": productpage_app_port}],
    }


def write_plan(state_dir: Path, plan: dict[str, Any]) -> Path:
    path = state_dir / MTLS_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(plan, indent=2) + "\n")
    os.replace(tmp, path)  # atomic
    return path


def meshed_ports(state_dir: Path) -> dict[int, int]:
    """Sidecar inbound port → app port of each meshed workload of a running demo (empty without mTLS)."""
    try:
        plan = json.loads((state_dir / MTLS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {int(w["inbound_port"]): int(w["app_port"]) for w in plan.get("workloads", [])}


def load_mesh_tls(path: Path) -> MeshTls:
    from ..mtls.identity import SpiffeId

    plan = json.loads(path.read_text())
    identities = {role: SpiffeId.parse(uri) for role, uri in plan["identities"].items()}
    workloads = [MeshedWorkload(w["node_cluster"], SpiffeId.parse(w["identity"]), int(w["inbound_port"]),
                                int(w["app_port"])) for w in plan["workloads"]]
    return MeshTls.create(plan["trust_domain"], dt.timedelta(seconds=float(plan["lifetime_s"])), identities,
                          workloads)


def gateway_productpage_documents(api: str) -> list[dict[str, Any]]:
    """Demo-only route: Host productpage.example.com on the gateway → productpage, i.e. gateway → productpage's
    sidecar over mutual TLS (the sidecar stands in front of the app as in a mesh)."""
    destination_v1 = {"kubeService": {"name": "productpage", "namespace": "bookinfo", "clusterName": "cluster-1",
                                      "port": 9080}}
    if api == "v2":
        return [{"apiVersion": "networking.gloo.solo.io/v2", "kind": "RouteTable",
                 "metadata": {"name": "productpage-mtls", "namespace": "gloo-mesh"},
                 "spec": {"hosts": [GATEWAY_PRODUCTPAGE_HOST],
                          "virtualGateways": [{"name": "demo-gateway", "namespace": "gloo-mesh"}],
                          "http": [{"name": "productpage", "matchers": [{"uri": {"prefix": "/"}}], "forwardTo": {
                              "destinations": [{"ref": {"name": "productpage", "namespace": "bookinfo",
                                                        "cluster": "cluster-1"}, "port": {"number": 9080}}]}}]}}]
    return [{"apiVersion": "networking.enterprise.mesh.gloo.solo.io/v1beta1", "kind": "VirtualHost",
             "metadata": {"name": "productpage-mtls", "namespace": "gloo-mesh"},
             "spec": {"domains": [GATEWAY_PRODUCTPAGE_HOST],
                      "routes": [{"name": "productpage", "matchers": [{"uri": {"prefix": "/"}}],
                                  "routeAction": {"destinations": [destination_v1]}}]}}]


def proxy_certificates(envoys: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each demo Envoy's workload identity and certificate expiry, as the proxy itself reports them."""
    from ..envoy.admin import AdminClient

    out: list[dict[str, Any]] = []
    for name, envoy in sorted(envoys.items()):
        row: dict[str, Any] = {"envoy": name, "identity": None, "expires": None, "serial": None}
        try:
            certs = json.loads(AdminClient(str(envoy["admin_url"])).get("/certs")).get("certificates", [])
        except Exception as err:  # a status line must not fail on one proxy
            row["error"] = str(err)
            out.append(row)
            continue
        for entry in certs:
            for cert in entry.get("cert_chain", []):
                uris = [s["uri"] for s in cert.get("subject_alt_names", []) if "uri" in s]
                if uris:
                    row.update(identity=uris[0], expires=cert.get("expiration_time"),
                               serial=cert.get("serial_number"))
        out.append(row)
    return out
