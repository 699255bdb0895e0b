"""The sandbox over Envoy's own configuration: load a 10,000-route config dump, match requests, verify a gateway.

Run: .venv/bin/python benchmarks/envoy_config.py [--routes 10000] [--requests 50000] [--differential 0]
Targets (issue 18): dump loaded <= 1 s, >= 50,000 requests/s, verify of a 10,000-route gateway <= 10 s.
Baselines measured in the same run: json.loads of the same dump, the Gloo sandbox on the same requests,
building the routing view. With --differential N, also runs the real-Envoy differential over N configs.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from meshctl.devtools.synth import synthetic_config_text, synthetic_requests  # noqa: E402
from meshctl.envoyconfig.answer import answer  # noqa: E402
from meshctl.envoyconfig.matching import Matcher  # noqa: E402
from meshctl.envoyconfig.select import load_envoy_config  # noqa: E402
from meshctl.envoyconfig.source import normalise  # noqa: E402
from meshctl.envoyconfig.verify import verify  # noqa: E402
from meshctl.model.snapshot import snapshot_from_text  # noqa: E402
from meshctl.routing.view import build_routing_view  # noqa: E402
from meshctl.sandbox.engine import Sandbox  # noqa: E402
from meshctl.xds.cache import NodeInfo  # noqa: E402
from meshctl.xds.translate import TranslateOptions, Translator  # noqa: E402
from meshctl.xds.translate_json import resources_json  # noqa: E402


def timed(label: str, fn: Any, *args: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn(*args)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  {label:<52} {wall:8.3f} s wall {cpu:8.3f} s cpu")
    return value, wall, cpu


def config_dump(snapshot: Any) -> dict[str, Any]:
    """What `curl ADMIN/config_dump` would show for a gateway fed this translation (snake_case, as Envoy writes)."""
    translator = Translator(snapshot, TranslateOptions())
    resources = resources_json(translator.node_resources(NodeInfo("bench", "gateway")).by_type())
    body = normalise(resources)
    return {"configs": [
        {"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
         "dynamic_active_clusters": [{"version_info": "1", "cluster": c} for c in body["clusters"]]},
        {"@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
         "dynamic_listeners": [{"name": li["name"], "active_state": {"version_info": "1", "listener": li}}
                               for li in body["listeners"]]},
        {"@type": "type.googleapis.com/envoy.admin.v3.RoutesConfigDump",
         "dynamic_route_configs": [{"version_info": "1", "route_config": rc} for rc in body["routes"]]},
        {"@type": "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump",
         "dynamic_endpoint_configs": [{"endpoint_config": e} for e in body["endpoints"]]},
    ]}


def load(path: Path) -> Matcher:
    selection = load_envoy_config(path).select()
    matcher = Matcher(selection.route_config)
    for vh in selection.route_config.virtual_hosts:
        matcher.index(vh)  # built lazily otherwise: count it here
    return matcher


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--routes", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--differential", type=int, default=0, metavar="CONFIGS")
    args = parser.parse_args()

    print(f"{args.routes} routes, {args.requests} requests")
    snapshot = snapshot_from_text(synthetic_config_text(args.routes))
    view, _, view_cpu = timed("baseline: build the routing view (route engine)", build_routing_view, snapshot)
    n_routes = sum(len(v.routes) for g in view.gateways for v in g.virtual_hosts)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config_dump.json"
        path.write_text(json.dumps(config_dump(snapshot), indent=2))
        size = path.stat().st_size
        text = path.read_text()
        print(f"  config dump: {size / 1e6:.1f} MB, {n_routes} flattened routes")
        gc.collect()
        _, _, json_cpu = timed("baseline: json.loads of the dump", json.loads, text)
        matcher, load_wall, load_cpu = timed("load dump + select + compile + index", load, path)
    route_count = sum(len(v.routes) for v in matcher.rc.virtual_hosts)
    print(f"    {route_count} Envoy routes; {load_cpu / max(json_cpu, 1e-9):.1f}x json.loads; "
          f"target <= 1 s: {'ok' if load_wall <= 1.0 else 'MISSED'}")

    requests = synthetic_requests(view, args.requests, seed=1)
    sandbox = Sandbox(snapshot, view)

    def envoy_side() -> int:
        return sum(1 for r in requests if answer(matcher, r).matched)

    def gloo_side() -> int:
        return sum(1 for r in requests if sandbox.evaluate(r).matched)

    gc.disable()
    matched, _, envoy_cpu = timed("match every request (Envoy-config sandbox)", envoy_side)
    gloo_matched, _, gloo_cpu = timed("baseline: the Gloo sandbox on the same requests", gloo_side)
    gc.enable()
    rate = len(requests) / max(envoy_cpu, 1e-9)
    print(f"    {rate:,.0f} requests/s (cpu); {matched} matched vs {gloo_matched} in the Gloo sandbox; "
          f"{gloo_cpu / max(envoy_cpu, 1e-9):.2f}x the Gloo sandbox's speed; target >= 50,000/s: "
          f"{'ok' if rate >= 50_000 else 'MISSED'}")

    gateways = list(view.gateways)
    report, verify_wall, verify_cpu = timed("verify the gateway (witness per route, both sides)", verify,
                                            sandbox, gateways, matcher, "bench")
    counts = {k: v for k, v in report.counts().items() if v}
    print(f"    {counts}; {verify_cpu / max(view_cpu, 1e-9):.1f}x building the routing view; "
          f"target <= 10 s: {'ok' if verify_wall <= 10 else 'MISSED'}")

    from meshctl.envoyconfig.shadow import route_table

    rows, _, table_cpu = timed("routes --envoy-config: table with shadowing witnesses", route_table,
                               matcher.rc, matcher)
    print(f"    {sum(r.shadowed for r in rows)} shadowed; {table_cpu / max(view_cpu, 1e-9):.1f}x building the "
          f"routing view (no target)")

    if args.differential:
        from tests.envoyconfig.differential import run_differential

        start = time.perf_counter()
        total, found = run_differential(range(1000, 1000 + args.differential), 200)
        print(f"  differential: {total} requests over {args.differential} configs through a real Envoy, "
              f"{len(found)} disagreements ({time.perf_counter() - start:.1f} s)")
        for d in found[:10]:
            print("    " + d.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
