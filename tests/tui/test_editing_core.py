"""UI-free editing logic: route-tree diff, requests whose route changes, text checks, atomic write and undo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from meshctl.model.snapshot import load_snapshot
from meshctl.routing.diff import changed_outcomes, diff_views, outcome
from meshctl.routing.evaluate import Request
from meshctl.routing.hosts import select_virtual_host
from meshctl.routing.view import build_routing_view
from meshctl.tui.editing import WriteError, atomic_write, check_text, preview_edit, undo


def test_outcome_and_trace(config_dir: Path) -> None:
    view = build_routing_view(load_snapshot([config_dir]))
    gw = view.gateways[0]
    assert select_virtual_host(gw.virtual_hosts, "reviews.global").virtual_host.name == "gloo-mesh/reviews-global"
    result = outcome(gw, Request("GET", "www.example.com", "/reviews/v2/version"))
    assert result.route is not None and result.route.name == "v2-version"
    assert [s.failure is None for s in result.trace] == [False, False, True]
    assert "exact /reviews/v1/version does not match" in (result.trace[1].failure or "")
    nothing = outcome(gw, Request("GET", "unknown.example", "/"))
    assert nothing.virtual_host is None and "no domain" in nothing.reason


def test_diff_and_changed_outcomes(config_dir: Path) -> None:
    old_snapshot = load_snapshot([config_dir])
    gateway = config_dir / "gateway.yaml"
    text = gateway.read_text()
    # TABLE_WEIGHT instead of ROUTE_SPECIFICITY: demo-routetable (weight 10) now shadows the /version routes
    edited = text.replace("sortMethod: ROUTE_SPECIFICITY", "sortMethod: TABLE_WEIGHT", 1)
    assert edited != text
    check = check_text(old_snapshot, str(gateway), edited)
    assert check.ok and check.snapshot is not None
    old_view, new_view = build_routing_view(old_snapshot), build_routing_view(check.snapshot)
    changes = diff_views(old_view, new_view)
    moved = {c.name for c in changes if c.kind == "moved"}
    assert {"v1", "v2", "v1-version"} <= moved
    probe = Request("GET", "www.example.com", "/reviews/v1/version")
    (change,) = changed_outcomes(old_view, new_view, [probe, Request("GET", "www.example.com", "/ratings")])
    assert change.old_route and change.old_route.endswith("#v1-version")
    assert change.new_route and change.new_route.endswith("demo-routetable#v1")
    assert diff_views(old_view, old_view) == []


def test_preview_edit_uses_saved_requests_and_samples(config_dir: Path) -> None:
    snapshot = load_snapshot([config_dir])
    view = build_routing_view(snapshot)
    gateway = config_dir / "gateway.yaml"
    edited = gateway.read_text().replace("prefix: /ratings", "prefix: /stars", 1)
    preview = preview_edit(snapshot, view, str(gateway), edited, [Request("GET", "www.example.com", "/ratings/9")])
    assert any(c.kind == "changed" and c.name == "ratings" for c in preview.route_changes)
    paths = {o.request.path for o in preview.outcome_changes}
    assert "/ratings/9" in paths  # the saved request
    assert "/stars" in paths  # a sample of the new route, previously going elsewhere
    assert preview.probes >= 8


def test_check_text_reports_errors_in_this_file_only(config_dir: Path, tmp_path: Path) -> None:
    snapshot = load_snapshot([config_dir])
    path = str(config_dir / "gateway.yaml")
    check = check_text(snapshot, path, "kind: [unclosed\n")
    assert not check.ok and check.snapshot is None and check.errors[0].code == "yaml-syntax"
    text = (config_dir / "gateway.yaml").read_text().replace("status: 404", "status: 999", 1)
    check = check_text(snapshot, path, text)
    assert not check.ok and {f.code for f in check.errors} == {"bad-status"}
    assert all(f.file == path for f in check.findings)
    line = text.splitlines().index(next(ln for ln in text.splitlines() if "999" in ln)) + 1
    assert abs(next(iter(check.error_lines())) - line) <= 1


def test_atomic_write_backup_and_undo(tmp_path: Path) -> None:
    target = tmp_path / "a.yaml"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    edit = atomic_write(target, "new\n")
    assert target.read_text() == "new\n" and oct(target.stat().st_mode & 0o777) == "0o640"
    assert Path(edit.backup_path or "").read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    undo(edit)
    assert target.read_text() == "old\n"
    created = atomic_write(tmp_path / "b.yaml", "x: 1\n")
    assert created.previous_text is None
    undo(created)
    assert not (tmp_path / "b.yaml").exists()
    with pytest.raises(WriteError, match="cannot write"):
        atomic_write(tmp_path / "missing-dir" / "c.yaml", "x\n")


def test_incremental_filter_matches_full_scan(config_dir: Path) -> None:
    from meshctl.tui.state import RouteFilter, build_model, filter_entries, is_narrower, parse_query

    snapshot = load_snapshot([config_dir])
    model = build_model(snapshot, 1)
    f = RouteFilter()
    typed = ["r", "re", "rev", "revi", "reviews/v", "reviews/v1", "reviews/v", "path:", "path:/", "path:/rev",
             "path:/rev name:v", "path:/rev name:v2", "dest:", "dest:rat", ""]
    for q in typed:  # narrowing and widening, with and without fields
        assert [e.route.id for e in f.run(model, None, q)] == [e.route.id for e in filter_entries(model.entries, q)]
    assert is_narrower(parse_query("re"), parse_query("rev x"))
    assert not is_narrower(parse_query("path:"), parse_query("path:/"))


def test_filter_fields_are_spans_of_one_search_text(config_dir: Path) -> None:
    from meshctl.routing.actions import describe_action
    from meshctl.tui.state import FILTER_FIELDS, build_model, filter_entries

    model = build_model(load_snapshot([config_dir]), 1)
    assert model.entries
    for e in model.entries:
        r = e.route
        assert e.field("path") == " ".join(m.path for m in r.matchers).lower()
        assert e.field("name") == f"{r.name} {r.id}".lower()
        assert e.field("owner") == " ".join(link.owner for link in r.chain).lower()
        assert e.everything == " ".join([*(e.field(k) for k in FILTER_FIELDS), r.describe_match().lower()])
        # the action's arrow is stored folded (1-byte text) but is still found as typed
        assert filter_entries([e], f"dest:{describe_action(r).split()[0]}") == [e]
    assert all(e.everything.isascii() for e in model.entries)  # the demo is ASCII but for the arrows
    forwarded = [e for e in model.entries if describe_action(e.route).startswith("→")]
    assert forwarded and filter_entries(model.entries, "→") == forwarded
    # a keyed term matches only inside its field: a route id never matches as a path
    some = model.entries[0]
    owner_word = some.field("owner").split()[0]
    assert some in filter_entries(model.entries, f"owner:{owner_word}")
    assert all(owner_word in e.field("path") for e in filter_entries(model.entries, f"path:{owner_word}"))
