"""The xDS tab's proxy check: `meshctl verify` for each connected Envoy whose admin API the console knows (gateways,
and the sidecars of workloads the Gloo v2 configuration routes east-west)."""

from __future__ import annotations

from typing import Any

from ..envoyconfig.matching import Matcher
from ..envoyconfig.select import envoy_config_from_text
from ..envoyconfig.source import EnvoyConfigError
from ..envoyconfig.verify import FAILING, verify
from ..model.snapshot import Snapshot
from ..routing.types import RoutingView
from ..routing.v2_eastwest import WorkloadError, find_workload, sidecar_view
from ..sandbox.engine import Sandbox

MAX_SHOWN = 4


def _gateways(view: RoutingView, node_cluster: str) -> list[Any]:
    """The gateways a gateway node serves, from its xDS role (node.cluster)."""
    kind, _, target = node_cluster.partition(":")
    if kind == "gateway" and target not in ("", "*"):
        return [g for g in view.gateways if g.name == target]
    return list(view.gateways)


def verify_connected(snapshot: Snapshot, view: RoutingView, admins: list[Any]) -> list[str]:
    """One summary line per gateway Envoy (and its first differences, each with the request that shows it)."""
    sandbox = Sandbox(snapshot, view)
    lines: list[str] = []
    for admin in admins:
        url = getattr(admin, "base_url", "?")
        try:
            node = (admin.server_info().get("node") or {})
            role = str(node.get("cluster", ""))
            selection = envoy_config_from_text(admin.get("/config_dump?include_eds"), f"{url}/config_dump").select()
        except (EnvoyConfigError, OSError, RuntimeError, ValueError) as exc:
            lines.append(f"{url}: not verified: {exc}")
            continue
        if role.startswith("sidecar:"):
            try:  # what the Gloo configuration gives this workload's sidecar (v2 east-west)
                workload = find_workload(snapshot, role.partition(":")[2])
            except WorkloadError:
                continue  # a sidecar of a workload the configuration does not know: nothing to compare
            sidecar = sidecar_view(snapshot, workload)
            hosts = {d for g in sidecar.gateways for vh in g.virtual_hosts for d in vh.domains}
            if not hosts:
                continue  # plain Kubernetes service routing only
            report = verify(Sandbox(snapshot, sidecar), list(sidecar.gateways), Matcher(selection.route_config),
                            selection.label, only_hosts=hosts)
        else:
            report = verify(sandbox, _gateways(view, role), Matcher(selection.route_config), selection.label)
        counts = ", ".join(f"{n} {s}" for s, n in report.counts().items() if n)
        lines.append(f"{node.get('id', url)}: {'agrees' if report.ok else 'DIFFERS'} ({counts})")
        for v in [v for v in report.verdicts if v.status in FAILING][:MAX_SHOWN]:
            request = v.request.describe() if v.request is not None else "no witness"
            lines.append(f"  {v.status}: {v.route}  {request}")
    return lines or ["no Envoy with a known admin address and Gloo routes to compare"]
