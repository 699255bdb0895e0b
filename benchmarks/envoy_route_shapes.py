"""What Envoy spends taking a large route configuration, by what the routes carry: push -> ACK of one real Envoy
for 10,000 routes (benchmarks/xds_e2e.py's configuration) in several shapes, with and without Envoy's walk of each
update for unknown fields, each against the configuration as served with the walk (the baseline, same run).

Shapes: as served (half direct responses, half routes to a service with a timeout and a retry policy, which
meshctl's translation carries on the virtual host); no retry policies; no route options; all direct responses;
all routes to one service without options. Each figure is the median push -> ACK of `--pushes` one-route edits
(the first two left out: Envoy's first updates warm its allocator).

Run: .venv/bin/python benchmarks/envoy_route_shapes.py [--routes 10000] [--pushes 10]
Everything runs on 127.0.0.1 with free ports; the Envoy and xDS server started for each shape are stopped.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests" / "xds"))
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402
from fixtures_e2e import apply_edit  # noqa: E402
from xds_e2e import big_config, pipeline  # noqa: E402

SHAPES = ("as served", "no retry policies", "no route options", "all direct responses", "all to one service")


def shaped(shape: str, text: str) -> str:
    docs = list(yaml.safe_load_all(text))
    for doc in docs:
        if doc["kind"] != "RouteTable":
            continue
        for route in doc["spec"]["routes"]:
            if shape == "no retry policies" and "options" in route:
                route["options"].pop("retries", None)
            elif shape == "no route options":
                route.pop("options", None)
            elif shape == "all direct responses":
                route.pop("options", None)
                route.pop("routeAction", None)
                route["directResponseAction"] = {"status": 200, "body": "x"}
            elif shape == "all to one service":
                route.pop("options", None)
                route.pop("directResponseAction", None)
                route["routeAction"] = {"destinations": [{"kubeService": {"name": "app0", "namespace": "big"}}]}
    return yaml.safe_dump_all(docs, sort_keys=False)


def push_to_ack(shape: str, routes: int, pushes: int, check_unknown_fields: bool) -> float:
    """Median push -> ACK (ms) of one-route edits (a prefix renamed) in `shape`."""
    work = Path(tempfile.mkdtemp(prefix="meshctl-bench-shapes-"))
    config = work / "big.yaml"
    config.write_text(shaped(shape, big_config(routes, "v0")))
    with pipeline(work, "big/big", node_id="shapes-1", coalesce=0.002, live_timeout=60,
                  check_unknown_fields=check_unknown_fields) as served_by:
        served_by.service.wait_synced(60)
        own: list[float] = []
        for i in range(pushes):
            time.sleep(0.15)  # let the previous update settle
            config.write_text(re.sub(r"/svc0(?:x\d+)?/", f"/svc0x{i}/", config.read_text(), count=1))
            began = time.perf_counter()
            apply_edit(served_by.workspace, served_by.source, 60)
            timed = served_by.recorder.push_and_ack(began, 10)
            if timed is not None:
                own.append((timed[1] - timed[0]) * 1000)
    if len(own) < 3:
        raise RuntimeError(f"{shape}: only {len(own)} of {pushes} pushes were acknowledged")
    return statistics.median(own[2:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--routes", type=int, default=10000)
    parser.add_argument("--pushes", type=int, default=10)
    args = parser.parse_args()
    print(f"{args.routes:,} routes, one real Envoy: push -> ACK, median of {args.pushes - 2} one-route edits")
    figures: dict[tuple[str, bool], float] = {}
    for check in (True, False):
        for shape in SHAPES:
            figures[(shape, check)] = push_to_ack(shape, args.routes, args.pushes, check)
    baseline = figures[("as served", True)]
    print(f"  {'shape':<24} {'walk on (Envoy default)':>26} {'walk off (meshctl launcher)':>30}")
    for shape in SHAPES:
        cells: list[Any] = []
        for check in (True, False):
            value = figures[(shape, check)]
            cells.append(f"{value:7.1f} ms ({value / baseline:4.2f}x)")
        print(f"  {shape:<24} {cells[0]:>26} {cells[1]:>30}")


if __name__ == "__main__":
    main()
