"""The Routes tab: gateway list, filterable lazy route tree, one-line summary, and the sandbox drawer."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, OptionList, Static, Tree
from textual.widgets.option_list import Option

from ...routing.actions import describe_action
from ..actions import bindings
from ..messages import EditRoute, OpenDetail
from ..state import ConsoleModel
from .route_tree import MoreData, RouteData, RouteTree
from .sandbox import SandboxDrawer


class FilterInput(Input):
    """The filter box. The tree follows each edit within the same keystroke (a value watcher, not the Changed
    message), so the frame that shows the typed character shows the filtered tree too: with the message, the
    box got a frame of its own and the tree waited for the next one (up to two frame periods later)."""

    def watch_value(self, value: str) -> None:
        pane = next((a for a in self.ancestors if isinstance(a, RoutesPane)), None)
        if pane is not None:
            pane.apply_filter(value)


class RoutesPane(Vertical):
    BINDINGS = bindings("tree")
    DEFAULT_CSS = """
    RoutesPane #gateways { width: 30; border-right: solid $panel; }
    RoutesPane #tree-col { width: 1fr; }
    RoutesPane #filter { display: none; }
    RoutesPane #filter.-open { display: block; }
    RoutesPane #route-summary { height: 2; color: $text-muted; padding: 0 1; background: $panel; }
    RoutesPane RouteTree { height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model: ConsoleModel | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield OptionList(id="gateways")
            with Vertical(id="tree-col"):
                yield FilterInput(placeholder="filter: text, path:/api, name:, dest:, label:k=v, owner:", id="filter")
                yield RouteTree(id="route-tree")
                yield Static("", id="route-summary")
        yield SandboxDrawer(id="sandbox")

    @property
    def tree(self) -> RouteTree:
        return self.query_one(RouteTree)

    # -- model -----------------------------------------------------------------------------------------
    def show_model(self, model: ConsoleModel) -> None:
        first = self.model is None
        self.model = model
        names = [g.name for g in model.view.gateways]
        gl = self.query_one("#gateways", OptionList)
        current = self.tree.gateway if self.tree.gateway in names else (names[0] if names else None)
        if [gl.get_option_at_index(i).id for i in range(gl.option_count)] != names:
            gl.clear_options()
            gl.add_options([Option(n, id=n) for n in names])
        if current is not None and gl.highlighted != names.index(current):
            gl.highlighted = names.index(current)
        self.tree.show(model, current, keep_state=not first)
        self._summary()

    def select_gateway(self, name: str) -> bool:
        if self.model is None or self.model.view.gateway(name) is None:
            return False
        self.tree.show(self.model, name, keep_state=False)
        names = [g.name for g in self.model.view.gateways]
        self.query_one("#gateways", OptionList).highlighted = names.index(name)
        return True

    def _summary(self) -> None:
        tree = self.tree
        summary = self.query_one("#route-summary", Static)
        data = tree.selected_route()
        model = self.model
        if model is None:
            summary.update("loading…")
            return
        head = ""
        if tree.filter_text.strip():
            head = f"filter {tree.filter_text!r}: {tree.shown_matches:,} route(s)   "
        if data is None:
            g = model.gateway(tree.gateway)
            total = sum(len(v.routes) for v in g.virtual_hosts) if g else 0
            summary.update(Text(head + f"{total:,} routes on this gateway · enter: detail · /: filter · t: test"))
            return
        r = model.route(*data.key)
        if r is None:
            summary.update(head)
            return
        summary.update(Text(f"{head}{r.id}\n{r.describe_match()}  {describe_action(r)}  — {r.position.detail}"))

    # -- events ------------------------------------------------------------------------------------------
    @on(OptionList.OptionSelected, "#gateways")
    def _gateway_picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.select_gateway(event.option.id)
            self.tree.focus()

    @on(Tree.NodeHighlighted)
    def _highlighted(self) -> None:
        self._summary()

    @on(Tree.NodeSelected)
    def _selected(self, event: Tree.NodeSelected[Any]) -> None:
        data = event.node.data
        if isinstance(data, MoreData):
            self.tree.load_more(event.node)
        elif isinstance(data, RouteData):
            self.post_message(OpenDetail(data))

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.tree.focus()

    def apply_filter(self, query: str) -> None:
        self.tree.show(self.model, self.tree.gateway, query=query, keep_state=False)
        self._summary()

    # -- actions -----------------------------------------------------------------------------------------
    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-open")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""  # the box's watcher re-filters (only if it held a query)
        box.remove_class("-open")
        self.tree.focus()

    def action_open_detail(self) -> None:
        data = self.tree.selected_route()
        if data is not None:
            self.post_message(OpenDetail(data))

    def action_edit_route(self) -> None:
        self.post_message(EditRoute(self.tree.selected_route()))

    def action_toggle_sandbox(self) -> None:
        drawer = self.query_one(SandboxDrawer)
        drawer.toggle_class("-open")
        if drawer.has_class("-open"):
            drawer.query_one("#sb-url", Input).focus()
        else:
            self.tree.focus()

    def open_sandbox(self) -> SandboxDrawer:
        drawer = self.query_one(SandboxDrawer)
        drawer.add_class("-open")
        return drawer

    def action_toggle_order(self) -> None:
        tree = self.tree
        tree.show(self.model, tree.gateway, mode="envoy" if tree.mode == "tree" else "tree", keep_state=True)
        self.notify(f"routes shown {'in Envoy order' if tree.mode == 'envoy' else 'as written (delegation nested)'}")

    def action_expand_all(self) -> None:
        self.tree.expand_all_loaded()

    def action_collapse_all(self) -> None:
        for node in self.tree.root.children:
            node.collapse_all()

    def action_next_gateway(self) -> None:
        if self.model is None or not self.model.view.gateways:
            return
        names = [g.name for g in self.model.view.gateways]
        current = self.tree.gateway
        nxt = names[(names.index(current) + 1) % len(names)] if current in names else names[0]
        self.select_gateway(nxt)
