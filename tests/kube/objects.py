"""Kubernetes object builders for the live-cluster tests (nodes with topology labels, services, pods, endpoints)."""

from __future__ import annotations

from typing import Any

GLOO_ENTERPRISE = "networking.enterprise.mesh.gloo.solo.io/v1beta1"


def node(name: str, region: str, zone: str, subzone: str | None = None) -> dict[str, Any]:
    labels = {"kubernetes.io/hostname": name, "topology.kubernetes.io/region": region,
              "topology.kubernetes.io/zone": zone}
    if subzone:
        labels["topology.istio.io/subzone"] = subzone
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
            "status": {"nodeInfo": {"architecture": "amd64", "bootID": "b", "containerRuntimeVersion": "containerd://1.7",
                                    "kernelVersion": "6.1", "kubeProxyVersion": "v1.30.0", "kubeletVersion": "v1.30.0",
                                    "machineID": "m", "operatingSystem": "linux", "osImage": "Debian",
                                    "systemUUID": "u"},
                       "images": [{"names": ["registry.example/big:1"], "sizeBytes": 123456789}]}}


def service(name: str, namespace: str, port: int = 9080, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {"app": name, "service": name}},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": port, "targetPort": port,
                                                          "protocol": "TCP"}]}}


def pod(name: str, namespace: str, node_name: str, ip: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels,
                         "annotations": {"sidecar.istio.io/status": "{...}"}},
            "spec": {"nodeName": node_name, "containers": [{"name": "app", "image": "example/app:1"}]},
            "status": {"phase": "Running", "podIP": ip}}


def endpoints(name: str, namespace: str, port: int, members: list[tuple[str, str, str]]) -> dict[str, Any]:
    """members: (ip, node name, pod name)."""
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": namespace},
            "subsets": [{"addresses": [{"ip": ip, "nodeName": node_name,
                                        "targetRef": {"kind": "Pod", "name": pod_name, "namespace": namespace}}
                                       for ip, node_name, pod_name in members],
                         "ports": [{"name": "http", "port": port, "protocol": "TCP"}]}]}


def route_table(name: str, namespace: str, weight: int = 0, prefix: str = "/", service_name: str = "reviews",
                labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": GLOO_ENTERPRISE, "kind": "RouteTable",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"weight": weight, "routes": [{
                "name": f"{name}-route",
                "matchers": [{"uri": {"prefix": prefix}}],
                "routeAction": {"destinations": [{"kubeService": {"name": service_name, "namespace": namespace}}]},
            }]}}


def demo_routing_objects() -> list[dict[str, Any]]:
    """The Gloo objects of meshctl's built-in demo mesh (its Cluster discovery objects left out)."""
    import yaml

    from meshctl.model.resources import ROUTING_KINDS
    from meshctl.model.snapshot import demo_files

    docs = [d for f in demo_files() for d in yaml.safe_load_all(f.read_text()) if d]
    return [d for d in docs if d.get("kind") in ROUTING_KINDS]


def load_demo_routing(server: Any) -> None:
    for obj in demo_routing_objects():
        server.create(obj)
