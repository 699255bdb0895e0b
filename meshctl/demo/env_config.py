"""The demo environment's configuration: one app instance per demo endpoint, and the demo YAML rewritten to them.

The built-in demo mesh names placeholder addresses (10.1.0.21, 192.0.2.10, ...). The running demo replaces
each with 127.0.0.1 and the port of the real app that stands for it, tunes outlier detection if asked, and
adds a TrafficPolicy with a request timeout (and optionally retries). The rewritten files are what the demo's
xDS server serves, so editing them changes the running demo.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..model.snapshot import demo_files
from .apps import KINDS, AppsSpec, InstanceSpec, Upstream

LOOPBACK = "127.0.0.1"
EXTERNAL_CLUSTER = "external"  # MeshIndex's cluster name for ExternalEndpoints
RESILIENCE_FILE = "zz-demo-resilience.yaml"  # sorted last: only adds a policy
INGRESS_LABEL = ("istio", "ingressgateway")
SIDECAR_WORKLOAD = ("bookinfo", "productpage", "cluster-1")  # the workload whose sidecar the demo runs
# What productpage calls through its sidecar, as (upstream name, Host header, path).
PRODUCTPAGE_UPSTREAMS = (("reviews", "reviews.bookinfo.svc.cluster.local", "/reviews/0"),
                         ("ratings", "ratings.bookinfo.svc.cluster.local", "/ratings/0"),
                         ("database", "database.external", "/books/0"))


@dataclass(frozen=True)
class DemoOptions:
    """Knobs of the demo environment (None keeps what the demo YAML says)."""

    retries: bool = False
    retry_attempts: int = 2
    per_try_timeout_s: float = 0.5
    request_timeout_s: float = 2.0
    outlier_interval_s: float | None = None
    base_ejection_time_s: float | None = None
    consecutive_errors: int | None = None
    hang_limit_s: float = 120.0
    envoy_log_level: str = "warn"
    api: str = "v1beta1"  # "v2": the gateway routing written as Gloo v2 (meshctl/model/v2/from_v1beta1.py)
    mtls: bool = True  # mutual TLS between the meshed proxies (gateway → productpage's sidecar), SDS-delivered
    cert_lifetime_s: float = 120.0  # short on purpose: the demo shows rotation (renewed at half the lifetime)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any] | None) -> "DemoOptions":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in (raw or {}).items() if k in known})


@dataclass(frozen=True)
class DemoEndpoint:
    """One endpoint of the demo mesh that a real app instance stands in for."""

    instance_id: str
    cluster: str  # Cluster name, or "external" for an ExternalEndpoint
    namespace: str
    service: str
    address: str  # placeholder address in the demo data
    endpoint_name: str = ""  # ExternalEndpoint name


def _documents(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def demo_documents(api: str = "v1beta1") -> dict[str, list[Any]]:
    """The built-in demo YAML, file name → documents; with api "v2" the VirtualGateway, VirtualHosts and
    RouteTables become their Gloo v2 equivalents (same names, same routes), and the failover and external-service
    stories are the hand-written v2 files in data/v2/ (VirtualDestination, FailoverPolicy, OutlierDetectionPolicy,
    an ExternalService in its own workspace)."""
    docs = {p.name: _documents(p) for p in demo_files()}
    if api == "v2":
        from ..model.v2.from_v1beta1 import convert_documents

        gateways = [d for ds in docs.values() for d in ds if d.get("kind") == "VirtualGateway"]
        docs = {name: convert_documents(d, gateways=gateways) for name, d in docs.items()}
        docs.update({p.name: _documents(p) for p in sorted((demo_files()[0].parent / "v2").glob("*.yaml"))})
    return docs


def database_namespace(api: str) -> str:
    """Where the demo's database ExternalService lives (v2: its own workspace's namespace)."""
    return "databases" if api == "v2" else "bookinfo"


def _kind(service: str) -> str:
    return service if service in KINDS else "generic"


def _is_ingress(service: Mapping[str, Any]) -> bool:
    key, value = INGRESS_LABEL
    return (service.get("labels") or {}).get(key) == value


def plan_instances(documents: Mapping[str, list[Any]], sidecar_port: int,
                   upstream_timeout_s: float) -> tuple[AppsSpec, list[DemoEndpoint]]:
    """An app instance for every service endpoint (except the ingress gateway, which is an Envoy) and every
    ExternalEndpoint; productpage calls its upstreams through the sidecar listening on `sidecar_port`."""
    instances: list[InstanceSpec] = []
    endpoints: list[DemoEndpoint] = []
    sidecar_ns, sidecar_service, sidecar_cluster = SIDECAR_WORKLOAD
    for docs in documents.values():
        for doc in docs:
            if doc.get("kind") == "Cluster":
                cluster = doc["metadata"]["name"]
                locality = (doc.get("spec") or {}).get("locality") or {}
                for svc in (doc.get("spec") or {}).get("services") or []:
                    if _is_ingress(svc):
                        continue
                    ns = svc.get("namespace") or "default"
                    for ep in svc.get("endpoints") or []:
                        labels = ep.get("labels") or {}
                        version = str(labels.get("version", "v1"))
                        ep_loc = ep.get("locality") or {}
                        instance_id = f"{svc['name']}-{version}@{cluster}"
                        upstreams: dict[str, Upstream] = {}
                        if (ns, svc["name"], cluster) == (sidecar_ns, sidecar_service, sidecar_cluster):
                            upstreams = {name: Upstream(f"http://{LOOPBACK}:{sidecar_port}{path}", host,
                                                        upstream_timeout_s)
                                         for name, host, path in PRODUCTPAGE_UPSTREAMS}
                        instances.append(InstanceSpec(
                            id=instance_id, service=svc["name"], namespace=ns, version=version, cluster=cluster,
                            region=ep_loc.get("region") or locality.get("region", ""),
                            zone=ep_loc.get("zone") or locality.get("zone", ""),
                            kind=_kind(svc["name"]), upstreams=upstreams))
                        endpoints.append(DemoEndpoint(instance_id, cluster, ns, svc["name"], str(ep["address"])))
    for docs in documents.values():
        for doc in docs:
            if doc.get("kind") == "ExternalEndpoint":
                meta, spec = doc["metadata"], doc.get("spec") or {}
                labels = meta.get("labels") or {}
                service = str(labels.get("app", meta["name"]))
                loc = spec.get("locality") or {}
                instance_id = f"{service}@{meta['name']}"
                instances.append(InstanceSpec(
                    id=instance_id, service=service, namespace=meta.get("namespace", "default"), version="v1",
                    cluster=str(labels.get("datacenter", meta["name"])), region=loc.get("region", ""),
                    zone=loc.get("zone", ""), kind=_kind(service)))
                endpoints.append(DemoEndpoint(instance_id, EXTERNAL_CLUSTER, meta.get("namespace", "default"),
                                              service, str(spec.get("address", "")), meta["name"]))
    return AppsSpec(instances=tuple(instances)), endpoints


def _seconds(value: float) -> str:
    return f"{value:g}s"


def _tune_outlier(outlier: dict[str, Any], options: DemoOptions) -> None:
    if options.outlier_interval_s is not None:
        outlier["interval"] = _seconds(options.outlier_interval_s)
    if options.base_ejection_time_s is not None:
        outlier["baseEjectionTime"] = _seconds(options.base_ejection_time_s)
    if options.consecutive_errors is not None:
        outlier["consecutiveErrors"] = options.consecutive_errors


def rewrite_documents(documents: Mapping[str, list[Any]], endpoints: list[DemoEndpoint], ports: Mapping[str, int],
                      gateway_port: int, options: DemoOptions) -> dict[str, list[Any]]:
    """The demo documents with endpoints on 127.0.0.1 at the apps' (and the gateway's) ports."""
    by_service = {(e.cluster, e.namespace, e.service, e.address): e.instance_id for e in endpoints}
    by_external = {(e.namespace, e.endpoint_name): e.instance_id for e in endpoints if e.endpoint_name}
    out: dict[str, list[Any]] = {}
    for name, docs in documents.items():
        rewritten = []
        for original in docs:
            doc = copy.deepcopy(original)
            kind = doc.get("kind")
            if kind == "Cluster":
                cluster = doc["metadata"]["name"]
                for svc in (doc.get("spec") or {}).get("services") or []:
                    ns = svc.get("namespace") or "default"
                    for ep in svc.get("endpoints") or []:
                        if _is_ingress(svc):
                            ep["address"], ep["port"] = LOOPBACK, gateway_port
                            continue
                        instance = by_service.get((cluster, ns, svc["name"], str(ep["address"])))
                        if instance is not None:
                            ep["address"], ep["port"] = LOOPBACK, ports[instance]
            elif kind == "ExternalEndpoint":
                meta, spec = doc["metadata"], doc.setdefault("spec", {})
                instance = by_external.get((meta.get("namespace", "default"), meta["name"]))
                if instance is not None:
                    spec["address"] = LOOPBACK
                    spec["ports"] = [{**(spec.get("ports") or [{}])[0], "number": ports[instance]}]
            elif kind == "VirtualDestination":
                outlier = ((doc.get("spec") or {}).get("localized") or {}).get("outlierDetection")
                if isinstance(outlier, dict):
                    _tune_outlier(outlier, options)
            elif kind == "TrafficPolicy":
                outlier = ((doc.get("spec") or {}).get("policy") or {}).get("outlierDetection")
                if isinstance(outlier, dict):
                    _tune_outlier(outlier, options)
            elif kind == "OutlierDetectionPolicy":
                config = (doc.get("spec") or {}).get("config")
                if isinstance(config, dict):
                    _tune_outlier(config, options)
            rewritten.append(doc)
        out[name] = rewritten
    out[RESILIENCE_FILE] = [resilience_policy(options)]
    return out


def resilience_policy(options: DemoOptions) -> dict[str, Any]:
    """Demo-only TrafficPolicy: a request timeout for the failover destinations (so a hung upstream turns into a
    504 that outlier detection counts) and, with `retries`, a retry policy that hides the failover."""
    policy: dict[str, Any] = {"requestTimeout": _seconds(options.request_timeout_s)}
    if options.retries:
        policy["retries"] = {"attempts": options.retry_attempts, "perTryTimeout": _seconds(options.per_try_timeout_s),
                             "retryOn": "5xx,connect-failure,reset", "retryPreviousHosts": True,
                             # a try after two on the local hosts goes to the next locality, even before the
                             # local hosts' ejection has reached every Envoy worker
                             "retryRemoteLocalities": True}
    return {
        "apiVersion": "networking.mesh.gloo.solo.io/v1",
        "kind": "TrafficPolicy",
        "metadata": {"name": "demo-resilience", "namespace": "bookinfo"},
        "spec": {
            "destinationSelector": [
                {"kubeServiceRefs": {"services": [{"clusterName": "cluster-1", "name": "reviews",
                                                   "namespace": "bookinfo"}]}},
                {"virtualDestinationRefs": {"virtualDestinations": [{"name": "bookinfo-global",
                                                                     "namespace": "gloo-mesh"}]}},
                {"externalServiceRefs": {"externalServices": [{"name": "database",
                                                               "namespace": database_namespace(options.api)}]}},
            ],
            "policy": policy,
        },
    }


HEADER = ("# Written by `meshctl demo up`: the built-in demo with endpoints on the running apps' 127.0.0.1 ports.\n"
          "# The demo's xDS server watches this directory; edits here reach the demo Envoys.\n")


def write_config(config_dir: Path, documents: Mapping[str, list[Any]]) -> list[Path]:
    """Write each file's documents (atomically per file); returns the paths."""
    config_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, docs in sorted(documents.items()):
        path = config_dir / name
        tmp = config_dir / f".{name}.tmp"
        tmp.write_text(HEADER + yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False))
        tmp.replace(path)
        written.append(path)
    return written


def write_resilience(config_dir: Path, options: DemoOptions) -> Path:
    """Rewrite only the demo's resilience policy (e.g. to switch retries for a drill)."""
    return write_config(config_dir, {RESILIENCE_FILE: [resilience_policy(options)]})[0]
