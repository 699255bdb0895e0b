"""Sandbox: a tested request highlights its route in the tree, shows the trace, and can be saved."""

from __future__ import annotations

from pathlib import Path

import yaml

from meshctl.repl.commands import handle_line
from meshctl.repl.state import FileConfig, ReplState
from meshctl.sandbox.request import KNOWN_METHODS
from meshctl.tui.sandbox_adapter import RequestError, RequestStore, SandboxRequest, parse_command
from meshctl.tui.widgets.route_tree import RouteTree

from .conftest import SIZE, loaded, wait_until


def test_parse_command_and_request() -> None:
    req = parse_command(["POST", "http://www.example.com/reviews/v1?x=1", "-H", "x-user: bob", "@us-east-1/a"])
    assert (req.method, req.locality, req.headers) == ("POST", "us-east-1/a", {"x-user": "bob"})
    wire = req.to_request()
    assert (wire.authority, wire.path, wire.headers) == ("www.example.com", "/reviews/v1?x=1", {"x-user": "bob"})
    assert SandboxRequest("GET", "/a", {"Host": "h.example"}).to_request().authority == "h.example"
    try:
        SandboxRequest("GET", "/a").to_request()
    except RequestError as exc:
        assert "no host" in str(exc)
    else:
        raise AssertionError("a path without host must be refused")
    assert parse_command(["CONNECT", "http://h.example/"]).method == "CONNECT"
    assert parse_command(["TRACE", "http://h.example/"]).to_request().method == "TRACE"
    assert {"CONNECT", "TRACE"} <= set(KNOWN_METHODS)


async def test_request_highlights_route_and_shows_trace(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("t")  # open the drawer; focus goes to the URL field
        await pilot.press(*"http://www.example.com/reviews/v2/x", "enter")
        tree = app.main_query(RouteTree)
        await wait_until(pilot, lambda: tree.matched is not None, what="a match")
        assert tree.matched[2].endswith("demo-routetable#v2")
        assert tree.cursor_node is not None and tree.cursor_node.data.key == tree.matched
        assert "▶" in str(tree.cursor_node.label)
        output = str(app.main_query("#sb-output").render())
        assert "▶ [4] v2" in output
        # the trace names the first failing condition of every earlier route
        assert "[0] ratings: prefix /ratings does not match /reviews/v2/x" in output
        assert "[3] v1: prefix /reviews/v1 does not match /reviews/v2/x" in output
        assert "[1] v1-version: exact /reviews/v1/version does not match" in output
        # a request nothing takes: 404 and no highlight
        app.run_sandbox(SandboxRequest("GET", "http://www.example.com/nothing"))
        await pilot.pause(0.1)
        assert tree.matched is None
        assert "no route matched" in str(app.main_query("#sb-output").render())


async def test_client_locality_orders_endpoints(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        app.run_sandbox(SandboxRequest("GET", "http://reviews.global/", locality="us-east-2"))
        await pilot.pause(0.1)
        out = str(app.main_query("#sb-output").render())
        assert "virtualDestination" in out or "gloo-mesh/bookinfo-global" in out
        p0 = next(line for line in out.splitlines() if "P0:" in line)
        assert "us-east-2" in p0


async def test_save_request_and_test_case(make_app, tmp_path: Path) -> None:
    store = RequestStore(tmp_path / "requests.yaml")
    app = make_app(request_store=store)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("t", *"http://www.example.com/ratings/1")
        await pilot.press("ctrl+b")
        await wait_until(pilot, lambda: (tmp_path / "requests.yaml").exists(), what="saved requests file")
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: (tmp_path / "tests.yaml").exists(), what="test case file")
    saved = yaml.safe_load((tmp_path / "requests.yaml").read_text())
    assert saved == {"requests": [{"method": "GET", "url": "http://www.example.com/ratings/1"}]}
    cases = yaml.safe_load((tmp_path / "tests.yaml").read_text())["tests"]
    assert cases[0]["input"] == {"authority": "www.example.com", "path": "/ratings/1", "method": "GET"}
    assert cases[0]["validate"]["route_name"] == "ratings"
    assert cases[0]["validate"]["route_owner"] == "VirtualHost/gloo-mesh/demo-virtualhost"
    # the same assertions the REPL's `:save` writes for the same request (cluster, rewrite, destination too)
    repl = ReplState(FileConfig([], demo=True))
    repl.ask("GET http://www.example.com/ratings/1")
    assert handle_line(repl, f":save {tmp_path / 'repl.yaml'}").error is False
    from_repl = yaml.safe_load((tmp_path / "repl.yaml").read_text())["tests"][0]
    assert cases[0]["validate"] == from_repl["validate"]
    assert {"cluster_name", "path_rewrite", "destination"} <= set(cases[0]["validate"])
    assert RequestStore(tmp_path / "requests.yaml").saved[0].url == "http://www.example.com/ratings/1"
