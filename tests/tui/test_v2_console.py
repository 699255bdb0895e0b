"""The console on Gloo v2 files: the route tree shows each gateway listener's hosts and their routes, and the
editing core (check, preview of changed routes and outcomes, atomic write) works on v2 RouteTables."""

from __future__ import annotations

import shutil
from pathlib import Path

from meshctl.model.snapshot import load_snapshot
from meshctl.routing.diff import changed_outcomes, diff_views
from meshctl.routing.evaluate import Request
from meshctl.routing.view import build_routing_view
from meshctl.sources.files import FileSource
from meshctl.sources.workspace import Workspace
from meshctl.tui.app import MeshctlApp
from meshctl.tui.editing import atomic_write, check_text, preview_edit
from meshctl.tui.widgets.route_tree import RouteTree, VhostData

from .conftest import SIZE, loaded

STEP = Path(__file__).resolve().parents[2] / "docs/examples/004-advanced-routing-v2/07-route-specificity"


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "v2"
    shutil.copytree(STEP, target)
    return target


async def test_tree_shows_the_v2_gateway_hosts_and_routes(tmp_path: Path) -> None:
    app = MeshctlApp(Workspace([FileSource([_copy(tmp_path)], interval=0.1)]), watch=False,
                     tests_file=tmp_path / "tests.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        tree = app.main_query(RouteTree)
        assert tree.gateway == "gloo-mesh/demo-gateway"
        assert "listener 0, port 8080" in str(tree.root.label)
        vhosts = [n for n in tree.root.children if isinstance(n.data, VhostData)]
        assert [n.data.vhost for n in vhosts] == ["www.example.com"]
        assert str(vhosts[0].label).startswith("host www.example.com  root RouteTable gloo-mesh/")
        text = "\n".join(str(n.label) for n in vhosts[0].children)
        assert "ratings" in text and "ROUTE_SPECIFICITY" in text


def test_editing_core_previews_and_applies_a_v2_change(tmp_path: Path) -> None:
    config = _copy(tmp_path)
    snapshot = load_snapshot([config])
    view = build_routing_view(snapshot)
    gateway = config / "gateway.yaml"
    edited = gateway.read_text().replace("sortMethod: ROUTE_SPECIFICITY", "sortMethod: TABLE_WEIGHT", 1)
    check = check_text(snapshot, str(gateway), edited)
    assert check.ok and check.snapshot is not None
    new_view = build_routing_view(check.snapshot)
    assert {"v1", "v2", "v1-version"} <= {c.name for c in diff_views(view, new_view) if c.kind == "moved"}
    (change,) = changed_outcomes(view, new_view, [Request("GET", "www.example.com", "/reviews/v1/version")])
    assert change.old_route.endswith("#v1-version") and change.new_route.endswith("demo-routetable#v1")
    preview = preview_edit(snapshot, view, str(gateway), edited, [])
    assert preview.route_changes
    bad = gateway.read_text().replace("hosts:\n  - www.example.com", "hosts:\n  - '*'", 1)
    assert not check_text(snapshot, str(gateway), bad).ok  # a v2 constraint blocks the apply
    atomic_write(gateway, edited)
    assert "TABLE_WEIGHT" in gateway.read_text()
    reloaded = build_routing_view(load_snapshot([config]))
    names = [r.name for r in reloaded.gateways[0].virtual_hosts[0].routes]
    assert names.index("v1") < names.index("v1-version")


async def test_keyboard_edit_of_a_v2_route_table_previews_and_applies(tmp_path: Path) -> None:
    """The operator's path on v2 files: filter to a route, `e` opens its RouteTable at the route, the edit is
    checked, ctrl+s shows the preview (which route changed, which request now goes elsewhere), ctrl+s writes."""
    from meshctl.tui.sandbox_adapter import RequestStore, SandboxRequest
    from meshctl.tui.screens.editor import PreviewScreen

    from .conftest import wait_until
    from .test_editor import open_ratings_editor, replace_text

    config = _copy(tmp_path)
    gateway = config / "gateway.yaml"
    original = gateway.read_text()
    store = RequestStore()
    store.save(SandboxRequest("GET", "http://www.example.com/ratings/7"))
    app = MeshctlApp(Workspace([FileSource([config], interval=0.1)]), watch=False,
                     tests_file=tmp_path / "tests.yaml", request_store=store)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        screen = await open_ratings_editor(app, pilot)
        assert screen.path == str(gateway) and screen.check is not None and screen.check.ok
        row = screen.area.cursor_location[0]
        assert "prefix: /ratings" in "\n".join(screen.area.document.lines[row:row + 4])  # opened at the route
        edited = original.replace("        prefix: /ratings\n", "        prefix: /stars\n", 1)
        replace_text(screen, edited)
        await wait_until(pilot, lambda: screen.check is not None and screen.check.ok and screen.area.text == edited,
                         what="valid")
        await pilot.press("ctrl+s")
        preview = await wait_until(pilot, lambda: app.screen if isinstance(app.screen, PreviewScreen) else None,
                                   what="preview")
        assert any(c.name == "ratings" and "/stars" in c.detail for c in preview.preview.route_changes)
        moved = [o for o in preview.preview.outcome_changes if o.request.path == "/ratings/7"]
        assert moved and "ratings" in moved[0].old and "no route" in moved[0].new
        updates = app.model_updates
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: gateway.read_text() == edited, what="file written")
        await wait_until(pilot, lambda: app.model_updates > updates, what="reload")
        route = next(r for _, _, r in app.model.view.all_routes() if r.name == "ratings")
        assert route.describe_match() == "prefix /stars"


async def test_workspaces_view(tmp_path: Path) -> None:
    from textual.widgets import Static

    from meshctl.tui.screens.workspaces import WorkspacesScreen

    example_c = Path(__file__).resolve().parents[1] / "v2" / "data" / "reference-c.yaml"
    target = tmp_path / "c"
    target.mkdir()
    shutil.copy(example_c, target / "c.yaml")
    app = MeshctlApp(Workspace([FileSource([target], interval=0.1)]), watch=False, tests_file=tmp_path / "tests.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        app.action_show_workspaces()
        await pilot.pause()
        assert isinstance(app.screen, WorkspacesScreen)
        body = str(app.screen.query_one("#workspaces-body", Static).render())
        assert "Workspace team-b" in body and "imports (1): ExternalService/team-a/db" in body
        assert "external-service-address-conflict" in body
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, WorkspacesScreen)
