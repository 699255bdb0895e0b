"""The Failover tab: per VirtualDestination the endpoints by locality priority, live health, ejections,
traffic share per locality over the last minute, and trigger / restore (confirmed; off in read-only)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Input, Label, OptionList, Select, Sparkline, Static
from textual.widgets.option_list import Option

from ...mesh.index import Locality, MeshIndex
from ...model.resources import Resource, VirtualDestination
from ..actions import bindings
from ..console import ConsoleAccess
from ..integrations import EnvoyObserver, HostHealth
from ..state import ConsoleModel
from ..themes import SemanticColors

# what the endpoints never read (MeshIndex reads clusters, services, workloads, destinations and policies)
ROUTING_KINDS = frozenset({"RouteTable", "VirtualHost", "VirtualGateway"})


def _mesh_inputs(model: ConsoleModel) -> tuple[Resource, ...]:
    """The resources the failover view is computed from (unchanged ones are the same objects)."""
    return tuple(r for r in model.snapshot.resources if r.kind not in ROUTING_KINDS)


class FailoverPane(ConsoleAccess, Horizontal):
    BINDINGS = bindings("failover")
    DEFAULT_CSS = """
    FailoverPane #vd-list { width: 34; border-right: solid $panel; }
    FailoverPane #fo-main { width: 1fr; }
    FailoverPane #fo-controls { height: 3; }
    FailoverPane #fo-locality { width: 24; }
    FailoverPane #fo-mode { width: 24; }
    FailoverPane #fo-table { height: 1fr; }
    FailoverPane #fo-traffic { height: auto; max-height: 10; border-top: solid $panel; }
    FailoverPane .spark-row { height: 1; }
    FailoverPane .spark-row Label { width: 34; }
    FailoverPane .spark-row Sparkline { width: 1fr; }
    FailoverPane #fo-status { height: auto; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model: ConsoleModel | None = None
        self.semantic = SemanticColors()
        self.selected: str | None = None
        self.hosts: list[HostHealth] = []
        self.observer: EnvoyObserver | None = None
        self._mesh: tuple[Resource, ...] = ()  # what the shown endpoints were computed from

    def compose(self) -> ComposeResult:
        yield OptionList(id="vd-list")
        with Vertical(id="fo-main"):
            with Horizontal(id="fo-controls"):
                yield Input(placeholder="client region/zone", id="fo-locality")
                yield Select([("fail locality", "fail-locality")], value="fail-locality", allow_blank=False,
                             id="fo-mode")
                yield Button("Trigger", id="fo-trigger", variant="error")
                yield Button("Restore", id="fo-restore", variant="primary")
            yield Static("", id="fo-status")
            table: DataTable[Any] = DataTable(id="fo-table", cursor_type="row")
            table.add_columns("prio", "locality", "endpoint", "instance", "config", "live")
            yield table
            yield VerticalScroll(id="fo-traffic")

    def on_mount(self) -> None:
        self.sync_controls()
        admins = self.console.envoy_admins
        if admins:
            self.attach_envoys(admins)

    def sync_controls(self) -> None:
        """Modes and button states from the app's failover control and read-only flag."""
        control = self.console.failover
        if control is not None and getattr(control, "modes", None):
            select = self.query_one("#fo-mode", Select)
            select.set_options([(m, m) for m in control.modes])
            select.value = control.modes[0]
        self._sync_buttons()

    def attach_envoys(self, admins: list[Any]) -> None:
        first = self.observer is None
        self.observer = EnvoyObserver(admins)
        if first:
            self.set_interval(1.0, self._poll)

    def _sync_buttons(self) -> None:
        read_only = self.console.read_only
        control = self.console.failover
        for bid in ("#fo-trigger", "#fo-restore"):
            button = self.query_one(bid, Button)
            button.disabled = read_only or control is None or self.selected is None
            button.tooltip = ("read-only: failover disabled" if read_only else
                              "no failover control attached" if control is None else "")

    # -- model -------------------------------------------------------------------------------------------
    def show_model(self, model: ConsoleModel) -> None:
        previous, self.model = self.model, model
        mesh = _mesh_inputs(model)
        if previous is not None and mesh == self._mesh:
            return  # a routing edit: destinations and endpoints are as shown
        self._mesh = mesh
        vds = sorted(f"{vd.namespace}/{vd.name}" for vd in model.snapshot.typed(VirtualDestination))
        options = self.query_one("#vd-list", OptionList)
        options.clear_options()
        options.add_options([Option(name, id=name) for name in vds])
        if vds:
            if self.selected not in vds:
                self.selected = vds[0]
            options.highlighted = vds.index(self.selected)
        else:
            self.selected = None
        self._sync_buttons()
        self._render_endpoints()

    def _client_locality(self) -> Locality | None:
        text = self.query_one("#fo-locality", Input).value.strip()
        try:
            loc = Locality.parse(text)
        except ValueError as exc:
            self._status(f"✗ {exc}", self.semantic.invalid)
            return None
        if loc is None and self.model is not None:
            index = MeshIndex(self.model.snapshot)
            localities = [loc for loc in index.cluster_localities.values() if loc.region]
            return localities[0] if localities else None
        return loc

    def _render_endpoints(self) -> str | None:
        """Fill the endpoint table; returns the destination's Envoy cluster name."""
        table = self.query_one("#fo-table", DataTable)
        table.clear()
        model = self.model
        if model is None or self.selected is None:
            self._status("no VirtualDestination in this configuration")
            return None
        ns, name = self.selected.split("/", 1)
        vd = model.snapshot.get("VirtualDestination", ns, name)
        if not isinstance(vd, VirtualDestination):
            return None
        client = self._client_locality()
        backend = MeshIndex(model.snapshot).backend_for_virtual_destination(vd)
        c = self.semantic
        live = {h.address: h for h in self.hosts}
        for prio, group in enumerate(backend.priorities(client)):
            for e in group:
                addr = f"{e.address}:{e.port}"
                h = live.get(addr)
                if h is None:
                    live_cell = Text("—" if self.observer is None else "not seen", style=c.muted)
                elif h.ejected:
                    live_cell = Text("✗ ejected", style=f"bold {c.ejected}")
                elif not h.healthy:
                    live_cell = Text("✗ " + ",".join(h.flags or ["unhealthy"]), style=f"bold {c.ejected}")
                else:
                    live_cell = Text("✓ healthy", style=c.healthy)
                config = Text("✓" if e.healthy else "✗ not ready", style=c.healthy if e.healthy else c.ejected)
                table.add_row(f"P{prio}", str(e.locality), addr, e.instance, config, live_cell)
        where = f"client {client}" if client else "no client locality: one priority"
        problems = f" · {'; '.join(backend.problems)}" if backend.problems else ""
        envoy = "" if self.observer else " · no Envoy running: health from configuration"
        self._status(f"{backend.display} → {backend.envoy_cluster} · {where}{problems}{envoy}")
        return backend.envoy_cluster

    def _status(self, text: str, style: str = "") -> None:
        self.query_one("#fo-status", Static).update(Text(text, style=style))

    # -- live observation --------------------------------------------------------------------------------
    def _poll(self) -> None:
        if self.observer is not None:
            self._observe(self.observer)

    @work(thread=True, exclusive=True, group="failover-observe")
    def _observe(self, observer: EnvoyObserver) -> None:
        hosts, errors = observer.poll()
        self.app.call_from_thread(self._observed, hosts, errors, observer)

    def _observed(self, hosts: list[HostHealth], errors: list[str], observer: EnvoyObserver) -> None:
        self.hosts = hosts
        cluster = self._render_endpoints()
        history = observer.history
        if cluster is None or cluster not in {h.cluster for h in hosts}:
            cluster = None  # this destination's Envoy cluster is not known to the Envoys: show everything
        shares = history.shares(cluster)
        box = self.query_one("#fo-traffic", VerticalScroll)
        wanted = sorted(shares)
        if getattr(self, "_spark_localities", None) != wanted:
            self._spark_localities = wanted
            box.remove_children()
            box.mount_all([Horizontal(Label(self._share_text(loc, shares[loc])),
                                      Sparkline(history.series(loc, cluster)), classes="spark-row")
                           for loc in wanted])
        else:
            for row, loc in zip(box.query(".spark-row"), wanted, strict=False):
                labels, sparks = row.query(Label), row.query(Sparkline)
                if labels and sparks:  # (rows mount asynchronously)
                    labels.first().update(self._share_text(loc, shares[loc]))
                    sparks.first().data = history.series(loc, cluster)
        if errors:
            self._status("✗ " + "; ".join(errors), self.semantic.invalid)

    @staticmethod
    def _share_text(locality: str, share: float) -> str:
        return f"{locality}  {share * 100:5.1f}% of requests (last minute)"

    # -- events / actions --------------------------------------------------------------------------------
    @on(OptionList.OptionHighlighted, "#vd-list")
    def _picked(self, event: OptionList.OptionHighlighted) -> None:
        self.selected = event.option.id
        self._sync_buttons()
        self._render_endpoints()

    @on(Input.Submitted, "#fo-locality")
    def _locality(self) -> None:
        self._render_endpoints()

    @on(Button.Pressed, "#fo-trigger")
    def _trigger_pressed(self) -> None:
        self.action_trigger()

    @on(Button.Pressed, "#fo-restore")
    def _restore_pressed(self) -> None:
        self.action_restore()

    def _allowed(self) -> bool:
        if self.console.read_only:
            self.notify("read-only: failover is disabled", severity="warning")
            return False
        if self.console.failover is None:
            self.notify("no failover control attached", severity="warning")
            return False
        return self.selected is not None

    def action_trigger(self) -> None:
        if not self._allowed():
            return
        mode = str(self.query_one("#fo-mode", Select).value)
        target = self.selected
        assert target is not None
        from ..screens.confirm import ConfirmScreen

        def done(ok: bool | None) -> None:
            if ok:
                self._call("trigger", target, mode)
        self.app.push_screen(ConfirmScreen(f"Trigger failover ({mode}) for {target}?",
                                           "Traffic will move away from the current localities."), done)

    def action_restore(self) -> None:
        if not self._allowed():
            return
        target = self.selected
        assert target is not None
        from ..screens.confirm import ConfirmScreen

        def done(ok: bool | None) -> None:
            if ok:
                self._call("restore", target, "")
        self.app.push_screen(ConfirmScreen(f"Restore {target}?", "Undo the triggered failover."), done)

    @work(thread=True, exclusive=True, group="failover-call")
    def _call(self, what: str, target: str, mode: str) -> None:
        control = self.console.failover
        try:
            message = control.trigger(target, mode) if what == "trigger" else control.restore(target)
            style = self.semantic.healthy
        except Exception as exc:  # show the failure; the pane stays usable
            message, style = f"✗ {what} failed: {exc}", self.semantic.invalid
        self.app.call_from_thread(self._status, str(message or f"{what} done"), style)
