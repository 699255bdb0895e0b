"""Route tree: gateways, lazy expansion, filtering, detail, Envoy order, markers from lint."""

from __future__ import annotations

from pathlib import Path

from meshctl.tui.widgets.route_tree import PAGE, RouteData, RouteTree, VhostData

from .conftest import SIZE, loaded, wait_until

SHADOWING_TABLE = """\
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualHost
metadata: {name: shadow-vh, namespace: gloo-mesh}
spec:
  domains: [shadow.example.com]
  routes:
  - name: catch-all
    matchers: [{uri: {prefix: /}}]
    directResponseAction: {status: 200, body: all}
  - name: never
    matchers: [{uri: {prefix: /api}}]
    directResponseAction: {status: 200, body: api}
"""


def labels(tree: RouteTree) -> list[str]:
    out = []

    def walk(node) -> None:  # type: ignore[no-untyped-def]
        out.append(str(node.label))
        for child in node.children:
            walk(child)
    walk(tree.root)
    return out


async def test_tree_shows_gateway_vhosts_and_lazy_delegation(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        tree = app.main_query(RouteTree)
        assert tree.gateway == "gloo-mesh/demo-gateway"
        vhosts = [n for n in tree.root.children if isinstance(n.data, VhostData)]
        assert [n.data.vhost for n in vhosts] == ["gloo-mesh/demo-virtualhost", "gloo-mesh/reviews-global"]
        text = "\n".join(labels(tree))
        assert "[0] ratings" in text and "delegate, sorted by ROUTE_SPECIFICITY" in text
        # delegated routes are not built until their delegate is expanded
        assert "v1-version" not in text
        assert "reviews-misc-rt" not in text
        delegate = next(n for n in vhosts[0].children if "reviews" in str(n.label) and n.allow_expand)
        delegate.expand()
        await pilot.pause(0.1)
        table = next(n for n in delegate.children if "reviews-misc-rt" in str(n.label))
        table.expand()
        await pilot.pause(0.1)
        routes = [str(n.label) for n in table.children]
        assert any("[1]" in r and "v1-version" in r and "exact /reviews/v1/version" in r for r in routes)
        assert any("(route specificity)" in r for r in routes)


async def test_filter_by_path_name_destination_and_label(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        tree = app.main_query(RouteTree)
        await pilot.press("slash", *"path:/reviews/v2")
        await pilot.pause(0.1)
        assert tree.shown_matches == 2  # v2 prefix and the exact v2/version
        leaves = [n.data for n in tree.route_nodes.values()]
        assert {d.route_id.rsplit("#", 1)[1] for d in leaves} == {"v2", "v2-version"}
        filt = app.main_query("#filter")
        filt.value = "dest:ratings"
        await pilot.pause(0.1)
        assert tree.shown_matches == 1
        filt.value = "label:service=reviews"  # labels of the owning RouteTable count
        await pilot.pause(0.1)
        assert tree.shown_matches == 3
        filt.value = "name:nothing-like-this"
        await pilot.pause(0.1)
        assert tree.shown_matches == 0 and not tree.route_nodes
        await pilot.press("escape")  # input keeps focus: escape goes to the pane's clear_filter
        await pilot.pause(0.1)
        assert tree.filter_text == "" and "[0] ratings" in "\n".join(labels(tree))


async def test_enter_opens_detail_with_yaml_and_provenance(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        tree = app.main_query(RouteTree)
        await pilot.press("slash", *"name:not-found", "enter")
        await pilot.pause(0.1)
        node = next(iter(tree.route_nodes.values()))
        tree.move_cursor(node)
        await pilot.press("enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RouteDetailScreen", what="detail screen")
        screen = app.screen
        info = str(screen.query_one("#detail-info").render())
        assert "RouteTable/gloo-mesh/reviews-misc-rt#not-found" in info
        assert "VirtualHost/gloo-mesh/demo-virtualhost#reviews" in info  # provenance chain
        assert "Envoy position  [5]" in info
        area = screen.query_one("#detail-yaml")
        assert "name: not-found" in area.text
        focused_lines = [i for i, m in area.marks.items() if m == "meshctl.focus"]
        assert focused_lines and "not-found" in "\n".join(area.document.lines[i] for i in focused_lines)
        await pilot.press("escape")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "MainScreen", what="back to main")


async def test_envoy_order_toggle_lists_flat_routes(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        tree = app.main_query(RouteTree)
        await pilot.press("o")
        await pilot.pause(0.1)
        assert tree.mode == "envoy"
        vh = tree.root.children[0]
        names = [d.route_id.rsplit("#", 1)[1] for d in (c.data for c in vh.children) if isinstance(d, RouteData)]
        assert names == ["ratings", "v1-version", "v2-version", "v1", "v2", "not-found"]


async def test_shadowed_route_is_marked(make_app, config_dir: Path) -> None:
    (config_dir / "shadow.yaml").write_text(SHADOWING_TABLE)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        tree = app.main_query(RouteTree)
        await pilot.press("slash", *"name:never")
        await pilot.pause(0.1)
        (label,) = [str(n.label) for n in tree.route_nodes.values()]
        assert "⚠ shadowed" in label


async def test_gateway_switch_and_paging(make_app, config_dir: Path) -> None:
    routes = "".join(f"  - name: r{i}\n    matchers: [{{uri: {{exact: /r/{i}}}}}]\n"
                     f"    directResponseAction: {{status: 200}}\n" for i in range(450))
    (config_dir / "big.yaml").write_text(f"""\
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualGateway
metadata: {{name: big-gw, namespace: other}}
spec:
  connectionHandlers:
  - http:
      routeConfig:
      - virtualHostSelector: {{namespaces: [other]}}
---
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualHost
metadata: {{name: big-vh, namespace: other}}
spec:
  domains: [big.example.com]
  routes:
{routes}""")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        app.run_command(__import__("meshctl.tui.widgets.command_line", fromlist=["x"]).parse_command_line(
            "gw other/big-gw"))
        await pilot.pause(0.1)
        tree = app.main_query(RouteTree)
        assert tree.gateway == "other/big-gw"
        vh = tree.root.children[0]
        assert len(vh.children) == PAGE + 1 and f"{450 - PAGE} more" in str(vh.children[-1].label)  # a page + "more"
        assert app.reveal_route("other/big-gw", "other/big-vh", "VirtualHost/other/big-vh#r440")
        await pilot.pause(0.1)
        assert tree.cursor_node is not None and tree.cursor_node.data.route_id.endswith("#r440")


async def test_detail_actions_edit_and_test_witness(make_app, config_dir: Path) -> None:
    (config_dir / "shadow.yaml").write_text(SHADOWING_TABLE)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        app.reveal_route("gloo-mesh/demo-gateway", "gloo-mesh/shadow-vh", "VirtualHost/gloo-mesh/shadow-vh#never")
        await pilot.pause(0.05)
        await pilot.press("enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RouteDetailScreen", what="detail")
        info = str(app.screen.query_one("#detail-info").render())
        assert "shadowed-route" in info and "witness: GET /api" in info
        await pilot.press("t")  # test the witness: back on the main screen, the catch-all takes it
        tree = app.main_query(RouteTree)
        await wait_until(pilot, lambda: tree.matched is not None, what="witness tested")
        assert tree.matched[2] == "VirtualHost/gloo-mesh/shadow-vh#catch-all"
        assert "GET http://shadow.example.com/api" in str(app.main_query("#sb-output").render())
        tree.focus()
        app.reveal_route("gloo-mesh/demo-gateway", "gloo-mesh/shadow-vh", "VirtualHost/gloo-mesh/shadow-vh#never")
        await pilot.pause(0.05)
        await pilot.press("enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RouteDetailScreen", what="detail again")
        await pilot.press("e")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "EditorScreen", what="editor")
        assert app.screen.path == str(config_dir / "shadow.yaml")
        assert app.screen.area.cursor_location[0] == 9  # the `never` route's line (0-based)
