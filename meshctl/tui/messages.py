"""Every message a console widget posts for the app to act on, in one place, as dataclasses (what it carries)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:  # the payload types only; the widgets that post these import this module
    from ..model.findings import Finding
    from .sandbox_adapter import SandboxRequest
    from .widgets.command_line import ParsedCommand
    from .widgets.route_tree import RouteData


@dataclass
class OpenDetail(Message):
    """Show the detail screen of a route (enter on a route in the tree)."""

    route: RouteData


@dataclass
class EditRoute(Message):
    """Open the editor at a route's resource (None: the route selected in the tree)."""

    route: RouteData | None


@dataclass
class SendRequest(Message):
    """Test a request in the sandbox and highlight its route."""

    request: SandboxRequest


@dataclass
class SaveRequest(Message):
    """Keep a request in the saved list, or (as_test) append it as a router_check test case."""

    request: SandboxRequest
    as_test: bool


@dataclass
class JumpToFinding(Message):
    """Go to the route or file a diagnostics finding points at."""

    finding: Finding


@dataclass
class RunCommand(Message):
    """A line typed after `:`, parsed into its verb and words."""

    command: ParsedCommand
