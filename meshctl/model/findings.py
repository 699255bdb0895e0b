"""Findings: every error, warning or note meshctl reports about the operator's configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True)
class Finding:
    """One problem, located as precisely as we can: file:line:column, resource and field path."""

    severity: Severity
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    resource: str | None = None  # "Kind namespace/name"
    path: str | None = None  # "spec.routes[2].matchers[0].uri"
    routes: tuple[str, ...] = field(default=())  # route ids involved (routing diagnostics)
    witness: str | None = None  # a request that proves the finding (e.g. shadowing)

    def location(self) -> str:
        if not self.file:
            return "<unknown>"
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.column or 1}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "severity": self.severity.value,
            "code": self.code,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "resource": self.resource,
            "path": self.path,
            "message": self.message,
        }
        if self.routes:
            out["routes"] = list(self.routes)
        if self.witness:
            out["witness"] = self.witness
        return out

    def render(self) -> str:
        where = self.location()
        what = " ".join(p for p in (self.resource, self.path) if p)
        what = f" {what}:" if what else ""
        return f"{where}: {self.severity.value}[{self.code}]{what} {self.message}"


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(
        findings,
        key=lambda f: (f.file or "", f.line or 0, f.column or 0, f.severity.rank, f.code),
    )


def format_path(path: tuple[Any, ...]) -> str:
    """('spec', 'routes', 2, 'uri') -> 'spec.routes[2].uri'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out
