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


def table(i: int, body: str, service: str, weight: int) -> str:
    return f"""apiVersion: {API}
kind: RouteTable
metadata: {{name: t{i}, namespace: big}}
spec:
  weight: {weight}
  routes:
  - name: direct
    matchers: [{{uri: {{prefix: /d{i}}}}}]
    directResponseAction: {{status: 200, body: "{body}"}}
  - name: forward
    matchers: [{{uri: {{prefix: /f{i}}}}}]
    routeAction: {{destinations: [{{kubeService: {{name: {service}, namespace: big}}}}]}}
"""


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
    st.tuples(st.just("discovery"), st.sampled_from([("app0",), ("app0", "app1"), ()])),
)


def encoded(translator: Translator) -> list[bytes]:
    resources = translator.node_resources(NodeInfo("n", "gateway"))
    return [codec.encode(r) for r in resources.routes] + [codec.encode(c) for c in resources.clusters]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(EDITS, min_size=1, max_size=8))
def test_memo_translation_equals_a_fresh_one(tmp_path_factory: Any, edits: list[tuple[Any, ...]]) -> None:
    directory: Path = tmp_path_factory.mktemp("config")
    state: dict[str, Any] = {"tables": {i: ["v", "app0", i] for i in range(3)}, "services": ("app0", "app1")}
    source = FileSource([directory])
    routing, memo, clusters = IncrementalRouting(), RouteMemo(), ClusterMemo()
    for edit in [("start",), *edits]:
        if edit[0] == "body":
            state["tables"][edit[1]][0] = edit[2]
        elif edit[0] == "service":
            state["tables"][edit[1]][1] = edit[2]
        elif edit[0] == "weight":
            state["tables"][edit[1]][2] = edit[2]
        elif edit[0] == "discovery":
            state["services"] = edit[1]
        (directory / "head.yaml").write_text(HEAD)
        (directory / "discovery.yaml").write_text(discovery(list(state["services"])))
        for i, (body, service, weight) in state["tables"].items():
            text = table(i, body, service, weight)
            path = directory / f"t{i}.yaml"
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
        source.load()
        snapshot = Snapshot(*source.snapshot_parts())
        memo.sweep()
        clusters.sweep()
        with_memo = Translator(snapshot, view=routing.build(snapshot), memo=clusters, route_memo=memo)
        assert encoded(with_memo) == encoded(Translator(snapshot))


def test_an_unchanged_route_is_not_translated_again(tmp_path: Path) -> None:
    (tmp_path / "head.yaml").write_text(HEAD)
    (tmp_path / "discovery.yaml").write_text(discovery(["app0"]))
    for i in range(3):
        (tmp_path / f"t{i}.yaml").write_text(table(i, "v", "app0", i))
    source = FileSource([tmp_path])
    routing, memo = IncrementalRouting(), RouteMemo()

    def translate() -> list[bytes]:
        source.load()
        snapshot = Snapshot(*source.snapshot_parts())
        memo.sweep()
        return encoded(Translator(snapshot, view=routing.build(snapshot), route_memo=memo))

    translate()
    assert (memo.translated, memo.reused) == (6, 0)
    (tmp_path / "t1.yaml").write_text(table(1, "changed", "app0", 1))
    after = translate()
    # t1's file was re-read: its direct route changed and is translated again; its forward route is new objects
    # equal to the old ones and reused, as are the other four
    assert (memo.translated, memo.reused) == (7, 5)
    assert any(b"changed" in route_config for route_config in after)


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
