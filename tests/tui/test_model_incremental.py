"""The console model built incrementally (ModelBuilder) equals a fresh build_model after every edit, and reuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshctl.model.snapshot import Snapshot
from meshctl.routing.incremental import IncrementalRouting
from meshctl.sources.files import FileSource
from meshctl.tui.state import ConsoleModel, ModelBuilder, build_model
from tests.routing.test_incremental import EDITS, IDX, ROUTE, apply, edited_snapshots, initial, snapshot_of, write

# besides the routing edits: a path without its leading slash (a validation warning of the table's own)
MODEL_EDITS = st.one_of(EDITS, st.tuples(st.just("prefix"), IDX, ROUTE, st.just("no-slash")))


def assert_same_model(got: ConsoleModel, want: ConsoleModel) -> None:
    assert got.view is want.view and got.version == want.version
    assert got.findings == want.findings
    assert got.by_route == want.by_route
    assert [(e.gateway, e.vhost, e.everything, e.starts) for e in got.entries] == [
        (e.gateway, e.vhost, e.everything, e.starts) for e in want.entries]
    assert all(a.route is b.route for a, b in zip(got.entries, want.entries, strict=True))
    assert got.hosts.keys() == want.hosts.keys()
    for key, part in got.hosts.items():
        fresh = want.hosts[key]
        assert part.view is fresh.view and part.gateway == fresh.gateway
        assert {i: e.route for i, e in part.by_id.items()} == {i: e.route for i, e in fresh.by_id.items()}
        assert [e.route for e in part.entries] == [e.route for e in fresh.entries]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(MODEL_EDITS, min_size=1, max_size=8))
def test_incremental_model_equals_a_fresh_build_after_every_edit(tmp_path_factory: Any,
                                                                  edits: list[tuple[Any, ...]]) -> None:
    routing, models = IncrementalRouting(), ModelBuilder()
    for version, snapshot in enumerate(edited_snapshots(tmp_path_factory.mktemp("config"), edits), start=1):
        view = routing.build(snapshot)
        assert_same_model(models.build(snapshot, version, view), build_model(snapshot, version, view))


def test_a_one_route_edit_rebuilds_only_that_tables_rows(tmp_path: Path) -> None:
    state = initial()
    write(tmp_path, state)
    source = FileSource([tmp_path])
    routing, models = IncrementalRouting(), ModelBuilder()
    first = models.build(snapshot := snapshot_of(source), 1, routing.build(snapshot))
    assert models.last_stats["entries_reused"] == 0
    assert models._validation.stats["reused"] == 0
    apply(state, ("body", 3, 0, "changed"))
    write(tmp_path, state)
    snapshot = snapshot_of(source)
    view = routing.build(snapshot)
    model = models.build(snapshot, 2, view)
    assert_same_model(model, build_model(snapshot, 2, view))
    stats = models.last_stats
    t3 = [e for e in model.entries if "routetable/gloo-mesh/t3#" in e.everything]
    v2 = [e for e in model.entries if e.vhost != "gloo-mesh/vh"]
    # the re-read table's routes (its file was parsed anew): nothing else. The v2 gateway's host is the routing
    # view's same object, so its part is kept whole and its rows are not counted
    assert t3 and v2 and stats["entries_built"] == len(t3) and stats["hosts_reused"] == 1
    assert stats["entries_reused"] == len(model.entries) - len(t3) - len(v2) > 0
    assert models._validation.stats["checked"] == 1  # t3; the VirtualHost names t0 and t9 only, not t3
    changed = next(e for e in model.entries if e.route.id.endswith("t3#r1"))
    assert "'changed'" in changed.field("dest")
    old_ids = {id(e) for e in first.entries}
    assert not any(id(e) in old_ids for e in model.entries if e.vhost == "gloo-mesh/vh")  # new rows: new routes


def demo_snapshot(source: FileSource) -> Snapshot:
    source.load()
    return Snapshot(*source.snapshot_parts())


def test_an_unchanged_virtual_host_keeps_its_rows_whole(config_dir: Path) -> None:
    source = FileSource([config_dir])
    routing, models = IncrementalRouting(), ModelBuilder()
    snapshot = demo_snapshot(source)
    before = models.build(snapshot, 1, routing.build(snapshot))
    failover = config_dir / "failover.yaml"  # the reviews-global VirtualHost; demo-virtualhost is elsewhere
    failover.write_text(failover.read_text().replace("  - reviews.global\n", "  - reviews.everywhere\n"))
    snapshot = demo_snapshot(source)
    view = routing.build(snapshot)
    after = models.build(snapshot, 2, view)
    assert_same_model(after, build_model(snapshot, 2, view))
    kept, rebuilt = "gloo-mesh/demo-virtualhost", "gloo-mesh/reviews-global"
    gateway = "gloo-mesh/demo-gateway"
    assert after.hosts[(gateway, kept)] is before.hosts[(gateway, kept)]
    assert after.hosts[(gateway, rebuilt)] is not before.hosts[(gateway, rebuilt)]
    assert models.last_stats["hosts_reused"] == 1 and models.last_stats["hosts_built"] == 1
