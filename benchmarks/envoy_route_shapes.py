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
import shutil
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
from xds_e2e import Recorder, big_config  # noqa: E402

from meshctl.envoy.ports import free_port  # noqa: E402
from meshctl.envoy.process import EnvoyProcess  # noqa: E402
from meshctl.sources.files import FileSource  # noqa: E402
from meshctl.sources.workspace import Workspace  # noqa: E402
from meshctl.xds.service import XdsService  # noqa: E402
from meshctl.xds.translate import TranslateOptions  # noqa: E402

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
    envoy = service = workspace = None
    try:
        config = work / "big.yaml"
        config.write_text(shaped(shape, big_config(routes, "v0")))
        source = FileSource([work])
        workspace = Workspace([source], coalesce_seconds=0.002).load()
        service = XdsService(workspace, TranslateOptions(listener_ports={"big/big": free_port()}),
                             listen="127.0.0.1:0").start()
        recorder = Recorder()
        service.add_listener(recorder.event)
        envoy = EnvoyProcess("shapes-1", service.bound_port, node_cluster="gateway",
                             check_unknown_fields=check_unknown_fields).start().wait_live(60)
        service.wait_synced(60)
        own: list[float] = []
        for i in range(pushes):
            time.sleep(0.15)  # let the previous update settle
            text = config.read_text()
            config.write_text(re.sub(r"/svc0(?:x\d+)?/", f"/svc0x{i}/", text, count=1))
            began = time.perf_counter()
            apply_edit(workspace, source, 60)
            deadline = time.perf_counter() + 10
            while time.perf_counter() < deadline:
                pushed = recorder.first_after(recorder.pushed, began)
                acked = recorder.first_after(recorder.acked, pushed) if pushed is not None else None
                if pushed is not None and acked is not None:
                    own.append((acked - pushed) * 1000)
                    break
                time.sleep(0.001)
        if len(own) < 3:
            raise RuntimeError(f"{shape}: only {len(own)} of {pushes} pushes were acknowledged")
        return statistics.median(own[2:])
    finally:
        if envoy is not None:
            envoy.stop()
        if service is not None:
            service.stop()
        if workspace is not None:
            workspace.stop()
        shutil.rmtree(work, ignore_errors=True)


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
