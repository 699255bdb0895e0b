"""The route tree rebuilt per keystroke: reused labels are the labels it would build, widths are what it draws."""

from __future__ import annotations

from textual.widgets import Tree

from meshctl.tui.widgets.route_tree import RouteData, RouteTree

from .conftest import SIZE, loaded


def all_nodes(tree: RouteTree) -> list:  # type: ignore[type-arg]
    out, stack = [], [tree.root]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(node.children)
    return out


def fresh_labels(tree: RouteTree) -> dict[tuple[str, str, str], tuple[str, list]]:  # type: ignore[type-arg]
    """Each route node's label built anew (not from the cache): text and styles."""
    assert tree.model is not None
    out = {}
    for key, node in tree.route_nodes.items():
        data = node.data
        assert isinstance(data, RouteData)
        label = tree._route_label(data, tree.model.route(*key), data.source)
        out[key] = (label.plain, label.spans)
    return out


def shown_labels(tree: RouteTree) -> dict[tuple[str, str, str], tuple[str, list]]:  # type: ignore[type-arg]
    return {key: (node.label.plain, node.label.spans) for key, node in tree.route_nodes.items()}


async def test_reused_labels_and_widths_match_a_fresh_build(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        tree = app.main_query(RouteTree)
        tree.expand_all_loaded()
        await pilot.press("slash")
        for query in ["r", "re", "rev", "re", "", "v1", ""]:  # narrowing and widening reuse cached labels
            app.main_query("#filter").value = query
            await pilot.pause(0.05)
            assert tree.route_nodes
            assert shown_labels(tree) == fresh_labels(tree)
            for node in all_nodes(tree):  # the cheap width is the width Textual's own measure gives
                assert tree.get_label_width(node) == Tree.get_label_width(tree, node)
        # the matched route's marker follows the matched key, also through the cache
        key = next(iter(tree.route_nodes))
        tree.set_matched(key)
        app.main_query("#filter").value = "r"
        await pilot.pause(0.05)
        assert tree.route_nodes[key].label.plain.startswith("▶ ")
        assert shown_labels(tree) == fresh_labels(tree)
        tree.set_matched(None)
        app.main_query("#filter").value = "re"
        await pilot.pause(0.05)
        assert not tree.route_nodes[key].label.plain.startswith("▶ ")
        # Envoy order labels differ from tree labels (owner shown): not mixed up by the cache
        app.main_query("#filter").value = ""
        await pilot.pause(0.05)
        tree.show(tree.model, tree.gateway, mode="envoy")
        await pilot.pause(0.05)
        assert shown_labels(tree) == fresh_labels(tree)


async def test_bulk_rebuild_draws_every_line(make_app) -> None:
    """Nodes added in a batch still reach the screen: line index and rendered lines include them."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        tree = app.main_query(RouteTree)
        await pilot.press("slash", *"rev")
        await pilot.pause(0.1)
        lines = tree._tree_lines
        assert len(lines) == tree.last_line + 1 == 1 + len(tree.root.children) + sum(
            len(v.children) for v in tree.root.children if v.is_expanded)
        drawn = "\n".join(strip.text for strip in tree.render_lines(tree.region.reset_offset))
        for node in list(tree.route_nodes.values())[:5]:
            assert node.label.plain.strip()[:20] in drawn


async def test_filter_box_edits_rebuild_the_tree_in_the_same_step(make_app) -> None:
    """The tree follows the box without waiting for a message round (one frame shows both)."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        tree = app.main_query(RouteTree)
        box = app.main_query("#filter")
        box.value = "name:v1"
        assert tree.filter_text == "name:v1" and tree.shown_matches == 2  # no pause: applied synchronously
        assert {d.route_id.rsplit("#", 1)[1] for d in (n.data for n in tree.route_nodes.values())} == {
            "v1", "v1-version"}
        app.main_query("RoutesPane").action_clear_filter()
        assert tree.filter_text == "" and box.value == ""
