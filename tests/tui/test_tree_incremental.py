"""A reload updates the route tree in place: the edited route shows its new text, what the operator opened stays
open, the cursor stays on its node, and nodes of unchanged parts are the same nodes (not rebuilt)."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from meshctl.sources.files import FileSource
from meshctl.sources.workspace import Workspace
from meshctl.tui.app import MeshctlApp
from meshctl.tui.widgets.route_tree import PAGE, RouteTree, node_key
from tests.routing.test_incremental import apply, initial, write

from .conftest import SIZE, loaded

GW = "gloo-mesh/gw"
VH = "gloo-mesh/vh"
EDITED = "VirtualHost/gloo-mesh/vh#by-label > RouteTable/gloo-mesh/t3#r1"  # t3 is selected by label
ELSEWHERE = "VirtualHost/gloo-mesh/vh#by-ref > RouteTable/gloo-mesh/t0#r2"  # t0 is named by ref


@pytest.fixture
def tables(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    directory = tmp_path / "config"
    directory.mkdir()
    state = initial()
    write(directory, state)
    return directory, state


@asynccontextmanager
async def running(directory: Path, tmp_path: Path) -> AsyncIterator[tuple[Any, MeshctlApp, RouteTree]]:
    """The console over `directory`, loaded: (pilot, app, route tree)."""
    app = MeshctlApp(Workspace([FileSource([directory])]), watch=False, tests_file=tmp_path / "tests.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        yield pilot, app, app.main_query(RouteTree)


async def reload(pilot: Any, app: MeshctlApp, directory: Path, state: dict[str, Any],
                 edit: tuple[Any, ...]) -> None:
    updates = app.model_updates
    apply(state, edit)
    write(directory, state)
    await asyncio.to_thread(app.reload_sources_blocking)
    await loaded(pilot, app, updates=updates + 1)
    await pilot.pause(0.1)


def node_of(tree: RouteTree, route_id: str) -> Any:
    return tree.route_nodes.get((GW, VH, route_id))


async def open_both(pilot: Any, tree: RouteTree) -> Any:
    """The edited route's table and one elsewhere opened; the cursor on the route elsewhere."""
    assert tree.reveal(GW, VH, EDITED)
    assert tree.reveal(GW, VH, ELSEWHERE)
    await pilot.pause(0.1)
    cursor = tree.cursor_node
    assert cursor is node_of(tree, ELSEWHERE)
    return cursor


async def test_a_one_route_edit_shows_the_new_route_and_keeps_expansion_and_cursor(
        tables: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    directory, state = tables
    async with running(directory, tmp_path) as (pilot, app, tree):
        cursor = await open_both(pilot, tree)
        by_ref = cursor.parent.parent  # delegate → table → route
        line = tree.cursor_line
        assert "'one'" in str(node_of(tree, EDITED).label)
        await reload(pilot, app, directory, state, ("body", 3, 0, "edited"))
        assert "'edited'" in str(node_of(tree, EDITED).label)  # the new route, without re-opening anything
        assert node_of(tree, EDITED).line >= 0  # on a line of the tree: its table is still expanded
        assert by_ref.is_expanded and cursor.parent.is_expanded  # elsewhere: still open...
        assert tree.cursor_node is cursor and tree.cursor_line == line  # ...and the cursor where it was
        assert node_of(tree, ELSEWHERE) is cursor  # the same node: unchanged parts are not rebuilt
        assert app.main_query("RoutesPane").query_one("#route-summary").render().plain.startswith(ELSEWHERE)


async def test_a_renamed_route_rebuilds_only_its_table_and_the_rest_stays(
        tables: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    directory, state = tables
    async with running(directory, tmp_path) as (pilot, app, tree):
        cursor = await open_both(pilot, tree)
        t3 = node_of(tree, EDITED).parent
        await reload(pilot, app, directory, state, ("name", 3, 0, "renamed"))  # a new route id in t3
        renamed = node_of(tree, EDITED.replace("#r1", "#renamed"))
        assert renamed is not None and renamed.line >= 0 and node_of(tree, EDITED) is None
        assert renamed.parent is t3 and t3.is_expanded  # t3's children were rebuilt, t3 itself kept
        assert tree.cursor_node is cursor is node_of(tree, ELSEWHERE)


async def test_the_cursor_follows_its_route_when_its_node_is_rebuilt(
        tables: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    directory, state = tables
    async with running(directory, tmp_path) as (pilot, app, tree):
        assert tree.reveal(GW, VH, EDITED.replace("#r1", "#r2"))
        await pilot.pause(0.1)
        await reload(pilot, app, directory, state, ("name", 3, 0, "renamed"))  # r2's siblings changed
        assert tree.cursor_node is node_of(tree, EDITED.replace("#r1", "#r2"))
        # t3 (weight 3) moves behind t1 (weight 1) under by-label: that delegate's tables are rebuilt, what was open kept
        table = tree.cursor_node.parent
        await reload(pilot, app, directory, state, ("weight", 3, -1))
        assert tree.cursor_node is node_of(tree, EDITED.replace("#r1", "#r2"))
        assert tree.cursor_node.parent is not table and tree.cursor_node.parent.is_expanded
        assert tree.cursor_node.parent.parent.children[-1] is tree.cursor_node.parent  # now last


def shown(tree: RouteTree) -> list[tuple[Any, ...]]:
    """Every node as drawn: depth, key, label (text and styles), expanded."""
    out: list[tuple[Any, ...]] = []

    def walk(node: Any, depth: int) -> None:
        for child in node.children:
            out.append((depth, node_key(child.data), child.label.plain, child.label.spans, child.is_expanded))
            walk(child, depth + 1)
    walk(tree.root, 0)
    return out


EDITS = [("body", 3, 0, "b"), ("prefix", 1, 1, "/q"), ("name", 0, 0, "7"), ("weight", 1, 5), ("label", 4, "a"),
         ("nested", 1, False), ("remove", 2), ("add", 2), ("vh_prefix", "/p"), ("vh_sort", "ROUTE_SPECIFICITY"),
         ("vh_refs", ["t1", "t9"]), ("prefix", 3, 0, "/p1")]


async def test_the_updated_tree_is_the_tree_a_rebuild_draws(tables: tuple[Path, dict[str, Any]],
                                                             tmp_path: Path) -> None:
    directory, state = tables
    async with running(directory, tmp_path) as (pilot, app, tree):
        for edit in EDITS:
            tree.expand_all_loaded()
            await reload(pilot, app, directory, state, edit)
            updated = shown(tree)
            tree._labels = {}
            tree.show(tree.model, tree.gateway)  # the same model: rebuilt from scratch, keeping what is open
            assert updated == shown(tree), edit


def many_routes(count: int, body: str) -> str:
    routes = "".join(f"  - name: m{i}\n    matchers: [{{uri: {{prefix: /m{i}}}}}]\n"
                     f"    directResponseAction: {{status: 200, body: \"{body if i == 5 else 'same'}\"}}\n"
                     for i in range(count))
    return ("apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1\nkind: VirtualHost\n"
            "metadata: {name: many, namespace: gloo-mesh}\nspec:\n  domains: [many.example.com]\n  routes:\n" + routes)


async def test_an_update_keeps_the_loaded_pages(tables: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    directory, _ = tables
    many = directory / "many.yaml"
    many.write_text(many_routes(250, "before"))
    async with running(directory, tmp_path) as (pilot, app, tree):
        node = next(n for n in tree.root.children if n.data.vhost == "gloo-mesh/many")
        assert tree.reveal(GW, "gloo-mesh/many", "VirtualHost/gloo-mesh/many#m5")
        assert len(node.children) == PAGE + 1  # a page, then "… 150 more"
        tree.load_more(node.children[-1])
        assert len(node.children) == 2 * PAGE + 1
        updates = app.model_updates
        many.write_text(many_routes(250, "after"))
        await asyncio.to_thread(app.reload_sources_blocking)
        await loaded(pilot, app, updates=updates + 1)
        assert len(node.children) == 2 * PAGE + 1 and "50 more" in str(node.children[-1].label)
        assert "'after'" in str(tree.route_nodes[(GW, "gloo-mesh/many", "VirtualHost/gloo-mesh/many#m5")].label)
        assert tree.cursor_node is tree.route_nodes[(GW, "gloo-mesh/many", "VirtualHost/gloo-mesh/many#m5")]
