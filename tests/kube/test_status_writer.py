"""The status writer on its own: conflicts are retried while the generation holds, left alone when the spec
moved on; it writes nothing twice and nothing when not leader."""

from __future__ import annotations

from pathlib import Path

from meshctl.controlplane.status_writer import StatusWriter
from meshctl.sources.kube import KubeSource
from meshctl.sources.workspace import Workspace

from .fakeapi import FakeApiServer
from .objects import GLOO_ENTERPRISE, route_table


def _writer(kubeconfig_path: Path, closing, leader: list[bool]) -> tuple[StatusWriter, list[str]]:
    source = KubeSource("east", kubeconfig=str(kubeconfig_path))
    workspace = closing(Workspace([source]).load())  # loaded once, not watching: the snapshot stays as listed
    results: list[str] = []
    writer = StatusWriter(workspace, [source], lambda: leader[0], on_write=lambda r, _w: results.append(r),
                          backoff_base=0.01)
    return writer, results


def _status(east: FakeApiServer, name: str) -> dict:
    return (east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", name) or {}).get("status") or {}


def test_a_conflict_is_retried_while_the_generation_holds(kubeconfig_path: Path, east: FakeApiServer,
                                                          closing) -> None:
    east.create(route_table("rt", "bookinfo"))
    writer, results = _writer(kubeconfig_path, closing, [True])
    relabelled = east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "rt")
    relabelled["metadata"]["labels"] = {"team": "x"}  # a new resourceVersion, the same generation
    east.update(relabelled)
    assert writer.sync()
    assert results == ["conflict", "written"]
    assert _status(east, "rt") == {"state": "WARNING", "observedGeneration": 1,
                                   "message": _status(east, "rt")["message"]}
    assert writer.sync() and results == ["conflict", "written"]  # nothing twice, though the snapshot is behind


def test_a_conflict_after_a_spec_change_is_left_to_the_next_snapshot(kubeconfig_path: Path, east: FakeApiServer,
                                                                     closing) -> None:
    east.create(route_table("rt", "bookinfo"))
    writer, results = _writer(kubeconfig_path, closing, [True])
    changed = east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "rt")
    changed["spec"]["weight"] = 7
    east.update(changed)
    assert writer.sync()
    assert results == ["conflict"] and _status(east, "rt") == {}  # no status for a generation it has not seen


def test_not_leader_writes_nothing(kubeconfig_path: Path, east: FakeApiServer, closing) -> None:
    east.create(route_table("rt", "bookinfo"))
    leader = [False]
    writer, results = _writer(kubeconfig_path, closing, leader)
    assert writer.sync() and results == [] and _status(east, "rt") == {}
    leader[0] = True
    assert writer.sync() and results == ["written"]
