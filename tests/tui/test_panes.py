"""Diagnostics jump, xDS pane without a server, failover buttons (confirmed, off in read-only), file watching."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from meshctl.tui.integrations import HostHealth, TrafficHistory, parse_clusters
from meshctl.tui.widgets.route_tree import RouteTree

from .conftest import SIZE, loaded, wait_until
from .test_routes_pane import SHADOWING_TABLE


class RecordingFailover:
    """A FailoverControl that records what the pane asked for (the real one comes with the failover work)."""

    modes = ("fail-locality", "eject-endpoints")

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.done = threading.Event()

    def trigger(self, target: str, mode: str) -> str:
        self.calls.append(("trigger", target, mode))
        self.done.set()
        return f"failover triggered for {target}"

    def restore(self, target: str) -> str:
        self.calls.append(("restore", target, ""))
        self.done.set()
        return f"{target} restored"


async def test_diagnostics_jump_to_shadowed_route(make_app, config_dir: Path) -> None:
    (config_dir / "shadow.yaml").write_text(SHADOWING_TABLE)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("2")
        table = app.main_query("#diag-table")
        findings = app.main_query("DiagnosticsPane").findings
        index = next(i for i, f in enumerate(findings) if f.code == "shadowed-route")
        assert findings[index].witness
        table.focus()
        table.move_cursor(row=index)
        await pilot.pause(0.05)
        assert "witness:" in str(app.main_query("#diag-detail").render())
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.main_query("TabbedContent").active == "routes"
        tree = app.main_query(RouteTree)
        assert tree.cursor_node is not None and tree.cursor_node.data.route_id == findings[index].routes[0]


async def test_xds_pane_without_server(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("3")
        await pilot.pause(0.05)
        assert "no xDS server" in str(app.main_query("#xds-title").render())
        assert "no xDS server" in str(app.main_query("#header").render())


async def test_failover_buttons_call_the_control_after_confirmation(make_app) -> None:
    control = RecordingFailover()
    app = make_app(failover=control)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("4")
        await pilot.pause(0.1)
        pane = app.main_query("FailoverPane")
        assert pane.selected == "gloo-mesh/bookinfo-global"
        rows = app.main_query("#fo-table").row_count
        assert rows >= 2  # reviews endpoints in two clusters, by priority
        trigger = app.main_query("#fo-trigger")
        assert not trigger.disabled
        await pilot.click("#fo-trigger")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", what="confirmation")
        await pilot.press("escape")  # cancelled: nothing called
        await pilot.pause(0.1)
        assert control.calls == []
        await pilot.click("#fo-trigger")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", what="confirmation")
        await pilot.press("ctrl+y")
        await wait_until(pilot, lambda: control.calls, what="trigger call")
        assert control.calls == [("trigger", "gloo-mesh/bookinfo-global", "fail-locality")]
        await wait_until(pilot, lambda: "triggered" in str(app.main_query("#fo-status").render()), what="status")
        await pilot.click("#fo-restore")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", what="confirmation")
        await pilot.click("#confirm-yes")
        await wait_until(pilot, lambda: len(control.calls) == 2, what="restore call")
        assert control.calls[1] == ("restore", "gloo-mesh/bookinfo-global", "")


async def test_failover_disabled_in_read_only(make_app) -> None:
    control = RecordingFailover()
    app = make_app(failover=control, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("4")
        await pilot.pause(0.1)
        assert app.main_query("#fo-trigger").disabled and app.main_query("#fo-restore").disabled
        app.main_query("FailoverPane").action_trigger()  # also via the key binding path
        await pilot.pause(0.1)
        assert type(app.screen).__name__ == "MainScreen" and control.calls == []
        assert " READ-ONLY " in str(app.main_query("#header").render())


def test_envoy_cluster_parsing_and_traffic_share() -> None:
    data = {"cluster_statuses": [{"name": "outbound|9080||reviews.global", "host_statuses": [
        {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 1}},
         "locality": {"region": "us-east-1", "zone": "a"}, "priority": 0,
         "health_status": {"eds_health_status": "HEALTHY", "failed_outlier_check": True},
         "stats": [{"name": "rq_total", "value": "10"}]},
        {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 2}},
         "locality": {"region": "us-east-2"}, "priority": 1, "health_status": {"eds_health_status": "HEALTHY"},
         "stats": [{"name": "rq_total", "value": "5"}]}]}]}
    hosts = parse_clusters(data)
    assert [(h.locality, h.ejected, h.healthy) for h in hosts] == [("us-east-1/a", True, False),
                                                                   ("us-east-2", False, True)]
    history = TrafficHistory(window_seconds=10)
    history.add(hosts)
    later = [HostHealth(h.cluster, h.address, h.locality, h.priority, h.healthy, h.ejected, h.flags,
                        h.rq_total + (0 if h.ejected else 30)) for h in hosts]
    history.add(later)
    assert history.shares() == {"us-east-1/a": 0.0, "us-east-2": 1.0}
    assert history.shares("outbound|9080||reviews.global") == {"us-east-1/a": 0.0, "us-east-2": 1.0}
    assert history.series("us-east-2")[-2:] == [0.0, 30.0]
    assert history.shares("other-cluster") == {}


async def test_external_edit_shows_up(make_app, config_dir: Path) -> None:
    app = make_app(watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        updates = app.model_updates
        path = config_dir / "gateway.yaml"
        path.write_text(path.read_text().replace("prefix: /ratings", "prefix: /scores", 1))
        await wait_until(pilot, lambda: app.model_updates > updates and any(
            r.describe_match() == "prefix /scores" for _, _, r in app.model.view.all_routes()),
            timeout=5, what="the external edit")
        labels = [str(n.label) for n in app.main_query(RouteTree).root.children[0].children]
        assert any("prefix /scores" in label for label in labels)


async def test_a_reload_redraws_only_the_panes_whose_inputs_changed(make_app, config_dir: Path) -> None:
    # two findings in the diagnostics table: the shadowed route, and a path without its leading slash
    (config_dir / "shadow.yaml").write_text(SHADOWING_TABLE + "  - name: no-slash\n"
                                            "    matchers: [{uri: {prefix: api}}]\n"
                                            "    directResponseAction: {status: 200, body: api}\n")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        pane, failover = app.main_query("DiagnosticsPane"), app.main_query("FailoverPane")
        table = app.main_query("#diag-table")
        assert len(pane.findings) >= 2
        table.move_cursor(row=1)
        current = pane.current()
        endpoints: list[int] = []
        render = failover._render_endpoints
        failover._render_endpoints = lambda: endpoints.append(1) or render()

        async def edit(file: str, old: str, new: str) -> None:
            path = config_dir / file
            path.write_text(path.read_text().replace(old, new, 1))
            updates = app.model_updates
            await asyncio.to_thread(app.reload_sources_blocking)
            await loaded(pilot, app, updates=updates + 1)

        await edit("gateway.yaml", "body: \"'v1'\"", "body: \"'v1 edited'\"")  # routing only, no finding
        assert endpoints == [] and pane.current() is current and table.cursor_row == 1
        await edit("shadow.yaml", "name: never", "name: never-ever")  # the findings change; the cursor keeps its one
        assert pane.current() is not current and pane.current() == current and table.cursor_row == 1
        await edit("failover.yaml", "number: 9080", "number: 9081")  # the VirtualDestination's port
        assert endpoints  # drawn again (the destination list's highlight draws it once more)
