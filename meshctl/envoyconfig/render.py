"""Answers of the Envoy-config sandbox as text an operator reads at a terminal."""

from __future__ import annotations

from .answer import EnvoyAnswer, TraceStep


def trace_lines(steps: list[TraceStep], limit: int | None = 12) -> list[str]:
    shown = steps if limit is None or len(steps) <= limit else steps[-limit:]
    lines = []
    if len(shown) < len(steps):
        lines.append(f"  ... {len(steps) - len(shown)} earlier route(s) did not match")
    for s in shown:
        lines.append(f"  {'✓' if s.matched else '✗'} [{s.position}] {s.label}  {s.reason}")
    return lines


def render_answer(a: EnvoyAnswer, trace_limit: int | None = 12) -> str:
    req = a.request
    lines = [f"request   {req.describe()}", f"config    {a.label}"]
    if a.host is None:
        lines.append("vhost     (none)")
    else:
        lines.append(f"vhost     {a.host.virtual_host.name}  (domain {a.host.domain}, {a.host.kind})")
    route = a.route
    for pos, why in a.decision.uncertain:
        lines.append(f"depends   [{pos}] {a.virtual_host.routes[pos].label} may take it first: {why}")
    if route is None and not a.tls_redirect:
        lines.append("route     (none)")
        lines.append(f"outcome   404 from Envoy, no route: {a.reason}")
        if a.trace:
            lines.append("trace")
            lines.extend(trace_lines(a.trace, trace_limit))
        lines.extend(f"note      {n}" for n in a.unmodelled)
        return "\n".join(lines)
    if route is not None:
        lines.append(f"route     [{route.index}] {route.label}  {route.describe_match()}")
    kind = a.action_type
    if kind == "directResponse":
        lines.append(f"outcome   direct response {a.status}" + (f", body {a.body}" if a.body else ", no body"))
    elif kind == "redirect":
        lines.append(f"outcome   redirect {a.status} to {a.location}" + ("  (require_tls)" if a.tls_redirect else ""))
    elif kind == "route":
        status = a.status
        lines.append(f"outcome   forwarded to cluster {a.cluster or '(none)'}, path {a.upstream_path}, "
                     f"host {a.upstream_host}" + (f"; Envoy answers {status}: cluster not found" if status else ""))
        for w in a.weighted:
            lines.append(f"  → {w['cluster']}  weight {w['weight']} ({w['percent']:g}%)")
    else:
        lines.append(f"outcome   {kind} (not modelled)")
    lines.extend(f"note      {n}" for n in a.unmodelled)
    earlier = a.trace[:-1]
    if earlier:
        lines.append("earlier routes")
        lines.extend(trace_lines(earlier, trace_limit))
    return "\n".join(lines)
