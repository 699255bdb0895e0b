"""The console's sandbox: test a request typed in the drawer, on `:test` or from a route's witness; highlight its
route; save it, or save it as a router_check test case (the sandbox's own parser, engine and case writer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import work

from ..routing.types import FlattenedRoute
from ..sandbox.engine import Sandbox
from .sandbox_adapter import (
    RequestError,
    RequestStore,
    SandboxRequest,
    append_test_case,
    explain,
    make_engine,
    parse_command,
    test_case,
)
from .state import ConsoleModel
from .widgets.route_tree import RouteTree
from .widgets.routes_pane import RoutesPane
from .widgets.sandbox import SandboxDrawer, render_explanation


class SandboxActions:
    """MeshctlApp's sandbox half (a mixin: the app provides model, store, tests_file and the main screen)."""

    model: ConsoleModel | None
    store: RequestStore
    tests_file: Path
    last_explanation: Any
    _engine: tuple[int, Sandbox] | None

    def open_sandbox(self) -> SandboxDrawer:
        self.action_show_tab("routes")
        drawer = self.main_query(RoutesPane).open_sandbox()
        drawer.query_one("#sb-url").focus()
        return drawer

    def run_sandbox(self, req: SandboxRequest) -> None:
        drawer = self.main_query(RoutesPane).open_sandbox()
        drawer.fill(req)
        model = self.model
        if model is None:
            drawer.show_result("configuration still loading…")
            return
        tree = self.main_query(RouteTree)
        try:
            ex = explain(model.view, model.snapshot, tree.gateway, req, self._default_authority(), self.engine())
            if ex.outcome.virtual_host is None:
                other = explain(model.view, model.snapshot, None, req, self._default_authority(), self.engine())
                ex = other if other.outcome.virtual_host is not None else ex
        except RequestError as exc:
            drawer.show_result(f"✗ {exc}")
            return
        self.last_explanation = (req, ex)
        self.store.remember(req)
        drawer.show_history(self.store.recent, self.store.saved)
        drawer.show_result(render_explanation(ex, self.semantic))
        self._highlight(ex)

    def _highlight(self, ex: Any) -> None:
        tree = self.main_query(RouteTree)
        route = ex.outcome.route
        if route is None or ex.outcome.virtual_host is None:
            tree.set_matched(None)
            return
        key = (ex.gateway, ex.outcome.virtual_host, route.id)
        if tree.gateway != ex.gateway:
            self.main_query(RoutesPane).select_gateway(ex.gateway)
        tree.matched = key
        self.reveal_route(*key)
        tree.relabel([key])

    def _rematch(self) -> None:
        """After a reload, the last tested request is matched again (its route may have moved)."""
        req, _ = self.last_explanation
        model = self.model
        if model is None:
            return
        try:
            ex = explain(model.view, model.snapshot, None, req, self._default_authority(), self.engine())
        except RequestError:
            return
        self.last_explanation = (req, ex)
        self.main_query(SandboxDrawer).show_result(render_explanation(ex, self.semantic))
        self._highlight(ex)

    def engine(self) -> Sandbox:
        """The sandbox engine of the current model (built on first use, reused for every request)."""
        model = self.model
        if model is None:
            raise RequestError("configuration still loading")
        if self._engine is None or self._engine[0] != model.version:
            self._engine = (model.version, make_engine(model.view, model.snapshot))
        return self._engine[1]

    def _default_authority(self) -> str:
        model = self.model
        tree = self.main_query(RouteTree)
        g = model.gateway(tree.gateway) if model else None
        for v in g.virtual_hosts if g else []:
            for d in v.domains:
                if "*" not in d:
                    return d
        return ""

    @work(thread=True, exclusive=True, group="save-request")
    def _save_request(self, req: SandboxRequest, as_test: bool) -> None:
        try:
            if as_test:
                model = self.model
                if model is None:
                    raise RequestError("configuration still loading")
                ex = explain(model.view, model.snapshot, None, req, self._default_authority(), self.engine())
                name = f"{req.method} {req.url}"
                count = append_test_case(self.tests_file, test_case(ex, name))
                message = f"test case saved to {self.tests_file} ({count} case(s))"
            else:
                self.store.save(req)
                message = "request saved"
        except (RequestError, OSError, ValueError) as exc:
            self.call_from_thread(self.notify, f"not saved: {exc}", severity="error")
            return
        self.call_from_thread(self.notify, message)
        self.call_from_thread(self.main_query(SandboxDrawer).show_history, self.store.recent, self.store.saved)

    def test_route_sample(self, gateway: str, vhost: str, route: FlattenedRoute, witness: str | None) -> None:
        import shlex

        from ..routing.shadow import witness_for

        model = self.model
        vh = model.vhost(gateway, vhost) if model else None
        authority = next((d for d in (vh.domains if vh else []) if "*" not in d), "example.com")
        if witness:
            try:
                req = parse_command(shlex.split(witness))
            except (RequestError, ValueError):
                req = None
        else:
            sample = witness_for(route.matchers[0], authority) if route.matchers else None
            req = SandboxRequest(sample.method, sample.path, dict(sample.headers)) if sample else None
        if req is None:
            self.notify("no sample request for this route", severity="warning")
            return
        if req.url.startswith("/"):
            req.url = f"http://{authority}{req.url}"
        self.run_sandbox(req)
