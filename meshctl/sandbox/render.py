"""Sandbox results as text an operator reads at a terminal."""

from __future__ import annotations

from ..mesh.index import Backend, Locality
from ..routing.actions import describe_destination
from .engine import SandboxResult
from .explain import TraceEntry, describe_progress

MAX_ENDPOINTS_SHOWN = 6


def _backend_lines(backend: Backend, weight_text: str, locality: Locality | None) -> list[str]:
    lines = [f"  {backend.display}{weight_text}  envoy cluster {backend.envoy_cluster}"]
    if backend.failover_plan is not None:
        lines.append(f"    priorities from {backend.failover_plan.policy}")
    priorities = backend.priorities(locality)
    if not priorities:
        lines.append("    no endpoints" + (f" ({'; '.join(backend.problems)})" if backend.problems else ""))
        return lines
    shown = 0
    for level, endpoints in enumerate(priorities):
        for e in endpoints:
            if shown >= MAX_ENDPOINTS_SHOWN:
                lines.append(f"    ... {sum(len(p) for p in priorities) - shown} more")
                return lines
            health = "" if e.healthy else "  (not ready)"
            lines.append(f"    P{level} {e.address}:{e.port}  {e.cluster}  {e.locality}  {e.instance}{health}")
            shown += 1
    for problem in backend.problems:
        lines.append(f"    ! {problem}")
    return lines


def trace_lines(entries: list[TraceEntry], limit: int | None = None) -> list[str]:
    shown = entries if limit is None or len(entries) <= limit else entries[-limit:]
    lines = []
    if len(shown) < len(entries):
        lines.append(f"  ... {len(entries) - len(shown)} earlier route(s) did not match (:explain for all)")
    for e in shown:
        mark = "✓" if e.matched else "✗"
        lines.append(f"  {mark} [{e.position}] {e.label}  {e.reason}  ({e.route.owner_ref})")
    return lines


def render_result(result: SandboxResult, trace_limit: int | None = 12, include_trace: bool = True) -> str:
    req = result.request
    lines = [f"request   {req.describe()}"]
    if result.gateway_note:
        lines.append(f"note      {result.gateway_note}")
    lines.append(f"gateway   {result.gateway.name}")
    if result.host is None:
        lines.append("vhost     (none)")
    else:
        lines.append(f"vhost     {result.host.virtual_host.name}  (domain {result.host.domain}, {result.host.kind})")
    route, hit = result.route, result.hit
    if route is None or hit is None:
        lines.append("route     (none)")
        lines.append(f"outcome   404 from Envoy, no route: {result.reason}")
        if result.closest:
            lines.append("closest misses")
            for e in result.closest:
                lines.append(f"  [{e.position}] {e.label}  {e.reason}  — {describe_progress(e)}  ({e.route.owner_ref})")
        if result.trace and include_trace:
            lines.append("trace")
            lines.extend(trace_lines(result.trace, trace_limit))
        return "\n".join(lines)
    lines.append(f"route     [{hit.position}] {e_label(result)}  {result.matcher.describe() if result.matcher else ''}")
    lines.append(f"owner     {route.owner_ref}")
    if route.applied_policies:  # Gloo v2 route policies attached by labels
        lines.append(f"policies  {', '.join(route.applied_policies)}")
    if len(route.chain) > 1:
        lines.append("chain     " + " > ".join(link.ref for link in route.chain))
    lines.append(f"order     {route.position.reason}: {route.position.detail}")
    kind = result.action_type
    if kind == "directResponse":
        body = result.body
        lines.append(f"outcome   direct response {result.status}" + (f", body {body}" if body else ", no body"))
    elif kind == "redirect":
        lines.append(f"outcome   redirect {result.status} to {result.location}")
    elif kind == "route":
        dests = result.destinations
        total = sum(d["weight"] for d in dests) or 1
        lines.append("outcome   forwarded upstream, path " + str(result.upstream_path))
        lines.append("backends" + (f"  (priorities from {result.locality})" if result.locality else ""))
        for d, backend in zip(dests, result.backends, strict=False):
            share = f"  {100 * d['weight'] / total:.0f}%" if len(dests) > 1 else ""
            lines.append(f"  → {describe_destination(d)}{share}")
            lines.extend("  " + line for line in _backend_lines(backend, "", result.locality))
    else:
        lines.append("outcome   (route has no action)")
    earlier = result.trace[:-1] if include_trace else []
    if earlier:
        lines.append("earlier routes")
        lines.extend(trace_lines(earlier, trace_limit))
    return "\n".join(lines)


def e_label(result: SandboxResult) -> str:
    route = result.route
    return (route.name or f"#{route.chain[-1].route_index}") if route is not None else "(none)"
