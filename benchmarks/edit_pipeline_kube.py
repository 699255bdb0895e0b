"""One-route edit in a large configuration read live from a cluster: watch event -> real Envoy, against a cold load.

The configuration is edit_pipeline.py's (one VirtualHost delegating to RouteTables of 100 routes; /team0../team2
select theirs by label), held as objects by an in-process API server that speaks the Kubernetes wire protocol
(tests/kube/fakeapi.py, the same stand-in the live-cluster tests use) with the Gloo CRDs, a Node and the three
Services with their Endpoints. A KubeSource lists and watches it through the real `kubernetes` client, and the
pipeline serves it to one real Envoy as `meshctl xds serve --context` does (benchmarks/xds_e2e.py `pipeline`).

Each edit is an update of one object through the API server; figures are ms from the update to: the new snapshot,
Envoy's ACK of the route configuration (and Envoy's own share: push -> ACK), the new answer served. Edit kinds:
- body: one route's direct-response body in one RouteTable;
- label: table team1's label flips to team0's and back (re-selection by two delegating routes);
- weight: table team3's weight flips between 0 and 5 (re-sort under /team2);
- every table: every RouteTable updated with new bodies (100 watch events), so every route changes.
The cold baseline (same run) is a cold load of the same configuration from the cluster, in process: a new
KubeSource lists every kind, and the routing view is built from its snapshot (best of three).

Run: .venv/bin/python benchmarks/edit_pipeline_kube.py [--routes 1000,10000] [--edits 20]
Everything runs on 127.0.0.1 with free ports; the API server, Envoy and xDS server are stopped at the end.
Targets (issue 17): a watch event is an edit like a saved file: 10k one-route edit -> served median <= 50 ms,
worst <= 150 ms.
"""

from __future__ import annotations

import argparse
import copy
import re
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "tests" / "xds"))
sys.path.insert(0, str(REPO))

from edit_pipeline import LABELLED, Served, tree_docs  # noqa: E402
from xds_e2e import EditTimes, pipeline  # noqa: E402

from meshctl.cli.cmd_xds import SCOPED_ROUTES_DEFAULT, SERVE_COALESCE_SECONDS  # noqa: E402
from meshctl.model.snapshot import Snapshot  # noqa: E402
from meshctl.routing.view import build_routing_view  # noqa: E402
from meshctl.sources.kube import KubeSource  # noqa: E402
from tests.kube.fakeapi import FakeApiServer, kubeconfig  # noqa: E402
from tests.kube.objects import endpoints, node, service  # noqa: E402

API = "networking.enterprise.mesh.gloo.solo.io/v1beta1"
CONTEXT = "bench"
Check = Callable[[tuple[int, str]], bool]


def api_server(routes: int) -> FakeApiServer:
    """A started API server holding the configuration (Gloo objects and the discovery the routes name)."""
    server = FakeApiServer(CONTEXT).start()
    for crd in sorted((REPO / "deploy" / "crds").glob("*.yaml")):
        server.install_crd(yaml.load(crd.read_text(), Loader=yaml.CSafeLoader))
    server.create(node("bench-node", "r1", "z1"))
    for i in range(3):
        server.create(service(f"app{i}", "big", port=80))
        server.create(endpoints(f"app{i}", "big", 80, [("127.0.0.1", "bench-node", f"app{i}-pod")]))
    for doc in tree_docs(routes):
        if doc["kind"] != "Cluster":  # meshctl's file-only discovery kind: the objects above stand for it
            server.create(doc)
    return server


class Editor:
    """Edits of the configuration's objects through the API server (as `kubectl apply` would land)."""

    def __init__(self, server: FakeApiServer, tables: int) -> None:
        self.server = server
        self.tables = tables
        self.label = self.weight = self.cold = 0
        self.writes: list[float] = []  # ms the API server took to store each every_table edit's 100 updates

    def table(self, name: str) -> dict[str, Any]:
        found = self.server.get(API, "RouteTable", "big", name)
        assert found is not None, name
        return copy.deepcopy(found)

    def body(self, i: int) -> tuple[str, Check]:
        t = LABELLED + 1 + (i * 37) % (self.tables - LABELLED - 1)  # a table named by ref, not by label
        obj = self.table(f"team{t}")
        route = obj["spec"]["routes"][1]
        new = re.sub(r" e\d+$", "", route["directResponseAction"]["body"]) + f" e{i}"
        route["directResponseAction"]["body"] = new
        self.server.update(obj)
        return f"/team{t}/svc1/", lambda a: a == (200, new)

    def label_flip(self, i: int) -> tuple[str, Check]:
        moved = self.label = 1 - self.label
        obj = self.table("team1")
        obj["metadata"]["labels"] = {"team": "team0" if moved else "team1"}
        self.server.update(obj)
        return "/team1/svc1/", (lambda a: a[0] == 404) if moved else (lambda a: a[0] == 200)

    def weight_flip(self, i: int) -> tuple[str, Check]:
        heavy = self.weight = 1 - self.weight
        obj = self.table("team3")
        if heavy:
            obj["spec"]["weight"] = 5
        else:
            obj["spec"].pop("weight", None)
        self.server.update(obj)
        want = " t3 r1" if heavy else " t2 r1"
        return "/team2/svc1/", lambda a: a[0] == 200 and a[1].endswith(want)

    def every_table(self, i: int) -> tuple[str, Check]:
        self.cold += 1
        tag = f"c{self.cold}"
        began = time.perf_counter()
        for t in range(self.tables):
            obj = self.table(f"team{t}")
            for route in obj["spec"]["routes"]:
                action = route.get("directResponseAction")
                if action is not None:
                    action["body"] = f"{tag} " + re.sub(r"^c\d+ ", "", action["body"])
            self.server.update(obj)
        self.writes.append((time.perf_counter() - began) * 1000)
        return f"/team{self.tables - 1}/svc1/", lambda a: a[0] == 200 and a[1].startswith(f"{tag} ")


def cold_load(config: Path) -> float:
    """Seconds for a new KubeSource to list the configuration and the routing view to be built from it."""
    began = time.perf_counter()
    source = KubeSource(CONTEXT, kubeconfig=str(config))
    try:
        source.load()
        build_routing_view(Snapshot(*source.snapshot_parts()))
    finally:
        source.close()
    return time.perf_counter() - began


def bench(routes: int, edits: int) -> None:
    tables = routes // 100
    work = Path(tempfile.mkdtemp(prefix="meshctl-bench-kube-"))
    with ExitStack() as stack:
        server = api_server(routes)
        stack.callback(server.stop)
        config = work / "kubeconfig"
        config.write_text(yaml.safe_dump(kubeconfig({CONTEXT: (server, "token-admin")})))
        cold = min(cold_load(config) for _ in range(3)) * 1000
        source = KubeSource(CONTEXT, kubeconfig=str(config))
        stack.callback(source.close)
        source.load()
        source.start()  # the watches: every edit below reaches the pipeline as a watch event
        served_by = stack.enter_context(pipeline(work, "big/big", node_id="kube-1", coalesce=SERVE_COALESCE_SECONDS,
                                                 live_timeout=30, source=source,
                                                 scoped_routes=SCOPED_ROUTES_DEFAULT or None))
        served_by.service.wait_synced(60)
        served = Served(served_by.port)
        stack.callback(served.client.close)
        served.wait(f"/team{tables - 1}/svc1/", lambda a: a[0] == 200, timeout=60)
        rec, editor = served_by.recorder, Editor(server, tables)
        flips = 2 * max(2, edits // 8)  # even: each flip kind ends where it began
        kinds: list[tuple[str, Callable[[int], tuple[str, Check]], int]] = [
            ("body: one route's body", editor.body, edits),
            ("label: re-selection", editor.label_flip, flips),
            ("weight: re-sort", editor.weight_flip, flips),
            ("every table updated", editor.every_table, 3),
        ]
        print(f"{routes:,} routes, {tables} RouteTables in a Kubernetes API server, one real Envoy through "
              f"KubeSource and XdsService (ms from the update); cold load (list + routing view) {cold:.1f} ms")
        print(f"  {'edit':<30} {'-> snapshot':>14} {'-> ACK':>10} {'Envoy push->ACK':>16} {'-> served':>10}"
              f"   {'worst served':>12}")
        for label, make, count in kinds:
            times = EditTimes()
            for i in range(count):
                time.sleep(0.05)  # let the previous change settle
                began = time.perf_counter()
                path, check = make(i)
                finished = served.wait(path, check, timeout=60)
                times.record(rec, began, finished, rec.push_and_ack(began, 2))
            ratio = f"  cold/edit {cold / statistics.median(times.served):5.1f}x"
            print(f"  {label:<30} {times.median(times.snapshot, 14)} {times.median(times.ack, 10)} "
                  f"{times.median(times.own, 16)} {times.median(times.served, 10)}   {max(times.served):12.1f}{ratio}")
        print(f"  (every table updated: the API server took {statistics.median(editor.writes):.1f} ms to store "
              f"the {tables} updates; the source and the pipeline take the events as they come)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--routes", default="1000,10000", help="comma-separated; at least 500 (5 tables)")
    parser.add_argument("--edits", type=int, default=20)
    args = parser.parse_args()
    for routes in (int(r) for r in args.routes.split(",")):
        bench(routes, args.edits)


if __name__ == "__main__":
    main()
