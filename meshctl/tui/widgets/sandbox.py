"""The sandbox drawer: type a request, see which route takes it and why every earlier route did not."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from ...routing.actions import describe_action
from ..actions import bindings
from ..messages import SaveRequest, SendRequest
from ..sandbox_adapter import KNOWN_METHODS, Explanation, RequestError, SandboxRequest, parse_headers
from ..themes import SemanticColors

TRACE_LIMIT = 60  # earlier routes listed in the trace (the rest are summarised)


def render_explanation(ex: Explanation, c: SemanticColors) -> Text:
    out = Text()
    o = ex.outcome
    out.append(f"{ex.request.describe()}\n", style="bold")
    if o.virtual_host is None:
        out.append(f"✗ {o.reason} on gateway {o.gateway}\n", style=f"bold {c.invalid}")
        return out
    out.append(f"gateway {o.gateway}  virtual host {o.virtual_host}\n", style=c.muted)
    if o.route is None:
        out.append("✗ no route matched: Envoy answers 404\n", style=f"bold {c.invalid}")
    else:
        r = o.route
        out.append(f"▶ [{o.index}] {r.name or r.id}  ", style=f"bold {c.matched}")
        out.append(f"{r.describe_match()}  {describe_action(r)}\n")
        out.append(f"  from {' > '.join(link.ref for link in r.chain)}\n", style=c.muted)
        out.append(f"  position: {r.position.reason} — {r.position.detail}\n", style=c.muted)
    for d in ex.destinations:
        out.append(f"  → {d.text}", style="bold")
        if d.backend is not None and d.backend.problems:
            out.append(f"  ({'; '.join(d.backend.problems)})", style=c.invalid)
        out.append("\n")
        for i, group in enumerate(d.priorities):
            locs = sorted({str(e.locality) for e in group})
            healthy = sum(1 for e in group if e.healthy)
            out.append(f"     P{i}: {len(group)} endpoint(s), {healthy} healthy in {', '.join(locs)}\n", style=c.muted)
    earlier = [s for s in o.trace if s.failure is not None]
    if earlier:
        out.append(f"\nearlier routes ({len(earlier)}), first failing condition:\n", style="bold")
        for step in earlier[:TRACE_LIMIT]:
            out.append(f"  ✗ [{step.index}] {step.route.name or step.route.id}: ", style=c.muted)
            out.append(f"{step.failure}\n")
        if len(earlier) > TRACE_LIMIT:
            out.append(f"  … {len(earlier) - TRACE_LIMIT} more\n", style=c.muted)
    return out


class SandboxDrawer(Vertical):
    """Request form, result with trace, recent and saved requests."""

    BINDINGS = bindings("sandbox")
    DEFAULT_CSS = """
    SandboxDrawer { height: 50%; border-top: solid $primary; display: none; }
    SandboxDrawer.-open { display: block; }
    SandboxDrawer #sb-form { height: 3; }
    SandboxDrawer #sb-method { width: 14; }
    SandboxDrawer #sb-url { width: 2fr; }
    SandboxDrawer #sb-headers { width: 1fr; }
    SandboxDrawer #sb-locality { width: 18; }
    SandboxDrawer Button { min-width: 8; }
    SandboxDrawer #sb-body { height: 1fr; }
    SandboxDrawer #sb-result { width: 2fr; }
    SandboxDrawer #sb-history { width: 1fr; border-left: solid $panel; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal(id="sb-form"):
            yield Select([(m, m) for m in KNOWN_METHODS], value="GET", allow_blank=False, id="sb-method")
            yield Input(placeholder="http://host/path?query  or  /path", id="sb-url")
            yield Input(placeholder="headers  name: value; name: value", id="sb-headers")
            yield Input(placeholder="client region/zone", id="sb-locality")
            yield Button("Send", id="sb-send", variant="primary")
            yield Button("Save", id="sb-save")
            yield Button("Save test", id="sb-save-test")
        with Horizontal(id="sb-body"):
            with VerticalScroll(id="sb-result"):
                yield Static("Type a request and press enter.", id="sb-output")
            with Vertical(id="sb-history"):
                yield Label("recent & saved")
                yield OptionList(id="sb-requests")

    # -- reading the form ----------------------------------------------------------------------------
    def current(self) -> SandboxRequest:
        method = self.query_one("#sb-method", Select).value
        url = self.query_one("#sb-url", Input).value
        headers = parse_headers(self.query_one("#sb-headers", Input).value)
        locality = self.query_one("#sb-locality", Input).value.strip()
        return SandboxRequest(str(method), url, headers, locality)

    def fill(self, req: SandboxRequest) -> None:
        self.query_one("#sb-method", Select).value = req.method if req.method in KNOWN_METHODS else "GET"
        self.query_one("#sb-url", Input).value = req.url
        self.query_one("#sb-headers", Input).value = "; ".join(f"{k}: {v}" for k, v in req.headers.items())
        self.query_one("#sb-locality", Input).value = req.locality

    def show_result(self, text: Text | str) -> None:
        self.query_one("#sb-output", Static).update(text)

    def show_history(self, recent: list[SandboxRequest], saved: list[SandboxRequest]) -> None:
        options = self.query_one("#sb-requests", OptionList)
        options.clear_options()
        items: list[Option] = []
        for i, r in enumerate(saved):
            items.append(Option(f"★ {r.label()}", id=f"saved-{i}"))
        for i, r in enumerate(recent):
            items.append(Option(f"  {r.label()}", id=f"recent-{i}"))
        options.add_options(items)
        self._history = {"saved": saved, "recent": recent}

    def _read(self) -> SandboxRequest | None:
        try:
            return self.current()
        except RequestError as exc:
            self.show_result(Text(f"✗ {exc}", style="bold red"))
            return None

    # -- actions ---------------------------------------------------------------------------------------
    def action_send(self) -> None:
        req = self._read()
        if req is not None:
            self.post_message(SendRequest(req))

    def action_save_request(self) -> None:
        req = self._read()
        if req is not None:
            self.post_message(SaveRequest(req, as_test=False))

    def action_save_test(self) -> None:
        req = self._read()
        if req is not None:
            self.post_message(SaveRequest(req, as_test=True))

    def action_close(self) -> None:
        self.remove_class("-open")
        self.screen.query_one("RouteTree").focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_send()

    @on(Button.Pressed, "#sb-send")
    def _send_pressed(self) -> None:
        self.action_send()

    @on(Button.Pressed, "#sb-save")
    def _save_pressed(self) -> None:
        self.action_save_request()

    @on(Button.Pressed, "#sb-save-test")
    def _save_test_pressed(self) -> None:
        self.action_save_test()

    @on(OptionList.OptionSelected, "#sb-requests")
    def _history_picked(self, event: OptionList.OptionSelected) -> None:
        kind, _, idx = (event.option.id or "").partition("-")
        history: dict[str, Any] = getattr(self, "_history", {})
        items = history.get(kind, [])
        if idx.isdigit() and int(idx) < len(items):
            self.fill(items[int(idx)])
            self.action_send()
