"""One-route edit in a large configuration, stage by stage: what a change costs against a cold load, in one run.

The configuration is the issue's shape: one VirtualHost delegating to RouteTables of 100 routes, one file per
table (1k, 10k and 100k routes). Each edit rewrites one route's direct-response body in one table file.

Stages measured for the edit, each against the same stage of a cold load (the baseline of the ratio):
- load: the file source re-reads the directory; only the changed file is parsed (meshctl/model/parsed_files.py).
- routing view: still rebuilt whole (incremental flattening is the next step of the edit pipeline).

Run: .venv/bin/python benchmarks/edit_pipeline.py [--routes 1000,10000] [--edits 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO))

from xds_e2e import big_config  # noqa: E402

from meshctl.model.snapshot import Snapshot  # noqa: E402
from meshctl.routing.view import build_routing_view  # noqa: E402
from meshctl.sources.files import FileSource  # noqa: E402


def write_tree(directory: Path, routes: int) -> list[Path]:
    """The config of xds_e2e.big_config, one file per RouteTable; returns the table files."""
    docs = list(yaml.safe_load_all(big_config(routes, "v0")))
    tables = []
    for doc in docs:
        name = f"{doc['kind']}-{doc['metadata']['name']}.yaml".lower()
        (directory / name).write_text(yaml.safe_dump(doc, sort_keys=False))
        if doc["kind"] == "RouteTable":
            tables.append(directory / name)
    return tables


def timed(fn):  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - began


def bench(routes: int, edits: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="meshctl-bench-edit-"))
    try:
        tables = write_tree(work, routes)
        cold_load, cold_view = [], []
        for _ in range(3):
            source = FileSource([work])
            _, seconds = timed(source.load)
            cold_load.append(seconds)
            snapshot = Snapshot(*source.snapshot_parts())
            _, seconds = timed(partial(build_routing_view, snapshot))
            cold_view.append(seconds)
        edit_load, edit_view, parsed = [], [], set()
        for i in range(edits):
            table = tables[(i * 37) % len(tables)]
            text = table.read_text()
            table.write_text(text.replace("v0 ", f"e{i} ", 1) if "v0 " in text else text.replace("body: ", "body: x", 1))
            _, seconds = timed(source.load)
            edit_load.append(seconds)
            parsed.add(len(source.last_parsed))
            snapshot = Snapshot(*source.snapshot_parts())
            _, seconds = timed(partial(build_routing_view, snapshot))
            edit_view.append(seconds)
        print(f"{routes:,} routes in {len(tables)} table files; {edits} one-route edits "
              f"(files parsed per edit: {sorted(parsed)})")
        row("load (files -> resources)", min(cold_load), edit_load)
        row("routing view (rebuilt whole)", min(cold_view), edit_view)
        row("load + routing view", min(cold_load) + min(cold_view),
            [a + b for a, b in zip(edit_load, edit_view, strict=True)])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def row(stage: str, cold: float, edit: list[float]) -> None:
    median = statistics.median(edit)
    print(f"  {stage:<34} cold {cold * 1000:9.1f} ms   edit median {median * 1000:8.1f} ms  "
          f"worst {max(edit) * 1000:8.1f} ms   cold/edit {cold / median:6.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--routes", default="1000,10000")
    parser.add_argument("--edits", type=int, default=20)
    args = parser.parse_args()
    for routes in (int(r) for r in args.routes.split(",")):
        bench(routes, args.edits)


if __name__ == "__main__":
    main()
