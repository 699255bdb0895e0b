"""The differential run: random RouteConfigurations served by a real Envoy, random requests through it, and the
Envoy-config sandbox over that Envoy's own /config_dump; every answer must agree (route, cluster, rewrites,
redirect Location, direct response)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from meshctl.envoy.admin import AdminClient
from meshctl.envoy.ports import free_port
from meshctl.envoyconfig.answer import EnvoyAnswer, answer
from meshctl.envoyconfig.matching import Matcher
from meshctl.envoyconfig.routes import RouteTarget
from meshctl.envoyconfig.select import envoy_config_from_text
from meshctl.sandbox.request import build_request

from .generator import CLUSTERS, ConfigGenerator, GeneratedRequest
from .harness import EchoUpstream, RawClient, bootstrap, start_envoy


@dataclass
class Disagreement:
    seed: int
    request: GeneratedRequest
    field: str
    envoy: Any
    sandbox: Any

    def render(self) -> str:
        return f"seed {self.seed}: {self.request.describe()}: {self.field}: envoy {self.envoy!r}, sandbox {self.sandbox!r}"


def compare(seed: int, req: GeneratedRequest, a: EnvoyAnswer, status: int, body: str,
            headers: dict[str, str]) -> list[Disagreement]:
    out: list[Disagreement] = []

    def differ(field: str, envoy: Any, sandbox: Any) -> None:
        out.append(Disagreement(seed, req, field, envoy, sandbox))

    taken = headers.get("x-route")
    if a.tls_redirect:  # require_tls answers before any route
        if taken is not None:
            differ("route (require_tls)", taken, None)
        if status != a.wire_status:
            differ("status (require_tls)", status, a.wire_status)
        if headers.get("location") != a.location:
            differ("location (require_tls)", headers.get("location"), a.location)
        return out
    vh = a.virtual_host
    candidates = {vh.routes[p].id for p, _ in a.decision.uncertain} if vh is not None else set()
    route = a.route
    if route is not None:
        candidates.add(route.id)
    if taken is None:
        if route is not None:
            differ(f"route (envoy status {status})", None, route.id)
        elif status != (200 if a.grpc else 404):
            differ("status (no route)", status, a.wire_status)
        return out
    if route is not None and route.kind == "route" and a.status is not None and taken in (None, route.id):
        if status != a.wire_status:  # cluster not found: a local reply, without the route's response headers
            differ("status (cluster not found)", status, a.wire_status)
        return out
    if taken not in candidates:
        differ(f"route (envoy status {status})", taken, sorted(candidates) or None)
        return out
    if route is None or taken != route.id:
        return out  # a route the sandbox said may take it first (runtime fraction): Envoy chose it
    expected_status = a.wire_status
    if a.action_type == "route" and expected_status is None:
        if status != 200:
            differ("status", status, 200)
            return out
        echo = json.loads(body)
        t = route.target
        assert isinstance(t, RouteTarget)
        clusters = {w.name for w in t.weighted if w.weight > 0} if t.weighted else {a.cluster}
        if echo["cluster"] not in clusters:
            differ("cluster", echo["cluster"], sorted(clusters))
        if echo["path"] != a.upstream_path:
            differ("upstream path", echo["path"], a.upstream_path)
        expected_host = a.upstream_host
        if t.weighted and echo["cluster"] != a.cluster:
            expected_host = a.upstream_host  # no per-cluster host rewrites are generated
        if echo["host"] != expected_host:
            differ("upstream host", echo["host"], expected_host)
        added = a.upstream_headers().get("x-added")
        if echo["x_added"] != added:
            differ("upstream x-added", echo["x_added"], added)
        return out
    if status != expected_status:
        differ("status", status, expected_status)
    if a.action_type == "redirect" or a.location:
        if headers.get("location") != a.location:
            differ("location", headers.get("location"), a.location)
    if a.action_type == "directResponse" and body != (a.body or "") and not a.grpc:
        differ("body", body, a.body)
    return out


def run_differential(seeds: Iterable[int], requests_per_config: int, rds_every: int = 2
                     ) -> tuple[int, list[Disagreement]]:
    """(answers compared, disagreements) over one Envoy per seed."""
    upstreams = [EchoUpstream(name) for name in CLUSTERS]
    total = 0
    found: list[Disagreement] = []
    try:
        clusters = {u.name: u.port for u in upstreams}
        with tempfile.TemporaryDirectory(prefix="meshctl-envoyconfig-") as tmp:
            for n, seed in enumerate(seeds):
                port, admin_port = free_port(), free_port()
                gen = ConfigGenerator(seed, port)
                rc = gen.route_config()
                rds = Path(tmp) / f"rds-{seed}.json" if n % rds_every == 1 else None
                envoy = start_envoy(bootstrap(port, admin_port, rc, clusters, gen.hcm, rds), admin_port,
                                    node=f"diff-{seed}")
                client = RawClient(port)
                try:
                    dump = _config_dump(AdminClient(f"http://127.0.0.1:{admin_port}", timeout=10))
                    selection = envoy_config_from_text(dump, f"seed {seed} config_dump").select(port=port)
                    matcher = Matcher(selection.route_config)
                    for _ in range(requests_per_config):
                        req = gen.request()
                        status, body, headers = client.send(req.method, req.host, req.path, req.headers)
                        request = build_request(req.method, "http", req.host, req.path, req.headers)
                        found += compare(seed, req, answer(matcher, request, selection.label), status, body, headers)
                        total += 1
                finally:
                    client.close()
                    envoy.stop()
    finally:
        for u in upstreams:
            u.stop()
    return total, found


def _config_dump(admin: AdminClient) -> str:
    """The dump once the RDS file has been read (a file subscription is asynchronous)."""
    import time

    deadline = time.monotonic() + 10
    while True:
        text = admin.get("/config_dump?include_eds")
        if '"dynamic_route_configs"' in text or "rds" not in text or time.monotonic() > deadline:
            return text
        time.sleep(0.05)
