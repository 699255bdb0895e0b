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

Part 2 (`--envoy`), through the xDS service to one real Envoy (as `meshctl xds serve` runs it, with its
coalescing), ms from the save to: the new snapshot, Envoy's ACK of the route configuration (and Envoy's own share:
push -> ACK), the new answer served. The request of each edit is the witness of a direct-response route (built from
its own matchers, `routing/shadow.py` witness_for) that the sandbox says that route answers:
- body: that route's body, in a different table file each time (tables whose first body is such a route);
- label: a route of c-1 stops answering once /c1 selects nothing, and answers again;
- weight: c-4's weight (set to 0) flips to 50 and back around c-3's (set to 10), so /c3 puts its routes before
  and after c-3's; only to the ACK (the order changes the answer only for requests both tables' routes match);
- cold (baseline): every table file rewritten with new bodies, so every direct response changes.
The files the cold row rewrote are left to age past the file source's racily-clean window first (see
edit_pipeline.py).

Run: .venv/bin/python benchmarks/edit_pipeline_v2.py [--sizes 1000:100,10000:100,100000:1000] [--edits 20]
     [--envoy]
"""

from __future__ import annotations

import argparse
import gc
import re
import shutil
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO))

from edit_pipeline import Served, age_past_racy_window, timed  # noqa: E402
from xds_e2e import EditTimes, pipeline  # noqa: E402

from meshctl.cli.cmd_xds import SCOPED_ROUTES_DEFAULT, SERVE_COALESCE_SECONDS  # noqa: E402
from meshctl.devtools.synth import DOMAIN, GATEWAY_NS, synthetic_v2_documents  # noqa: E402
from meshctl.model.snapshot import Snapshot  # noqa: E402
from meshctl.routing.evaluate import Request  # noqa: E402
from meshctl.routing.incremental import IncrementalRouting  # noqa: E402
from meshctl.routing.shadow import witness_for  # noqa: E402
from meshctl.routing.types import RoutingView  # noqa: E402
from meshctl.routing.view import build_routing_view  # noqa: E402
from meshctl.sandbox.engine import Sandbox  # noqa: E402
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


# ------------------------------------------------------------------------------------------- part 2: to Envoy

Check = Callable[[tuple[int, str]], bool]


def answered_by(sandbox: Sandbox, table: str, body: str | None = None) -> list[tuple[Request, str]]:
    """(witness request, body) of the direct-response routes of `table` (only the one answering `body`, if given)
    that the sandbox says their own witness reaches."""
    out = []
    for _, _, route in sandbox.all_routes():
        action = route.route.direct_response_action
        if action is None or route.chain[-1].resource.name != table or (body is not None and action.body != body):
            continue
        for m in route.matchers:
            req = witness_for(m, DOMAIN)
            if req is not None and sandbox.evaluate(req).route is route:
                out.append((req, action.body or ""))
                break
    return out


def bench_envoy(routes: int, tables: int, count: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="meshctl-bench-edit-v2-e2e-"))
    files = write_tree(work, routes, tables)
    for name, weight in (("c-3", 10), ("c-4", 0)):  # c-4's 50 and 0 put it before and after c-3 under /c3
        path = files[f"routetable-{name}"]
        path.write_text(re.sub(r"  weight: \d+\n", f"  weight: {weight}\n", path.read_text(), count=1))
    source = FileSource([work])
    source.load()
    snapshot = view_snapshot(source)
    sandbox = Sandbox(snapshot, build_routing_view(snapshot))
    targets: list[tuple[Path, Request, str]] = []  # body edits: the table file, the request, the body it answers
    for key, path in sorted(files.items()):
        first = re.search(r"body: (.*)\n", path.read_text()) if key.startswith("routetable-c-") else None
        found = answered_by(sandbox, key.removeprefix("routetable-"), first.group(1)) if first else []
        if found:
            targets.append((path, *found[0]))
    labelled = answered_by(sandbox, "c-1")
    assert targets and labelled, "no route to aim requests at"
    with pipeline(work, f"{GATEWAY_NS}/synth-gateway", node_id="edit-v2", coalesce=SERVE_COALESCE_SECONDS,
                  live_timeout=30, scoped_routes=SCOPED_ROUTES_DEFAULT or None) as served_by:
        served_by.service.wait_synced(60)
        served, rec = Served(served_by.port), served_by.recorder

        def ask(req: Request) -> Callable[[], tuple[int, str]]:
            path = req.path if req.path.startswith("/") else "/" + req.path
            return lambda: served.client.request(path, DOMAIN, method=req.method, headers=req.headers)[:2]

        first_req, first_body = targets[0][1], targets[0][2]
        served.until(ask(first_req), lambda a: a == (200, first_body), 60, "the first target")
        state = {"label": 0, "weight": 0, "cold": 0}

        def body_edit(i: int) -> tuple[Callable[[], tuple[int, str]] | None, Check]:
            path, req, body = targets[i % len(targets)]
            text = path.read_text()
            found = re.search(r"body: (.*)\n", text)
            assert found is not None
            new = f"{found.group(1).split(' e')[0]} e{i}"
            path.write_text(text.replace(found.group(0), f"body: {new}\n", 1))
            return ask(req), lambda a: a == (200, new)

        def label_edit(i: int) -> tuple[Callable[[], tuple[int, str]] | None, Check]:
            moved = state["label"] = 1 - state["label"]
            pair = ("group: c1\n", "group: c1-moved\n")
            rewrite(files["routetable-c-1"], *(pair if moved else pair[::-1]))
            req, body = labelled[0]  # its body as written at the start (the cold row added a prefix)

            def its_own(a: tuple[int, str]) -> bool:
                return a[0] == 200 and body in a[1].split(" ")  # the body edits may have added a suffix
            return ask(req), (lambda a: not its_own(a)) if moved else its_own

        def weight_edit(i: int) -> tuple[Callable[[], tuple[int, str]] | None, Check]:
            heavy = state["weight"] = 1 - state["weight"]
            path = files["routetable-c-4"]
            found = re.search(r"  weight: (\d+)\n", path.read_text())
            assert found is not None
            rewrite(path, found.group(0), f"  weight: {50 if heavy else 0}\n")
            return None, lambda a: True

        def cold_edit(i: int) -> tuple[Callable[[], tuple[int, str]] | None, Check]:
            state["cold"] += 1
            tag = f"c{state['cold']}"
            for key, path in files.items():
                if key.startswith("routetable-"):
                    path.write_text(re.sub(r"body: (?:c\d+ )?", f"body: {tag} ", path.read_text()))
            return ask(first_req), lambda a: a[0] == 200 and a[1] == f"{tag} {first_body}"

        flips = 2 * max(2, count // 8)
        kinds = [("cold: every table rewritten", cold_edit, 3), ("body: one route's body", body_edit, count),
                 ("label: re-selection", label_edit, flips), ("weight: re-sort (to the ACK)", weight_edit, flips)]
        print(f"{routes:,} routes in {tables} table files (Gloo v2), one real Envoy through XdsService (ms from the "
              f"save; the source told, as the TUI's apply does); {len(targets)} body targets")
        print(f"  {'edit':<30} {'-> snapshot':>12} {'-> ACK':>10} {'Envoy push->ACK':>16} {'-> served':>10}"
              f"   {'worst':>8}")
        cold_served = None
        for label, make, n in kinds:
            if label.startswith("body:"):
                age_past_racy_window()  # the cold row, just before, rewrote every file
            times = EditTimes()
            for i in range(n):
                time.sleep(0.05)
                began = time.perf_counter()
                asker, check = make(i)
                before = served_by.workspace.version
                served_by.source.load()
                timed = rec.push_and_ack(began, 30)
                assert timed is not None, f"{label}: no route configuration pushed and ACKed"
                finished = served.until(asker, check, 60, label) if asker is not None else timed[1]
                assert served_by.workspace.version != before
                times.record(rec, began, finished, timed)
            median = statistics.median(times.served)
            cold_served = cold_served or median
            to_ack = label.startswith("weight")  # no answer to wait for: "served" is the ACK
            ratio = "" if label.startswith("cold") or to_ack else f"  cold/edit {cold_served / median:5.1f}x"
            shown = "-".rjust(10) if to_ack else f"{median:10.1f}"
            print(f"  {label:<30} {times.median(times.snapshot, 12)} {times.median(times.ack, 10)} "
                  f"{times.median(times.own, 16)} {shown}   {max(times.served):8.1f}{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000:100,10000:100,100000:1000",
                        help="comma-separated ROUTES:TABLES (at least 10 tables)")
    parser.add_argument("--edits", type=int, default=20, help="edits of each kind (at 100k routes: a quarter)")
    parser.add_argument("--envoy", action="store_true", help="also serve each size to a real Envoy (part 2)")
    args = parser.parse_args()
    for size in args.sizes.split(","):
        routes, tables = (int(n) for n in size.split(":"))
        count = args.edits if routes < 100_000 else max(4, args.edits // 4)
        bench(routes, tables, count)
        if args.envoy:
            bench_envoy(routes, tables, count)


if __name__ == "__main__":
    main()
