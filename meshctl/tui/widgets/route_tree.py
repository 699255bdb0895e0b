"""The merged route tree of one gateway, populated lazily: only expanded nodes get children, a page at a time."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Union

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Tree
from textual.widgets.tree import TreeNode as UINode

from ...model.v2.resources import RouteTableV2
from ...routing.actions import describe_action
from ...routing.types import FlattenedRoute, GatewayView, TableNode, TreeNode, VirtualHostView
from ..state import ConsoleModel, RouteEntry, RouteFilter
from ..themes import SemanticColors

PAGE = 100  # children added per expansion / per "more" click: keeps any single UI step small
LABEL_CACHE = 4 * PAGE * 10  # route labels kept for reuse (~1 kB each), dropped all at once when full


@dataclass
class VhostData:
    gateway: str
    vhost: str
    loaded: bool = False
    label_key: Any = field(default=None, compare=False, repr=False)  # what the label shows (see _label_key)


@dataclass
class DelegateData:
    gateway: str
    vhost: str
    node: TreeNode
    loaded: bool = False
    label_key: Any = field(default=None, compare=False, repr=False)


@dataclass
class TableData:
    gateway: str
    vhost: str
    table: TableNode
    loaded: bool = False
    label_key: Any = field(default=None, compare=False, repr=False)


@dataclass
class RouteData:
    gateway: str
    vhost: str
    route_id: str
    source: Any = None  # the core TreeNode / FlattenedRoute it was made from (for jumps)
    label_key: Any = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.gateway, self.vhost, self.route_id)


@dataclass
class MoreData:
    items: list[Any]
    make: Any = field(repr=False, default=None)


NodeData = Union[VhostData, DelegateData, TableData, RouteData, MoreData, None]
NodeKey = tuple[Any, ...]  # what a node stands for across models (their core objects differ, names do not)
Path = tuple[NodeKey, ...]  # node keys from below the root down to a node


def item_key(item: Any) -> NodeKey:
    """The key of the node an item of the core view (or a virtual host) is shown as."""
    if isinstance(item, VirtualHostView):
        return ("vhost", item.name)
    if isinstance(item, TableNode):
        return ("table", item.table.key, item.via)
    if isinstance(item, TreeNode) and item.is_delegate:
        return ("delegate", item.link.id_part or f"{item.link.ref}@{item.link.route_index}")
    if isinstance(item, TreeNode):
        return ("route", item.flat_ids[0] if item.flat_ids else "")
    return ("route", item.id)


def node_key(data: NodeData) -> NodeKey:
    if isinstance(data, VhostData):
        return ("vhost", data.vhost)
    if isinstance(data, DelegateData):
        return item_key(data.node)
    if isinstance(data, TableData):
        return item_key(data.table)
    if isinstance(data, RouteData):
        return ("route", data.route_id)
    return ("more",) if isinstance(data, MoreData) else ()


def _same_item(data: NodeData, item: Any) -> bool:
    """The node was made from this very object (and so has its key): no key to compute."""
    return item is getattr(data, "source" if isinstance(data, RouteData) else
                           "node" if isinstance(data, DelegateData) else "table", None)


@dataclass
class TreeState:
    """What the operator opened, by node keys: kept across a rebuild of (part of) the tree."""

    expanded: set[Path] = field(default_factory=set)
    shown: dict[Path, int] = field(default_factory=dict)  # per loaded node, how many children it had loaded


class RouteTree(Tree[NodeData]):
    """Gateway → virtual hosts → routes (as written, delegation nested; or Envoy order; or filtered)."""

    DEFAULT_CSS = """
    RouteTree { background: $surface; }
    """
    # class-level: Tree.__init__ already invalidates (watchers) before our __init__ body runs
    _batching = 0  # > 0 while nodes are added in bulk: one invalidation at the end, not one per node
    _invalidated = False
    _frame_style: Style | None = None  # the widget's style while one frame's lines are rendered

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("no gateway", **kwargs)
        self.model: ConsoleModel | None = None
        self.gateway: str | None = None
        self.mode = "tree"  # "tree" (as written) | "envoy" (flat, Envoy order)
        self.filter_text = ""
        self.matched: tuple[str, str, str] | None = None
        self.semantic = SemanticColors()
        self.route_nodes: dict[tuple[str, str, str], UINode[NodeData]] = {}
        self.shown_matches = 0  # routes matching the filter (all pages)
        self.guide_depth = 3
        self.pending_cursor: UINode[NodeData] | None = None
        self._matches: dict[str, list[RouteEntry]] = {}
        self.filter = RouteFilter()
        # route labels of the current model and colours, reused while the operator types (a keystroke rebuilds
        # up to a page of nodes, mostly the same routes as before)
        self._labels: dict[tuple[Any, ...], Text] = {}  # emptied when the model changes
        self._labels_semantic = self.semantic

    # -- building ----------------------------------------------------------------------------------
    def show(self, model: ConsoleModel | None, gateway: str | None, query: str | None = None,
             mode: str | None = None, keep_state: bool = True) -> None:
        """Show a model/gateway/filter. With `keep_state`, what the operator opened stays open and the cursor stays
        on its node; a new model of the same gateway, order and no filter only updates the nodes that changed."""
        with self.batch():
            if not (keep_state and self._update(model, gateway, query, mode)):
                self._show(model, gateway, query, mode, keep_state)
        if self.pending_cursor is not None:  # the lines of the updated tree exist only now (after the batch)
            self._move_to_pending(5)

    def _show(self, model: ConsoleModel | None, gateway: str | None, query: str | None, mode: str | None,
              keep_state: bool) -> None:
        state = self._capture(self.root) if keep_state else TreeState()
        cursor = self._path_of(self.cursor_node) if keep_state else None
        self._take(model)
        self.gateway = gateway
        if query is not None:
            self.filter_text = query
        if mode is not None:
            self.mode = mode
        self.route_nodes = {}
        self._drop_data(self.root)
        # removed properly (not just dropped with the old root), the old nodes hold no reference cycles
        # (parent <-> children, tree <-> node): reference counting frees them now, instead of a full GC pass
        # later that scans ~20k objects in the middle of a keystroke's frame
        self.root.remove_children()
        self.clear()
        g = model.gateway(gateway) if model else None
        if g is None:
            self.root.set_label(Text("no VirtualGateway loaded" if model else "loading…", style="italic"))
            return
        self.gateway = g.name
        self.root.set_label(self._root_label(g))
        self.root.data = None
        matches: dict[str, list[RouteEntry]] = {}
        if self.filter_text.strip():
            for e in self.filter.run(model, g.name, self.filter_text) if model else []:
                matches.setdefault(e.vhost, []).append(e)
            self.shown_matches = sum(len(v) for v in matches.values())
        self._matches = matches  # filtered children per virtual host, computed once per keystroke
        first = True
        for vh in g.virtual_hosts:
            if self.filter_text.strip() and vh.name not in matches:
                continue
            data = VhostData(g.name, vh.name)
            node = self.root.add(self._vhost_label(vh, self._vhost_matches(vh)), data, allow_expand=True)
            data.label_key = self._label_key(data, vh)
            path = (item_key(vh),)
            if first or path in state.expanded or self.filter_text.strip():
                self._populate(node, state.shown.get(path, PAGE))
                node.expand()
                self._restore(node, path, state)
            first = False
        self.root.expand()
        if cursor:
            self._find_cursor(cursor)

    def _take(self, model: ConsoleModel | None) -> None:
        if model is not self.model:  # both hold the previous model's objects (and so the whole previous view)
            self.filter.reset()
            self._labels = {}
        self.model = model

    def _vhost_matches(self, vh: VirtualHostView) -> int | None:
        return len(self._matches.get(vh.name, [])) if self.filter_text.strip() else None

    # -- incremental update --------------------------------------------------------------------------
    def _update(self, model: ConsoleModel | None, gateway: str | None, query: str | None, mode: str | None) -> bool:
        """A new model for the gateway, order and (no) filter on show: update in place the nodes whose items
        changed, rebuild only a node whose children came, went or moved. False: the caller rebuilds the tree."""
        if (model is None or self.model is None or model is self.model or gateway != self.gateway
                or query is not None or mode not in (None, self.mode) or self.filter_text.strip()):
            return False
        g = model.gateway(gateway) if gateway is not None else None
        children = list(self.root.children)
        if g is None or [node_key(c.data) for c in children] != [item_key(vh) for vh in g.virtual_hosts]:
            return False  # a virtual host came or went
        cursor = self._path_of(self.cursor_node)
        self._take(model)
        self.root.set_label(self._root_label(g))
        for node, vh in zip(children, g.virtual_hosts, strict=True):
            self._refresh(node, vh)
        if cursor and not self._attached(self.cursor_node):
            self._find_cursor(cursor)  # its node was rebuilt: the cursor goes to the one in its place
        return True

    def _refresh(self, node: UINode[NodeData], item: Any) -> None:
        """Point a node at this model's item; relabel it only if what its label shows changed."""
        data = node.data
        key = self._label_key(data, item)
        if key != getattr(data, "label_key", None):
            node.set_label(self._label(data, item))
        if isinstance(data, DelegateData):
            data.node = item
        elif isinstance(data, TableData):
            data.table = item
        elif isinstance(data, RouteData):
            data.source = item
        if isinstance(data, (VhostData, DelegateData, TableData)):
            data.label_key = key
            if data.loaded:
                self._sync(node, self._children(data))
        elif isinstance(data, RouteData):
            data.label_key = key

    def _sync(self, parent: UINode[NodeData], items: list[Any]) -> None:
        """Bring a loaded node's children to `items`: in place while the keys line up, else rebuilt."""
        children = list(parent.children)
        more = children.pop() if children and isinstance(children[-1].data, MoreData) else None
        if len(items) < len(children) or any(not _same_item(c.data, i) and node_key(c.data) != item_key(i)
                                             for c, i in zip(children, items, strict=False)):
            self._refill(parent, items)
            return
        for child, item in zip(children, items, strict=False):  # items may go on past the loaded ones
            self._refresh(child, item)
        rest = items[len(children):]
        data = parent.data
        if more is not None and rest:  # as many pages loaded as before: the rest stays behind "more"
            assert isinstance(more.data, MoreData)
            more.data.items = rest
            more.set_label(self._more_label(rest))
        elif more is not None:
            self._remove(more)
        elif rest and isinstance(data, (VhostData, DelegateData, TableData)):  # all were loaded: so are new ones
            self._add_items(parent, data.gateway, data.vhost, rest)

    def _refill(self, parent: UINode[NodeData], items: list[Any]) -> None:
        """Rebuild a node's children, keeping what was open below it."""
        data = parent.data
        assert isinstance(data, (VhostData, DelegateData, TableData))
        state = self._capture(parent)
        for child in list(parent.children):
            self._remove(child)
        self._add_items(parent, data.gateway, data.vhost, items, state.shown.get((), PAGE))
        self._restore(parent, (), state)

    def _remove(self, node: UINode[NodeData]) -> None:
        self._drop_data(node)
        node.remove()

    def _capture(self, node: UINode[NodeData]) -> TreeState:
        """The expanded nodes and loaded pages below `node`, by key paths relative to it."""
        state = TreeState()

        def walk(current: UINode[NodeData], path: Path) -> None:
            data = current.data
            if getattr(data, "loaded", False):
                state.shown[path] = sum(1 for c in current.children if not isinstance(c.data, MoreData))
            for child in current.children:
                if child.allow_expand:
                    below = (*path, node_key(child.data))
                    if child.is_expanded:
                        state.expanded.add(below)
                    walk(child, below)
        walk(node, ())
        return state

    def _restore(self, node: UINode[NodeData], path: Path, state: TreeState) -> None:
        """Re-open below `node` what `state` says was open (new nodes, same keys)."""
        for child in node.children:
            below = (*path, node_key(child.data))
            if below in state.expanded:
                self._populate(child, state.shown.get(below, PAGE))
                child.expand()
                self._restore(child, below, state)

    def _path_of(self, node: UINode[NodeData] | None) -> Path:
        path: list[NodeKey] = []
        while node is not None and node.parent is not None:
            path.append(node_key(node.data))
            node = node.parent
        return tuple(reversed(path))

    def _attached(self, node: UINode[NodeData] | None) -> bool:
        while node is not None and node.parent is not None:
            if node not in node.parent.children:
                return False
            node = node.parent
        return node is self.root

    def _find_cursor(self, path: Path) -> None:
        """Put the cursor on the node at `path` among the loaded ones, or on its nearest ancestor there."""
        node = self.root
        for key in path:
            child = next((c for c in node.children if node_key(c.data) == key), None)
            if child is None:
                break
            node = child
        if node is not self.root:
            self.pending_cursor = node  # moved to once the tree's lines are rebuilt (show, after the batch)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Add/remove many nodes with one cache invalidation and one layout refresh at the end."""
        self._batching += 1
        try:
            yield
        finally:
            self._batching -= 1
            if not self._batching and self._invalidated:
                self._invalidated = False
                super()._invalidate()

    def _invalidate(self) -> None:
        # Textual invalidates the line caches and requests a layout after every node added; in a batch that
        # happens once (nothing is drawn before the batch ends: it runs on the UI thread)
        if self._batching:
            self._invalidated = True
            return
        super()._invalidate()

    def get_label_width(self, node: UINode[NodeData]) -> int:
        # what render_label's text measures (toggle icon + label), without rendering it: the line index asks
        # for every loaded node's width after each rebuild
        label = node.label
        width = label.cell_len if isinstance(label, Text) else cell_len(str(label))
        if node.allow_expand:
            width += cell_len(self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE)
        return width

    def render_lines(self, crop: Region) -> list[Strip]:
        # Tree asks for rich_style once per line, and each time it walks every ancestor's styles; it cannot
        # change while one frame is rendered
        self._frame_style = super().rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._frame_style = None

    @property
    def rich_style(self) -> Style:
        return self._frame_style if self._frame_style is not None else super().rich_style

    def process_label(self, label: str | Text) -> Text:
        # Textual copies every label (split into lines); one-line Text labels are used as they are, so the
        # cached route labels are shared, never copied (render_label copies before styling)
        if isinstance(label, Text) and "\n" not in label.plain:
            return label
        return super().process_label(label)

    def _drop_data(self, node: UINode[NodeData]) -> None:
        """Detach old nodes from the model: removed tree nodes form reference cycles, and a model reachable
        from cyclic garbage would only be freed by a full GC pass (a UI stall with 10k routes)."""
        stack = [node]
        while stack:
            current = stack.pop()
            data = current.data
            if isinstance(data, RouteData) and self.route_nodes.get(data.key) is current:
                del self.route_nodes[data.key]
            current.data = None
            stack.extend(current.children)

    def _children(self, data: NodeData) -> list[Any]:
        model = self.model
        if model is None or data is None:
            return []
        if isinstance(data, VhostData):
            vh = model.vhost(data.gateway, data.vhost)
            if vh is None:
                return []
            if self.filter_text.strip():
                return [e.route for e in self._matches.get(data.vhost, [])]
            return list(vh.routes) if self.mode == "envoy" else list(vh.tree)
        if isinstance(data, DelegateData):
            return list(data.node.tables)
        if isinstance(data, TableData):
            return list(data.table.routes)
        return []

    def _populate(self, node: UINode[NodeData], count: int = PAGE) -> None:
        data = node.data
        if not isinstance(data, (VhostData, DelegateData, TableData)) or data.loaded:
            return
        data.loaded = True
        with self.batch():
            self._add_items(node, data.gateway, data.vhost, self._children(data), count)

    def _add_items(self, parent: UINode[NodeData], gateway: str, vhost: str, items: list[Any],
                   count: int = PAGE) -> None:
        """The first `count` items (a page, or as many as were loaded before a rebuild), then a "more" node."""
        count = max(count, PAGE)
        for item in items[:count]:
            self._add_item(parent, gateway, vhost, item)
        rest = items[count:]
        if rest:
            parent.add_leaf(self._more_label(rest), MoreData(rest, (gateway, vhost)))

    @staticmethod
    def _more_label(rest: list[Any]) -> Text:
        return Text(f"… {len(rest):,} more (enter to show {min(PAGE, len(rest))})", style="italic")

    def _add_item(self, parent: UINode[NodeData], gateway: str, vhost: str, item: Any) -> None:
        model = self.model
        assert model is not None
        if isinstance(item, TableNode):
            table = TableData(gateway, vhost, item, label_key=self._label_key(None, item))
            parent.add(self._table_label(item), table, allow_expand=True)
            return
        if isinstance(item, TreeNode) and item.is_delegate:
            delegate = DelegateData(gateway, vhost, item, label_key=self._label_key(None, item))
            parent.add(self._delegate_label(item), delegate, allow_expand=True)
            return
        if isinstance(item, TreeNode):
            rid = item.flat_ids[0] if item.flat_ids else ""
            flat = model.route(gateway, vhost, rid)
        else:
            flat = item
            rid = flat.id
        data = RouteData(gateway, vhost, rid, item)
        data.label_key = self._route_label_key(data, flat, item)
        leaf = parent.add_leaf(self._cached_route_label(data, flat, item), data)
        self.route_nodes[data.key] = leaf

    def load_more(self, node: UINode[NodeData]) -> None:
        data = node.data
        if not isinstance(data, MoreData) or node.parent is None:
            return
        parent = node.parent
        with self.batch():
            node.remove()
            gateway, vhost = data.make
            self._add_items(parent, gateway, vhost, data.items)

    # -- labels --------------------------------------------------------------------------------------
    def _root_label(self, g: GatewayView) -> Text:
        label = self._gateway_label(g.name, len(g.virtual_hosts))
        if g.listener_index is not None:  # Gloo v2: gateway → listener → host → routes
            label.append(f"  listener {g.listener_index}, port {g.default_port}", style=self.semantic.muted)
        return label

    def _label_key(self, data: NodeData, item: Any) -> Any:
        """What the label of `item`'s node shows, cheap to compare: equal keys, equal labels."""
        if isinstance(item, VirtualHostView):
            owner = item.owner
            return (type(owner), owner.namespace, owner.name, tuple(item.domains), len(item.routes), item.invalid,
                    self._vhost_matches(item))
        if isinstance(item, TableNode):
            return (item.table.namespace, item.table.name, item.weight, item.via, len(item.routes))
        if isinstance(item, TreeNode) and item.is_delegate:
            return (item.route, item.link.route_index, item.matchers, item.sort_method, tuple(item.problems))
        assert isinstance(data, RouteData)
        return self._route_label_key(data, self._flat(data), item)

    def _label(self, data: NodeData, item: Any) -> Text:
        if isinstance(item, VirtualHostView):
            return self._vhost_label(item, self._vhost_matches(item))
        if isinstance(item, TableNode):
            return self._table_label(item)
        if isinstance(item, TreeNode) and item.is_delegate:
            return self._delegate_label(item)
        assert isinstance(data, RouteData)
        return self._cached_route_label(data, self._flat(data), item)

    def _flat(self, data: RouteData) -> FlattenedRoute | None:
        return self.model.route(*data.key) if self.model is not None else None

    def _route_label_key(self, data: RouteData, flat: FlattenedRoute | None, item: Any) -> tuple[Any, ...]:
        """Everything _route_label reads (identities first: a reused route's model objects are the same)."""
        model = self.model
        assert model is not None
        written = (item.route.name, item.link.route_index) if isinstance(item, TreeNode) else None
        flags = (self.matched == data.key, self.mode, bool(self.filter_text.strip()))
        if flat is None:
            return (written, data.route_id, flags)
        place = model.index_of(*data.key)
        owner = flat.owner_ref if flags[1] == "envoy" or flags[2] else None  # (a property: only when shown)
        # the route's findings stand in for its marks (equal findings, equal marks), without building them
        return (written, flags, place, flat.position.reason, flat.name, flat.route,
                flat.matchers, flat.replaced_by_direct_response, owner, flat.valid, flat.problems,
                model.by_route.get(flat.id))

    def _gateway_label(self, name: str, count: int) -> Text:
        return Text.assemble(("VirtualGateway ", "bold"), (name, "bold"), (f"  {count} virtual host(s)",
                                                                            self.semantic.muted))

    def _vhost_label(self, vh: VirtualHostView, matches: int | None) -> Text:
        if isinstance(vh.owner, RouteTableV2):  # v2: a host of the listener, served by its root RouteTable(s)
            head: tuple[str, str] = ("host ", "bold")
            detail = f"  root RouteTable {vh.owner.namespace}/{vh.owner.name}"
        else:
            head, detail = ("VirtualHost ", "bold"), "  " + ", ".join(vh.domains)
        text = Text.assemble(head, (vh.name, "bold"), (detail, self.semantic.muted),
                             (f"  {len(vh.routes)} routes", self.semantic.muted))
        if matches is not None:
            text.append(f"  {matches} match(es)", style=self.semantic.matched)
        if vh.invalid:
            text.append("  ✗ invalid: no routes produced", style=self.semantic.invalid)
        return text

    def _delegate_label(self, node: TreeNode) -> Text:
        name = node.route.name or f"#{node.link.route_index}"
        match = " | ".join(m.describe() for m in node.matchers) or "(no matcher)"
        sort = node.sort_method or "TABLE_WEIGHT"
        text = Text.assemble(("↳ ", self.semantic.delegated), (name, "bold"), f"  {match}  ",
                             (f"delegate, sorted by {sort}", self.semantic.delegated))
        if node.problems:
            text.append("  ✗ " + "; ".join(node.problems), style=self.semantic.invalid)
        return text

    def _table_label(self, t: TableNode) -> Text:
        return Text.assemble(("RouteTable ", self.semantic.delegated), (f"{t.table.namespace}/{t.table.name}", "bold"),
                             (f"  weight {t.weight}, via {t.via}, {len(t.routes)} route(s)", self.semantic.muted))

    def _cached_route_label(self, data: RouteData, flat: FlattenedRoute | None, item: Any) -> Text:
        """The route's label, built once per model, colours and display flags (labels are never mutated)."""
        if self._labels_semantic is not self.semantic or len(self._labels) >= LABEL_CACHE:
            self._labels, self._labels_semantic = {}, self.semantic
        key = (data.key, id(item), self.matched == data.key, self.mode == "envoy" or bool(self.filter_text.strip()))
        label = self._labels.get(key)
        if label is None:
            label = self._labels[key] = self._route_label(data, flat, item)
        return label

    def _route_label(self, data: RouteData, flat: FlattenedRoute | None, item: Any) -> Text:
        model = self.model
        assert model is not None
        c = self.semantic
        place = model.index_of(*data.key) if flat is not None else None
        matched = self.matched == data.key
        text = Text()
        text.append("▶ " if matched else "  ", style=f"bold {c.matched}")
        text.append(f"[{place}] " if place is not None else "[-] ", style=c.muted)
        if isinstance(item, TreeNode):
            name = item.route.name or f"#{item.link.route_index}"
        else:
            name = flat.name if flat else data.route_id
        text.append(name or "(unnamed)", style=f"bold {c.matched}" if matched else "bold")
        if flat is None:
            return text
        text.append(f"  {flat.describe_match()}  ")
        text.append(describe_action(flat))
        if self.mode == "envoy" or self.filter_text.strip():
            text.append(f"  {flat.owner_ref}", style=c.muted)
        if flat.position.reason:
            text.append(f"  ({flat.position.reason})", style=c.muted)
        for mark in model.marks(flat):
            if mark == "shadowed":
                text.append("  ⚠ shadowed", style=f"bold {c.shadowed}")
            elif mark == "partial":
                text.append("  ◐ partially shadowed", style=c.partial)
            elif mark == "invalid":
                why = "; ".join(flat.problems) if flat.problems else "invalid"
                text.append(f"  ✗ {why}", style=f"bold {c.invalid}")
        return text

    def relabel(self, keys: Iterable[tuple[str, str, str] | None]) -> None:
        if self.model is None:
            return
        for key in keys:
            node = self.route_nodes.get(key) if key else None
            if node is not None and isinstance(node.data, RouteData):
                flat = self.model.route(*key)  # type: ignore[misc]
                node.set_label(self._route_label(node.data, flat, node.data.source))
                node.data.label_key = self._route_label_key(node.data, flat, node.data.source)

    def set_matched(self, key: tuple[str, str, str] | None) -> None:
        old, self.matched = self.matched, key
        self.relabel([old, key])

    # -- navigation ----------------------------------------------------------------------------------
    def selected_route(self) -> RouteData | None:
        node = self.cursor_node
        return node.data if node is not None and isinstance(node.data, RouteData) else None

    def _path_to(self, vh: VirtualHostView, route_id: str) -> list[Any] | None:
        def walk(nodes: list[TreeNode]) -> list[Any] | None:
            for n in nodes:
                if n.is_delegate:
                    for t in n.tables:
                        sub = walk(t.routes)
                        if sub is not None:
                            return [n, t, *sub]
                elif route_id in n.flat_ids:
                    return [n]
            return None
        return walk(vh.tree)

    def _find_child(self, parent: UINode[NodeData], target: Any) -> UINode[NodeData] | None:
        while True:
            more = None
            for child in parent.children:
                d = child.data
                if isinstance(d, RouteData) and (d.source is target or (isinstance(target, str) and d.route_id == target)):
                    return child
                if isinstance(d, DelegateData) and d.node is target:
                    return child
                if isinstance(d, TableData) and d.table is target:
                    return child
                if isinstance(d, MoreData):
                    more = child
            if more is None:
                return None
            self.load_more(more)

    def reveal(self, gateway: str, vhost: str, route_id: str) -> bool:
        """Expand down to a route (populating lazily) and put the cursor on it."""
        model = self.model
        if model is None or gateway != self.gateway:
            return False
        vh_node = next((n for n in self.root.children if isinstance(n.data, VhostData) and n.data.vhost == vhost), None)
        vh = model.vhost(gateway, vhost)
        if vh_node is None or vh is None:
            return False
        self._populate(vh_node)
        vh_node.expand()
        if self.mode == "envoy" or self.filter_text.strip():
            path: list[Any] = [route_id]
        else:
            found = self._path_to(vh, route_id)
            if found is None:
                return False
            path = found
        node = vh_node
        for step in path:
            child = self._find_child(node, step)
            if child is None:
                return False
            self._populate(child)
            if child.allow_expand:
                child.expand()
            node = child
        self.pending_cursor = node
        # line numbers of new nodes exist only after the tree has rebuilt its lines
        self._move_to_pending(5)
        return True

    def _move_to_pending(self, tries: int) -> None:
        node = self.pending_cursor
        if node is None:
            return
        _ = self.last_line  # rebuilds the line index when nodes were added
        if node._line >= 0:
            self.pending_cursor = None
            self.move_cursor(node)
            self.scroll_to_node(node, animate=False)
        elif tries > 0:
            self.call_after_refresh(self._move_to_pending, tries - 1)

    # -- events --------------------------------------------------------------------------------------
    def on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeData]) -> None:
        self._populate(event.node)

    def expand_all_loaded(self) -> None:
        """Expand every node down to the routes (populating as it goes; pages stay paged)."""
        def expand(node: UINode[NodeData]) -> None:
            self._populate(node)
            if node.allow_expand:
                node.expand()
            for child in node.children:
                expand(child)
        expand(self.root)
