"""One-route, label and weight edits in a large Gloo v2 configuration: the incremental routing view against a full
rebuild of the same snapshot, in one run, in this process (no Envoy).

The configuration is meshctl.devtools.synth's v2 shape, one file per resource: a VirtualGateway, one root table
delegating under /c<i> to each child table (even children by name, odd ones by labels; a tenth of the children
delegate once more to a grandchild table; both sort methods), the children holding the routes. Two changes make
the label and weight edits mean something: child c-4 also carries c-3's group label, so /c3 (TABLE_WEIGHT)
delegates to c-3 and c-4 ordered by weight.

Edit kinds, each against the same snapshot rebuilt whole (`build_routing_view`):
- body: one route's direct-response body in one child table file (a different table each time);
- label: child c-1's group label flips away and back (/c1's label selector re-selects);
- weight: child c-4's weight flips between 0 and 50 (/c3 re-sorts its two tables).

Figures: cold load (the file source reads every file), full routing view of the cold snapshot, then per edit kind
the incremental view and the full rebuild of the edited snapshot (median and worst) and their ratio. The cyclic
garbage collector runs between measurements, not inside them (see docs/design.md, incremental pipeline).

Run: .venv/bin/python benchmarks/edit_pipeline_v2.py [--sizes 1000:100,10000:100,100000:1000] [--edits 20]
"""

from __future__ import annotations

import argparse
import gc
import re
import shutil
import statistics
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any, Callable

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO))

from edit_pipeline import timed  # noqa: E402

from meshctl.devtools.synth import synthetic_v2_documents  # noqa: E402
from meshctl.model.snapshot import Snapshot  # noqa: E402
from meshctl.routing.incremental import IncrementalRouting  # noqa: E402
from meshctl.routing.types import RoutingView  # noqa: E402
from meshctl.routing.view import build_routing_view  # noqa: E402
from meshctl.sources.files import FileSource  # noqa: E402

Edit = Callable[[int], None]


def write_tree(directory: Path, routes: int, tables: int) -> dict[str, Path]:
    """The synthetic v2 configuration, one file per resource; c-4 also carries c-3's group label."""
    files: dict[str, Path] = {}
    for doc in synthetic_v2_documents(routes, tables):
        name = doc["metadata"]["name"]
        if doc["kind"] == "RouteTable" and name == "c-4":
            doc["metadata"]["labels"]["group"] = "c3"
        key = f"{doc['kind']}-{name}".lower()
        files[key] = directory / f"{key}.yaml"
        files[key].write_text(yaml.safe_dump(doc, sort_keys=False))
    return files


def rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def edits(files: dict[str, Path]) -> dict[str, Edit]:
    """The edit kinds, each a function of the edit's number that changes one file."""
    bodies = sorted((k for k, p in files.items() if k.startswith("routetable-c-") and "body: " in p.read_text()),
                    key=lambda k: int(k.rsplit("-", 1)[1]))
    state = {"label": 0, "weight": 0}

    def body(i: int) -> None:
        path = files[bodies[(i * 37) % len(bodies)]]
        text = path.read_text()
        found = re.search(r"body: (.*)\n", text)
        assert found is not None
        path.write_text(text.replace(found.group(0), f"body: {found.group(1).split(' e')[0]} e{i}\n", 1))

    def label(i: int) -> None:
        moved = state["label"] = 1 - state["label"]
        pair = ("group: c1\n", "group: c1-moved\n")
        rewrite(files["routetable-c-1"], *(pair if moved else pair[::-1]))

    def weight(i: int) -> None:
        heavy = state["weight"] = 1 - state["weight"]
        path = files["routetable-c-4"]
        found = re.search(r"  weight: (\d+)\n", path.read_text())
        assert found is not None
        rewrite(path, found.group(0), f"  weight: {50 if heavy else 0}\n")

    return {"body: one route's body": body, "label: re-selection": label, "weight: re-sort": weight}


def measure(fn: Callable[[], Any]) -> tuple[Any, float]:
    gc.collect()  # the collector's passes over the previous build's objects are not this build's cost
    return timed(fn)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.1f} ms"


def view_snapshot(source: FileSource) -> Snapshot:
    return Snapshot(*source.snapshot_parts())


def cold(work: Path) -> tuple[FileSource, RoutingView, float, float]:
    """A fresh source reading every file, and a full routing view of what it read: both with their seconds."""
    source = FileSource([work])
    _, load_seconds = measure(source.load)
    view, view_seconds = measure(partial(build_routing_view, view_snapshot(source)))
    return source, view, load_seconds, view_seconds


def bench(routes: int, tables: int, count: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="meshctl-bench-edit-v2-"))
    try:
        files = write_tree(work, routes, tables)
        runs = [cold(work) for _ in range(2)]
        source, view = runs[-1][0], runs[-1][1]
        served = sum(len(v.routes) for g in view.gateways for v in g.virtual_hosts)
        incremental = IncrementalRouting()
        incremental.build(view_snapshot(source))
        print(f"{routes:,} routes ({served:,} served) in {len(files) - 2} table files; in process, no Envoy")
        print(f"  cold load (files -> resources)  {ms(min(run[2] for run in runs))}")
        print(f"  cold routing view (full)        {ms(min(run[3] for run in runs))}")
        print(f"  {'edit':<24} {'incremental median':>20} {'worst':>12} {'full median':>14} {'worst':>12}"
              f" {'full/incr':>10}   reuse (last edit)")
        for label, edit in edits(files).items():
            incr, full = [], []
            for i in range(count):
                edit(i)
                source.load()
                snapshot = view_snapshot(source)
                _, seconds = measure(partial(incremental.build, snapshot))
                incr.append(seconds)
                _, seconds = measure(partial(build_routing_view, snapshot))
                full.append(seconds)
            stats = incremental.v2.last_stats
            reuse = (f"tables {stats['tables_expanded']} expanded / {stats['tables_reused']} reused, "
                     f"root routes {stats['roots_reused']} reused")
            print(f"  {label:<24} {ms(statistics.median(incr)):>20} {ms(max(incr)):>12} "
                  f"{ms(statistics.median(full)):>14} {ms(max(full)):>12} "
                  f"{statistics.median(full) / statistics.median(incr):9.1f}x   {reuse}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000:100,10000:100,100000:1000",
                        help="comma-separated ROUTES:TABLES (at least 10 tables)")
    parser.add_argument("--edits", type=int, default=20, help="edits of each kind (at 100k routes: a quarter)")
    args = parser.parse_args()
    for size in args.sizes.split(","):
        routes, tables = (int(n) for n in size.split(":"))
        bench(routes, tables, args.edits if routes < 100_000 else max(4, args.edits // 4))


if __name__ == "__main__":
    main()
