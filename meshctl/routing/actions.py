"""Route actions in the operator's words and in the stable JSON shape shared by `routes` and `test-route`."""

from __future__ import annotations

from typing import Any

from ..model.common import DirectResponseAction, RedirectAction, RouteAction, WeightedDestination
from .types import FlattenedRoute


def effective_weights(destinations: list[WeightedDestination]) -> list[int]:
    """Weights as written; when none is written the split is even (the gateway guide's reading)."""
    if all(d.weight is None for d in destinations):
        return [1] * len(destinations)
    return [d.weight or 0 for d in destinations]


def destination_dict(dest: WeightedDestination, weight: int) -> dict[str, Any]:
    if dest.kube_service is not None:
        k = dest.kube_service
        return {"kind": "kubeService", "name": k.name, "namespace": k.namespace, "cluster": k.cluster_name or None,
                "subset": dict(k.subset) or None, "weight": weight, **({"port": k.port} if k.port else {})}
    if dest.virtual_destination is not None:
        v = dest.virtual_destination
        return {"kind": "virtualDestination", "name": v.name, "namespace": v.namespace, "cluster": None,
                "subset": dict(v.subset) or None, "weight": weight}
    if dest.static_destination is not None:
        s = dest.static_destination
        return {"kind": "staticDestination", "name": s.name, "namespace": s.namespace, "cluster": None,
                "subset": None, "weight": weight}
    return {"kind": "clusterHeader", "name": dest.cluster_header, "namespace": None, "cluster": None,
            "subset": None, "weight": weight}


def action_dict(route: FlattenedRoute) -> dict[str, Any]:
    action = route.action
    if isinstance(action, RouteAction):
        weights = effective_weights(action.destinations)
        out: dict[str, Any] = {"type": "route",
                               "destinations": [destination_dict(d, w) for d, w in zip(action.destinations, weights, strict=True)]}
        if action.path_rewrite is not None:
            out["pathRewrite"] = action.path_rewrite
        return out
    if isinstance(action, DirectResponseAction):
        return {"type": "directResponse", "status": action.status, "body": action.body}
    if isinstance(action, RedirectAction):
        out = {"type": "redirect", "status": action.status}
        for key, value in (("hostRedirect", action.host_redirect), ("pathRedirect", action.path_redirect),
                           ("prefixRewrite", action.prefix_rewrite)):
            if value is not None:
                out[key] = value
        if action.https_redirect:
            out["httpsRedirect"] = True
        if action.strip_query:
            out["stripQuery"] = True
        return out
    return {"type": "none"}


def describe_destination(d: dict[str, Any]) -> str:
    text = f"{d['kind']} {d['namespace']}/{d['name']}" if d.get("namespace") else f"{d['kind']} {d['name']}"
    if d.get("cluster"):
        text += f"@{d['cluster']}"
    if d.get("subset"):
        text += "{" + ",".join(f"{k}={v}" for k, v in sorted(d["subset"].items())) + "}"
    return text


def describe_action(route: FlattenedRoute) -> str:
    a = action_dict(route)
    kind = a["type"]
    if kind == "route":
        dests = a["destinations"]
        total = sum(d["weight"] for d in dests) or 1
        parts = [describe_destination(d) + (f" {100 * d['weight'] / total:.0f}%" if len(dests) > 1 else "")
                 for d in dests]
        text = "→ " + ", ".join(parts) if parts else "→ (no destination)"
        if "pathRewrite" in a:
            text += f" (rewrite {a['pathRewrite']})"
        return text
    if kind == "directResponse":
        body = a.get("body")
        return f"⇒ {a['status']}" + (f" {body!r}" if body else "")
    if kind == "redirect":
        target = (a.get("hostRedirect") or "") + (a.get("pathRedirect") or a.get("prefixRewrite") or "")
        scheme = "https://" if a.get("httpsRedirect") else ""
        return f"↪ {a['status']} {scheme}{target}".rstrip()
    return "(no action)"
