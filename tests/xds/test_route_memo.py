"""Translating with the route memo and pinned encodings gives byte for byte what a fresh translation gives."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshctl.model.snapshot import Snapshot
from meshctl.routing.incremental import IncrementalRouting
from meshctl.sources.files import FileSource
from meshctl.sources.workspace import Workspace
from meshctl.xds import codec
from meshctl.xds.cache import NodeInfo
from meshctl.xds.route_memo import RouteMemo
from meshctl.xds.service import XdsService
from meshctl.xds.translate import Translator
from meshctl.xds.translate_clusters import ClusterMemo

API = "networking.enterprise.mesh.gloo.solo.io/v1beta1"
HEAD = f"""apiVersion: {API}
kind: VirtualGateway
metadata: {{name: gw, namespace: big}}
spec:
  connectionHandlers:
  - http: {{routeConfig: [{{virtualHostSelector: {{namespaces: [big]}}}}]}}
---
apiVersion: {API}
kind: VirtualHost
metadata: {{name: vh, namespace: big}}
spec:
  domains: ["*"]
  routes:
  - name: team
    matchers: [{{uri: {{prefix: /team}}}}]
    delegateAction: {{selector: {{namespaces: [big]}}}}
"""


def table(i: int, body: str, service: str, weight: int, retries: int = 0, selected: bool = True,
          extra: str | None = None) -> str:
    """Table t{i} (label slot: s{i}): three routes, and a fourth to `extra` when given; in namespace `away`
    (selected by nothing) unless `selected`."""
    options = f"\n    options: {{retries: {{attempts: {retries}}}}}" if retries else ""
    fourth = f"""
  - name: extra
    matchers: [{{uri: {{prefix: /e{i}}}}}]
    routeAction: {{destinations: [{{kubeService: {{name: {extra}, namespace: big}}}}]}}""" if extra else ""
    return f"""apiVersion: {API}
kind: RouteTable
metadata: {{name: t{i}, namespace: {"big" if selected else "away"}, labels: {{slot: s{i}}}}}
spec:
  weight: {weight}
  routes:
  - name: direct
    matchers: [{{uri: {{prefix: /d{i}}}}}]
    directResponseAction: {{status: 200, body: "{body}"}}
  - name: forward
    matchers: [{{uri: {{prefix: /f{i}}}}}]
    routeAction: {{destinations: [{{kubeService: {{name: {service}, namespace: big}}}}]}}{options}
  - name: also
    matchers: [{{uri: {{prefix: /g{i}}}}}]
    routeAction: {{destinations: [{{kubeService: {{name: app0, namespace: big}}}}]}}{options if i else ""}{fourth}
"""


# one delegating route per table, each selecting its own by label: a table leaving changes no other's routes
SLOTS_HEAD = HEAD.split("  routes:")[0] + "  routes:" + "".join(f"""
  - name: slot{i}
    matchers: [{{uri: {{prefix: /s{i}}}}}]
    delegateAction: {{selector: {{labels: {{slot: s{i}}}, namespaces: [big]}}}}""" for i in (2, 1, 0)) + "\n"


def discovery(services: list[str]) -> str:
    items = "".join(f"""
  - name: {s}
    namespace: big
    ports: [{{name: http, port: 80}}]
    endpoints: [{{address: 127.0.0.1, port: 9}}]""" for s in services)
    return f"""apiVersion: meshctl.io/v1alpha1
kind: Cluster
metadata: {{name: c1}}
spec:
  locality: {{region: r1, zone: z1}}
  services:{items}
"""


EDITS = st.one_of(
    st.tuples(st.just("body"), st.integers(0, 2), st.sampled_from(["a", "b"])),
    st.tuples(st.just("service"), st.integers(0, 2), st.sampled_from(["app0", "app1", "gone"])),
    st.tuples(st.just("weight"), st.integers(0, 2), st.integers(0, 3)),
    # which retry policy most forwarding routes share decides the host's (meshctl/xds/retry_hoist.py)
    st.tuples(st.just("retries"), st.integers(0, 2), st.integers(0, 3)),
    st.tuples(st.just("discovery"), st.sampled_from([("app0",), ("app0", "app1"), ()])),
    # routes added or removed in the middle of the host: the memo splices the host around them
    st.tuples(st.just("selected"), st.integers(0, 2), st.booleans()),
    st.tuples(st.just("extra"), st.integers(0, 2), st.sampled_from([None, "app0", "app1"])),
    st.tuples(st.just("slots"), st.booleans()),  # the VirtualHost: one selector for all, or one per table
)


def encoded(translator: Translator) -> list[bytes]:
    resources = translator.node_resources(NodeInfo("n", "gateway"))
    return [codec.encode(r) for r in resources.routes] + [codec.encode(c) for c in resources.clusters]


class MemoTranslation:
    """The configuration in a directory, translated after each change as the xDS service does: an incremental
    routing view, a route memo and a cluster memo, both swept first."""

    def __init__(self, directory: Path) -> None:
        self.source = FileSource([directory])
        self.routing, self.memo, self.clusters = IncrementalRouting(), RouteMemo(), ClusterMemo()

    def translate(self) -> tuple[list[bytes], Snapshot]:
        """The directory re-read and translated with the memos; and the snapshot it was translated from."""
        self.source.load()
        snapshot = Snapshot(*self.source.snapshot_parts())
        self.memo.sweep()
        self.clusters.sweep()
        translator = Translator(snapshot, view=self.routing.build(snapshot), memo=self.clusters,
                                route_memo=self.memo)
        return encoded(translator), snapshot


def replay_against_fresh(directory: Path, edits: list[tuple[Any, ...]]) -> None:
    """Apply `edits` one by one; after each, the memo's translation equals a fresh one byte for byte."""
    state: dict[str, Any] = {"tables": {i: ["v", "app0", i, 0, True, None] for i in range(3)},
                             "services": ("app0", "app1"), "slots": False}
    memo = MemoTranslation(directory)
    for edit in [("start",), *edits]:
        if edit[0] == "body":
            state["tables"][edit[1]][0] = edit[2]
        elif edit[0] == "service":
            state["tables"][edit[1]][1] = edit[2]
        elif edit[0] == "weight":
            state["tables"][edit[1]][2] = edit[2]
        elif edit[0] == "retries":
            state["tables"][edit[1]][3] = edit[2]
        elif edit[0] == "discovery":
            state["services"] = edit[1]
        elif edit[0] == "selected":
            state["tables"][edit[1]][4] = edit[2]
        elif edit[0] == "extra":
            state["tables"][edit[1]][5] = edit[2]
        elif edit[0] == "slots":
            state["slots"] = edit[1]
        (directory / "head.yaml").write_text(SLOTS_HEAD if state["slots"] else HEAD)
        (directory / "discovery.yaml").write_text(discovery(list(state["services"])))
        for i, (body, service, weight, retries, selected, extra) in state["tables"].items():
            text = table(i, body, service, weight, retries, selected, extra)
            path = directory / f"t{i}.yaml"
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
        with_memo, snapshot = memo.translate()
        assert with_memo == encoded(Translator(snapshot)), edit


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(EDITS, min_size=1, max_size=8))
def test_memo_translation_equals_a_fresh_one(tmp_path_factory: Any, edits: list[tuple[Any, ...]]) -> None:
    replay_against_fresh(tmp_path_factory.mktemp("config"), edits)


def test_memo_follows_the_host_retry_policy_as_it_changes(tmp_path: Path) -> None:
    # five forwarding routes: t0's first, both of t1's and of t2's. Edits of t0 (its routes name no cluster first,
    # so the memo splices them in) move the host's policy: a tie (the smaller encoding), attempts 2, attempts 3,
    # a tie again; then none, as the routes without a policy come to outnumber each one
    replay_against_fresh(tmp_path, [("retries", 1, 2), ("retries", 2, 3), ("retries", 0, 2), ("retries", 0, 3),
                                    ("retries", 0, 0), ("body", 0, "a"), ("retries", 1, 0), ("retries", 2, 0)])


def test_an_unchanged_route_is_not_translated_again(tmp_path: Path) -> None:
    (tmp_path / "head.yaml").write_text(HEAD)
    (tmp_path / "discovery.yaml").write_text(discovery(["app0"]))
    for i in range(3):
        (tmp_path / f"t{i}.yaml").write_text(table(i, "v", "app0", i))
    translation = MemoTranslation(tmp_path)
    memo = translation.memo

    def translate() -> list[bytes]:
        return translation.translate()[0]

    translate()
    assert (memo.translated, memo.reused) == (9, 0)  # three tables of three routes
    (tmp_path / "t1.yaml").write_text(table(1, "changed", "app0", 1))
    after = translate()
    # t1's file was re-read: its direct route changed and is translated again; its forwarding routes are new
    # objects equal to the old ones and reused, as are the other six
    assert (memo.translated, memo.reused) == (10, 8)
    assert any(b"changed" in route_config for route_config in after)


def test_a_table_leaving_the_middle_of_a_host_is_spliced_out_without_a_route_by_route_pass(tmp_path: Path) -> None:
    (tmp_path / "head.yaml").write_text(SLOTS_HEAD)
    (tmp_path / "discovery.yaml").write_text(discovery(["app0", "app1"]))

    def write(i: int, service: str, **kwargs: Any) -> None:
        (tmp_path / f"t{i}.yaml").write_text(table(i, "v", service, 0, **kwargs))

    for i in range(3):  # t2's routes first, then t1's, then t0's
        write(i, "app1" if i == 2 else "app0")
    translation = MemoTranslation(tmp_path)
    memo = translation.memo

    def translate() -> list[bytes]:
        got, snapshot = translation.translate()
        assert got == encoded(Translator(snapshot))
        return got

    whole = translate()
    fast, translated = memo.hosts_fast, memo.translated
    write(1, "app0", selected=False)
    without = translate()
    assert len(without[0]) < len(whole[0])
    # the host lost its middle three routes; the routes around them are kept, nothing is translated
    assert (memo.hosts_fast, memo.translated) == (fast + 1, translated)
    write(1, "app0", extra="app0")
    translate()
    # back, with a fourth route: its three routes' entries are still kept (same ids); only the fourth is new
    assert (memo.hosts_fast, memo.translated) == (fast + 2, translated + 1)
    write(1, "app0", extra="app1")
    translate()  # its fourth route now names app1, first named by t2 before it: still spliced
    assert memo.hosts_fast == fast + 3
    write(2, "app1", selected=False)
    translate()  # t2 named app1 first and is gone: the cluster order may change, so route by route
    assert memo.hosts_fast == fast + 3


def test_the_service_freezes_its_live_model_after_a_build_and_hands_it_back_on_stop(tmp_path: Path) -> None:
    (tmp_path / "head.yaml").write_text(HEAD)
    (tmp_path / "discovery.yaml").write_text(discovery(["app0"]))
    (tmp_path / "t0.yaml").write_text(table(0, "v", "app0", 0))
    workspace = Workspace([FileSource([tmp_path])]).load()
    service = XdsService(workspace, listen="127.0.0.1:0").start()
    try:
        gc.unfreeze()
        service.build(NodeInfo("n1", "gateway"))
        assert gc.get_freeze_count() > 0  # see model/gcpause.py FrozenHeap
    finally:
        service.stop()
        workspace.stop()
    assert gc.get_freeze_count() == 0
