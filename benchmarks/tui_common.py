"""Shared helpers for the TUI benchmarks: a large configuration (synth.py when present) and RSS reading."""

from __future__ import annotations

import random
from pathlib import Path


def _fallback_config_text(n_routes: int, seed: int) -> str:
    """One gateway, one virtual host delegating to route tables of 100 routes each (until synth.py lands)."""
    rng = random.Random(seed)
    per_table = 100
    tables = max(1, n_routes // per_table)
    docs = ["""apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualGateway
metadata: {name: bench-gateway, namespace: gloo-mesh}
spec:
  ingressGatewaySelectors:
  - portName: http2
    destinationSelectors:
    - kubeServiceMatcher: {clusters: [cluster-1], labels: {istio: ingressgateway}, namespaces: [istio-system]}
  connectionHandlers:
  - http:
      routeConfig:
      - virtualHostSelector: {namespaces: [gloo-mesh]}
"""]
    vh_routes = "".join(
        f"""  - name: team-{t}
    matchers: [{{uri: {{prefix: /team-{t}}}}}]
    delegateAction: {{refs: [{{name: table-{t}, namespace: gloo-mesh}}]}}
""" for t in range(tables))
    docs.append(f"""apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualHost
metadata: {{name: bench-vh, namespace: gloo-mesh}}
spec:
  domains: [bench.example.com]
  routes:
{vh_routes}""")
    for t in range(tables):
        routes = []
        for r in range(per_table):
            kind = rng.choice(["prefix", "prefix", "exact"])
            routes.append(f"""  - name: r{r}
    matchers: [{{uri: {{{kind}: /svc-{r}/{rng.randrange(1000)}}}}}]
    routeAction: {{destinations: [{{kubeService: {{name: svc-{r % 17}, namespace: bench, clusterName: cluster-1}}}}]}}
""")
        docs.append(f"""apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: RouteTable
metadata: {{name: table-{t}, namespace: gloo-mesh, labels: {{team: t{t}}}}}
spec:
  routes:
{''.join(routes)}""")
    return "---\n".join(docs)


def config_text(n_routes: int, seed: int = 1) -> str:
    try:
        from meshctl.devtools.synth import synthetic_config_text  # type: ignore[import-not-found]
    except ImportError:
        return _fallback_config_text(n_routes, seed)
    return synthetic_config_text(n_routes, seed)


def write_config(directory: Path, n_routes: int, seed: int = 1) -> Path:
    path = directory / f"synthetic-{n_routes}.yaml"
    path.write_text(config_text(n_routes, seed))
    return path


def rss_mb(pid: int | None = None) -> float:
    """Resident set size in MiB from /proc (Linux)."""
    status = Path(f"/proc/{pid or 'self'}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
