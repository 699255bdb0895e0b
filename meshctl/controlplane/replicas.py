"""Finding a control plane's replicas (a list of addresses, or the xDS Service's endpoints) and asking each for
its clients, so `meshctl xds status` shows every Envoy once, with the replica it is connected to."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..xds.status import ClientStatus, fetch_status

XDS_PORT_NAME = "grpc-xds"


@dataclass(frozen=True)
class ReplicaEndpoint:
    """One replica: how it is named in output (pod name, else its address) and where its xDS port is."""

    name: str
    address: str

    def __str__(self) -> str:
        return self.name


def endpoints_to_replicas(endpoints: dict[str, Any], port_name: str = XDS_PORT_NAME) -> list[ReplicaEndpoint]:
    """Replicas from a v1 Endpoints object: ready addresses × the port named `port_name` (else the only port)."""
    replicas = []
    for subset in endpoints.get("subsets") or []:
        ports = subset.get("ports") or []
        port = next((p for p in ports if p.get("name") == port_name), ports[0] if len(ports) == 1 else None)
        if port is None:
            continue
        for address in subset.get("addresses") or []:
            ip = address.get("ip", "")
            host = f"[{ip}]" if ":" in ip else ip
            target = address.get("targetRef") or {}
            where = f"{host}:{port['port']}"
            replicas.append(ReplicaEndpoint(target.get("name") or where, where))
    return sorted(replicas, key=lambda r: r.name)


def replicas_from_service(context: str, kubeconfig: str | None, namespace: str, name: str) -> list[ReplicaEndpoint]:
    """The ready endpoints of the xDS Service NS/NAME in a kubeconfig context."""
    from ..sources.kube_client import KubeClient, KubeConfigError, KubeError, KubeUnreachable

    try:
        client = KubeClient(context, kubeconfig)
    except KubeConfigError as exc:
        raise LookupError(str(exc)) from exc
    try:
        endpoints = client.request("GET", f"/api/v1/namespaces/{namespace}/endpoints/{name}")
    except KubeError as exc:
        raise LookupError(f"Service {namespace}/{name} in context {context}: {exc.message}") from exc
    except KubeUnreachable as exc:
        raise LookupError(str(exc)) from exc
    finally:
        client.close()
    replicas = endpoints_to_replicas(endpoints)
    if not replicas:
        raise LookupError(f"Service {namespace}/{name} in context {context} has no ready endpoint "
                          f"(a port named {XDS_PORT_NAME})")
    return replicas


def collect_status(replicas: list[ReplicaEndpoint], timeout: float = 5.0, node_id: str | None = None
                   ) -> tuple[list[tuple[str, ClientStatus]], dict[str, str]]:
    """(replica name, client) per Envoy, and per unreachable replica its error.

    An Envoy seen on two replicas (a stream the old replica has not yet noticed is gone) is shown once, on
    the replica it connected to last.
    """
    import grpc

    def ask(replica: ReplicaEndpoint) -> tuple[ReplicaEndpoint, list[ClientStatus] | None, str]:
        try:
            return replica, fetch_status(replica.address, timeout=timeout, node_id=node_id), ""
        except grpc.RpcError as exc:
            return replica, None, exc.details() if hasattr(exc, "details") else str(exc)

    latest: dict[str, tuple[str, ClientStatus]] = {}
    errors: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(replicas)))) as pool:
        for replica, clients, error in pool.map(ask, replicas):
            if clients is None:
                errors[replica.name] = error
                continue
            for client in clients:
                seen = latest.get(client.node_id)
                if seen is None or client.connected_at > seen[1].connected_at:
                    latest[client.node_id] = (replica.name, client)
    rows = sorted(latest.values(), key=lambda row: row[1].node_id)
    return rows, errors
