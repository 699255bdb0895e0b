"""One-route edit in a large configuration, stage by stage and end to end, against a cold load, in one run.

The configuration is the issue's shape: one VirtualHost delegating to RouteTables of 100 routes, one file per table
(1k, 10k and 100k routes). The VirtualHost names most tables by ref; /team0../team2 select theirs by label (table
team3 also carries team2's label, so /team2 delegates to two tables ordered by weight).

Part 1, in this process (no Envoy), each stage of an edit against the same stage of a cold load:
- load: the file source re-reads the directory; only the changed file is parsed (meshctl/model/parsed_files.py);
- routing view: incremental (meshctl/routing/incremental.py) beside a full rebuild of the same snapshot.
Between edits the live objects are frozen out of the cyclic collector, as the xDS service does after each build
(meshctl/model/gcpause.py FrozenHeap); without it, a generation-2 pass over the live model lands on some edit.

Part 2, through the xDS service to one real Envoy (as `meshctl xds serve --watch` runs it, with its coalescing and
its scoped routes: from 1,000 routes, one route configuration per first path segment, meshctl/xds/route_scopes.py;
`--also-unscoped` serves each size a second time as one route configuration, for comparison in the same run):
the edit is saved and the source told to re-read (as the TUI's apply does); figures from the save to: the new snapshot, Envoy's
ACK of the route configuration (and Envoy's own share: push → ACK), the new answer served. Edit kinds:
- body: one route's direct-response body in one table file;
- label: table team1's label flips to team0's and back (re-selection by two delegating routes);
- weight: table team3's weight flips between 0 and 5 (re-sort under /team2);
- matcher: the VirtualHost's last delegating route's prefix flips (the VirtualHost file is re-read);
- cold (baseline): every file rewritten with new bodies, so every route changes;
- body, watched: as body, but nothing is told: the started file source reads the save when the operating system
  reports it (`meshctl xds serve --watch`'s path).

Run: .venv/bin/python benchmarks/edit_pipeline.py [--routes 1000,10000] [--edits 20] [--no-envoy]
     [--check-unknown-fields] [--envoy-args=...] [--scoped-routes N] [--also-unscoped]
(Envoy's own share is most of an edit at 10k routes. meshctl's launcher starts Envoy without its walk of every
update for unknown fields (meshctl/envoy/process.py); `--check-unknown-fields` measures with Envoy's default.)
Targets (issue 17): 10k one-route edit -> served median <= 50 ms, worst <= 150 ms, >= 20x faster than cold;
cold load + flatten of 10k <= 0.5 s.
"""

from __future__ import annotations

import argparse
import gc
import http.client
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
sys.path.insert(0, str(REPO / "tests" / "xds"))
sys.path.insert(0, str(REPO))

from fixtures_e2e import HttpClient, apply_edit  # noqa: E402
from xds_e2e import EditTimes, big_config, pipeline  # noqa: E402

from meshctl.cli.cmd_xds import SCOPED_ROUTES_DEFAULT, SERVE_COALESCE_SECONDS  # noqa: E402
from meshctl.model.parsed_files import SETTLED_NS  # noqa: E402
from meshctl.model.snapshot import Snapshot  # noqa: E402
from meshctl.routing.incremental import IncrementalRouting  # noqa: E402
from meshctl.routing.view import build_routing_view  # noqa: E402
from meshctl.sources.files import FileSource  # noqa: E402
from meshctl.xds.cache import NodeInfo  # noqa: E402

LABELLED = 3  # /team0 .. /team2 delegate by label


def tree_docs(routes: int, tag: str = "v0") -> list[dict[str, Any]]:
    """The documents of xds_e2e.big_config, with some tables selected by label (see the module's text)."""
    docs = []
    for doc in yaml.safe_load_all(big_config(routes, tag)):
        name = doc["metadata"]["name"]
        if doc["kind"] == "VirtualHost":
            for t, route in enumerate(doc["spec"]["routes"][:LABELLED]):
                route["delegateAction"] = {"selector": {"labels": {"team": f"team{t}"}, "namespaces": ["big"]}}
        elif doc["kind"] == "RouteTable":
            t = int(name.removeprefix("team"))
            if t < LABELLED + 1:
                doc["metadata"]["labels"] = {"team": f"team{min(t, LABELLED - 1)}"}
        docs.append(doc)
    return docs


def write_tree(directory: Path, routes: int, tag: str = "v0") -> dict[str, Path]:
    """tree_docs, one file per resource; files by name."""
    files: dict[str, Path] = {}
    for doc in tree_docs(routes, tag):
        name = doc["metadata"]["name"]
        key = f"{doc['kind']}-{name}".lower()
        files[key] = directory / f"{key}.yaml"
        files[key].write_text(yaml.safe_dump(doc, sort_keys=False))
    return files


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - began


def row(stage: str, cold: float, edit: list[float]) -> None:
    median = statistics.median(edit)
    print(f"  {stage:<40} cold {cold * 1000:9.1f} ms   edit median {median * 1000:8.1f} ms  "
          f"worst {max(edit) * 1000:8.1f} ms   cold/edit {cold / median:6.1f}x")


def rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


# ------------------------------------------------------------------------------------------- part 1: in process

def bench_stages(routes: int, edits: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="meshctl-bench-edit-"))
    try:
        files = write_tree(work, routes)
        tables = [p for k, p in files.items() if k.startswith("routetable-")]
        cold_load, cold_view = [], []
        for _ in range(3):
            source = FileSource([work])
            _, seconds = timed(source.load)
            cold_load.append(seconds)
            snapshot = Snapshot(*source.snapshot_parts())
            _, seconds = timed(partial(build_routing_view, snapshot))
            cold_view.append(seconds)
        incremental = IncrementalRouting()
        incremental.build(snapshot)
        edit_load, edit_view, full_view, parsed = [], [], [], set()
        for i in range(edits):
            table = tables[(i * 37) % len(tables)]
            text = table.read_text()
            table.write_text(text.replace("body: ", f"body: e{i} ", 1))
            gc.freeze()  # what is alive between edits is frozen, as the xDS service's FrozenHeap does
            _, seconds = timed(source.load)
            edit_load.append(seconds)
            parsed.add(len(source.last_parsed))
            snapshot = Snapshot(*source.snapshot_parts())
            _, seconds = timed(partial(incremental.build, snapshot))
            edit_view.append(seconds)
            _, seconds = timed(partial(build_routing_view, snapshot))
            full_view.append(seconds)
        print(f"{routes:,} routes in {len(tables)} table files; {edits} one-route edits "
              f"(files parsed per edit: {sorted(parsed)}); in process, no Envoy")
        row("load (files -> resources)", min(cold_load), edit_load)
        row("routing view, full rebuild", min(cold_view), full_view)
        row("routing view, incremental", min(cold_view), edit_view)
        row("load + routing view (incremental)", min(cold_load) + min(cold_view),
            [a + b for a, b in zip(edit_load, edit_view, strict=True)])
    finally:
        gc.unfreeze()
        shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------------------------------------- part 2: to Envoy

def age_past_racy_window() -> None:
    """Wait until files written just now are past the file source's racily-clean window (SETTLED_NS): within it
    every load reads and compares each young file, which an edit made long after the files were written never
    pays (a row after one that rewrote every file would measure that)."""
    time.sleep(SETTLED_NS / 1e9 + 0.1)


class Served:
    """Polls Envoy until an answer passes a check; bounded in time."""

    def __init__(self, port: int) -> None:
        self.client = HttpClient(port)

    def wait(self, path: str, check: Callable[[tuple[int, str]], bool], timeout: float = 20.0) -> float:
        return self.until(lambda: self.client.get(path, host="bench.test"), check, timeout, path)

    def until(self, ask: Callable[[], tuple[int, str]], check: Callable[[tuple[int, str]], bool],
              timeout: float = 20.0, what: str = "") -> float:
        """The time the answer `ask` gets first passes `check`."""
        deadline = time.perf_counter() + timeout
        answer: Any = None
        while time.perf_counter() < deadline:
            try:
                answer = ask()
                if check(answer):
                    return time.perf_counter()
            except (OSError, http.client.HTTPException) as error:
                answer = error
            time.sleep(0.002)  # the poll shares this process (and its GIL) with the xDS service
        raise RuntimeError(f"{what}: the expected answer was not served within {timeout} s (last: {answer!r})")


def bench_envoy(routes: int, edits: int, envoy_args: list[str], check_unknown_fields: bool = False,
                scoped_routes: int | None = SCOPED_ROUTES_DEFAULT) -> None:
    work = Path(tempfile.mkdtemp(prefix="meshctl-bench-edit-e2e-"))
    files = write_tree(work, routes)
    tables = routes // 100
    with pipeline(work, "big/big", node_id="edit-1", coalesce=SERVE_COALESCE_SECONDS, live_timeout=30,
                  extra_args=envoy_args, check_unknown_fields=check_unknown_fields,
                  scoped_routes=scoped_routes) as served_by:
        source, workspace, service, rec, port = (served_by.source, served_by.workspace, served_by.service,
                                                 served_by.recorder, served_by.port)
        service.wait_synced(60)
        served = Served(port)
        served.wait(f"/team{tables - 1}/svc1/", lambda a: a[0] == 200, timeout=60)

        state = {"label": 0, "weight": 0, "matcher": 0, "cold": 0}
        last = tables - 1

        def body_edit(i: int) -> tuple[str, Callable[[tuple[int, str]], bool]]:
            t = LABELLED + 1 + (i * 37) % (tables - LABELLED - 1)  # a table named by ref, not by label
            table = files[f"routetable-team{t}"]
            found = re.search(rf"body: (.* t{t} r1(?: e\d+)?)\n", table.read_text())
            assert found is not None
            new = f"{found.group(1).split(' e')[0]} e{i}"
            rewrite(table, found.group(0), f"body: {new}\n")
            return f"/team{t}/svc1/", lambda a: a == (200, new)

        def label_edit(i: int) -> tuple[str, Callable[[tuple[int, str]], bool]]:
            moved = state["label"] = 1 - state["label"]
            rewrite(files["routetable-team1"], *(("team: team1", "team: team0") if moved else
                                                   ("team: team0", "team: team1")))
            return "/team1/svc1/", (lambda a: a[0] == 404) if moved else (lambda a: a[0] == 200)

        def weight_edit(i: int) -> tuple[str, Callable[[tuple[int, str]], bool]]:
            heavy = state["weight"] = 1 - state["weight"]
            table = files["routetable-team3"]
            if heavy:
                rewrite(table, "spec:\n", "spec:\n  weight: 5\n")
            else:
                rewrite(table, "spec:\n  weight: 5\n", "spec:\n")
            want = " t3 r1" if heavy else " t2 r1"
            return "/team2/svc1/", lambda a: a[0] == 200 and a[1].endswith(want)

        def matcher_edit(i: int) -> tuple[str, Callable[[tuple[int, str]], bool]]:
            moved = state["matcher"] = 1 - state["matcher"]
            pair = (f"prefix: /team{last}\n", f"prefix: /moved{last}\n")
            rewrite(files["virtualhost-big"], *(pair if moved else pair[::-1]))
            return (f"/moved{last}/svc1/" if moved else f"/team{last}/svc1/"), lambda a: a[0] == 200

        def cold_edit(i: int) -> tuple[str, Callable[[tuple[int, str]], bool]]:
            state["cold"] += 1
            tag = f"c{state['cold']}"
            for key, path in files.items():
                if key.startswith("routetable-"):
                    path.write_text(path.read_text().replace("body: v0 ", f"body: {tag} v0 ")
                                    .replace(f"body: c{state['cold'] - 1} v0 ", f"body: {tag} v0 "))
            return f"/team{last}/svc1/", lambda a: a[0] == 200 and a[1].startswith(f"{tag} ")

        flips = 2 * max(2, edits // 8)  # even: each of these kinds ends where it began (the watched row needs /teamN)
        kinds: list[tuple[str, Callable[[int], tuple[str, Callable[[tuple[int, str]], bool]]], int]] = [
            ("cold: every table rewritten", cold_edit, 3),
            ("body: one route's body", body_edit, edits),
            ("label: re-selection", label_edit, flips),
            ("weight: re-sort", weight_edit, flips),
            ("matcher: delegating route", matcher_edit, flips),
        ]
        walk = " (Envoy's unknown-field walk on)" if check_unknown_fields else ""
        scopes = len(service.resources_for(NodeInfo("edit-1", cluster="gateway")).scopes)
        walk += f", scoped RDS: {scopes} scopes" if scopes else ", one route configuration"
        print(f"{routes:,} routes, {tables} table files, one real Envoy{walk}{' ' + ' '.join(envoy_args) if envoy_args else ''}"
              f" through XdsService (ms from the save; the source told, as the TUI's apply does, or watching)")
        print(f"  {'edit':<30} {'-> snapshot':>18} {'-> ACK':>18} {'Envoy push->ACK':>18} {'-> served':>18}"
              f"   {'worst served':>12}")
        cold_served = None
        watched = ("body, watched: saved only", lambda i: body_edit(edits + i), edits)  # bodies not used yet
        for label, make, count in [*kinds, watched]:
            times = EditTimes()
            if label.startswith("body:"):
                age_past_racy_window()  # the cold row, just before, rewrote every file
            if label.startswith("body, watched"):
                source.interval = 3600  # the change notification is what reads the save, not the poll
                source.start()
                time.sleep(0.5)  # the watches are in place
            for i in range(count):
                time.sleep(0.05)  # let the previous change settle
                began = time.perf_counter()
                path, check = make(i)
                if source._thread is None:
                    apply_edit(workspace, source, 60)
                finished = served.wait(path, check, timeout=60)
                times.record(rec, began, finished, rec.push_and_ack(began, 2))
            median_served = statistics.median(times.served)
            if cold_served is None:
                cold_served = median_served
            ratio = "" if label.startswith("cold") else f"  cold/edit {cold_served / median_served:5.1f}x"
            print(f"  {label:<30} {times.median(times.snapshot, 18)} {times.median(times.ack, 18)} "
                  f"{times.median(times.own, 18)} {times.median(times.served, 18)}   {max(times.served):12.1f}{ratio}")
        served.client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--routes", default="1000,10000", help="comma-separated; at least 500 (5 tables)")
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--no-envoy", action="store_true", help="only the in-process stages")
    parser.add_argument("--check-unknown-fields", action="store_true",
                        help="Envoy walks each update for unknown fields (its default; meshctl's launcher skips it)")
    parser.add_argument("--envoy-args", default="", metavar="ARGS",
                        help="extra Envoy command-line arguments, e.g. --envoy-args='--concurrency 2'")
    parser.add_argument("--scoped-routes", type=int, default=SCOPED_ROUTES_DEFAULT, metavar="N",
                        help=f"as `meshctl xds serve --scoped-routes` (default {SCOPED_ROUTES_DEFAULT}; 0: one route "
                             "configuration)")
    parser.add_argument("--also-unscoped", action="store_true",
                        help="serve each size a second time as one route configuration (the baseline, same run)")
    args = parser.parse_args()
    for routes in (int(r) for r in args.routes.split(",")):
        bench_stages(routes, args.edits)
        if not args.no_envoy:
            for scoped in (args.scoped_routes, 0) if args.also_unscoped and args.scoped_routes else (args.scoped_routes,):
                bench_envoy(routes, args.edits, args.envoy_args.split(), args.check_unknown_fields, scoped or None)


if __name__ == "__main__":
    main()
