"""The xDS tab's proxy check: `meshctl verify` for each connected gateway Envoy whose admin API the console knows."""

from __future__ import annotations

from typing import Any

from ..envoyconfig.matching import Matcher
from ..envoyconfig.select import envoy_config_from_text
from ..envoyconfig.source import EnvoyConfigError
from ..envoyconfig.verify import FAILING, verify
from ..model.snapshot import Snapshot
from ..routing.types import RoutingView
from ..sandbox.engine import Sandbox

MAX_SHOWN = 4


def _gateways(view: RoutingView, node_cluster: str) -> list[Any] | None:
    """The gateways a node serves, from its xDS role (node.cluster); None for a sidecar (not compared)."""
    kind, _, target = node_cluster.partition(":")
    if kind == "sidecar":
        return None
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
            gateways = _gateways(view, str(node.get("cluster", "")))
            if gateways is None:
                continue
            selection = envoy_config_from_text(admin.get("/config_dump?include_eds"), f"{url}/config_dump").select()
        except (EnvoyConfigError, OSError, RuntimeError, ValueError) as exc:
            lines.append(f"{url}: not verified: {exc}")
            continue
        report = verify(sandbox, gateways, Matcher(selection.route_config), selection.label)
        counts = ", ".join(f"{n} {s}" for s, n in report.counts().items() if n)
        lines.append(f"{node.get('id', url)}: {'agrees' if report.ok else 'DIFFERS'} ({counts})")
        for v in [v for v in report.verdicts if v.status in FAILING][:MAX_SHOWN]:
            request = v.request.describe() if v.request is not None else "no witness"
            lines.append(f"  {v.status}: {v.route}  {request}")
    return lines or ["no gateway Envoy with a known admin address"]
