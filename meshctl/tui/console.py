"""The typed handle screens and widgets have on the console app: the state they read and the few calls they make.

Widgets mix in `ConsoleAccess` and use `self.console` instead of probing `self.app` with getattr; MeshctlApp
provides every member (a test in tests/tui keeps it so), so a rename breaks loudly, not silently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from textual.dom import DOMNode

if TYPE_CHECKING:
    from ..model.resources import Resource
    from ..routing.types import FlattenedRoute
    from .editing import AppliedEdit
    from .integrations import FailoverControl, XdsLink
    from .sandbox_adapter import RequestStore
    from .state import ConsoleModel
    from .themes import SemanticColors


class ConsoleState(Protocol):
    """What the console's screens and widgets may read and call on the app."""

    read_only: bool
    model: ConsoleModel | None
    store: RequestStore
    xds: XdsLink | None
    failover: FailoverControl | None
    envoy_admins: list[Any]
    last_apply: AppliedEdit | None
    drafts: dict[str, str]  # file → unsaved editor text

    @property
    def semantic(self) -> SemanticColors: ...

    def focus_active_pane(self) -> None: ...

    def open_editor(self, resource: Resource, path: tuple[Any, ...] = ()) -> None: ...

    def test_route_sample(self, gateway: str, vhost: str, route: FlattenedRoute, witness: str | None) -> None: ...

    def main_ready(self) -> None: ...


MEMBERS = ("read_only", "model", "store", "xds", "failover", "envoy_admins", "last_apply", "drafts", "semantic",
           "focus_active_pane", "open_editor", "test_route_sample", "main_ready")


class ConsoleAccess:
    """Mixin for screens and widgets: `self.console` is the app, typed as ConsoleState."""

    @property
    def console(self) -> ConsoleState:
        return cast("ConsoleState", cast(DOMNode, self).app)
