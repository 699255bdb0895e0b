"""The one object a plugin command receives: the loaded configuration and every capability of meshctl's core.

This is a stable, documented surface (docs/plugins.md). Attributes are computed on first use, so a plugin pays
only for what it touches. Parts that need a running server or the demo return None when absent.
"""

from __future__ import annotations

import json
import sys
from functools import cached_property
from typing import Any, Callable, TextIO

import yaml

from ..model.findings import Finding
from ..model.snapshot import Snapshot, load_snapshot
from ..routing.types import RoutingView


class ReadOnlyError(PermissionError):
    """A mutating operation was attempted under --read-only."""


class Output:
    """Writes results in the format the operator asked for (-o text|json|yaml)."""

    def __init__(self, fmt: str = "text", stream: TextIO | None = None) -> None:
        self.format = fmt
        self.stream = stream or sys.stdout

    def write(self, text: str) -> None:
        self.stream.write(text if text.endswith("\n") else text + "\n")

    def data(self, value: Any, text: Callable[[Any], str] | None = None) -> None:
        """Structured data: JSON/YAML as asked, else `text(value)` (or a readable default)."""
        if self.format == "json":
            self.write(json.dumps(value, indent=2, default=str))
        elif self.format == "yaml":
            self.write(yaml.safe_dump(value, sort_keys=False))
        else:
            self.write(text(value) if text else _plain(value))

    def table(self, header: list[str], rows: list[list[Any]]) -> None:
        if self.format in ("json", "yaml"):
            self.data([dict(zip(header, row, strict=False)) for row in rows])
            return
        cells = [header] + [[str(c) for c in row] for row in rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
        self.write("\n".join("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in cells))


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, sort_keys=False).rstrip()


class MeshctlAPI:
    """What plugins script: sources and snapshot, route trees and diagnostics, the sandbox, xDS, failover."""

    def __init__(self, snapshot: Snapshot, *, output: Output | None = None, read_only: bool = False,
                 sources: list[dict[str, Any]] | None = None, xds: Any = None, failover: Any = None,
                 context: dict[str, str] | None = None) -> None:
        self.snapshot = snapshot
        self.output = output or Output()
        self.read_only = read_only
        self.sources = sources if sources is not None else [{"name": f, "kind": "file"} for f in snapshot.files]
        self.xds = xds  # an object with status() and push(), when a server is attached
        self.failover = failover  # an object with trigger(target, mode) and restore(target), when available
        self.context = context or {}

    # -- routing ----------------------------------------------------------------------------------
    @cached_property
    def view(self) -> RoutingView:
        from ..routing.view import build_routing_view

        return build_routing_view(self.snapshot)

    @cached_property
    def diagnostics(self) -> list[Finding]:
        from ..routing.lint import lint

        return lint(self.snapshot, self.view)

    @cached_property
    def mesh(self) -> Any:
        from ..mesh.index import MeshIndex

        return MeshIndex(self.snapshot)

    # -- the sandbox ------------------------------------------------------------------------------
    @cached_property
    def sandbox(self) -> Any:
        """The request sandbox (meshctl.sandbox.Sandbox) over this configuration."""
        from ..sandbox import Sandbox

        return Sandbox(self.snapshot, self.view, self.mesh)

    def test(self, request: str, headers: list[str] | None = None, gateway: str | None = None,
             from_locality: str | None = None) -> dict[str, Any]:
        """What Envoy would do with "[METHOD] URL" (headers as "name: value"): the same JSON object as
        `meshctl test-route -o json`."""
        from ..mesh.index import Locality
        from ..sandbox import parse_request

        req = parse_request(request.split(), list(headers or []))
        result = self.sandbox.evaluate(req, gateway, Locality.parse(from_locality))
        return result.to_dict()

    # -- other configurations (diff) -------------------------------------------------------------
    def load(self, paths: list[str], demo: bool = False) -> "MeshctlAPI":
        return MeshctlAPI(load_snapshot(paths, demo=demo), output=self.output, read_only=self.read_only)

    # -- changes ----------------------------------------------------------------------------------
    def require_writable(self, what: str) -> None:
        if self.read_only:
            raise ReadOnlyError(f"{what} is refused: meshctl runs with --read-only")

    def push(self) -> Any:
        """Recompute and push the xDS configuration to connected Envoys (when a server is attached)."""
        self.require_writable("an xDS push")
        if self.xds is None:
            raise RuntimeError("no xDS server is attached")
        return self.xds.push()

    def xds_status(self) -> list[dict[str, Any]]:
        if self.xds is None:
            return []
        return [c.to_dict() if hasattr(c, "to_dict") else c for c in self.xds.status()]
