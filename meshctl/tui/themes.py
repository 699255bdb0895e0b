"""Console themes: YAML files with Textual base colours plus semantic colours (matched, shadowed, synced, ...).

Built-in themes ship inside the package (meshctl/tui/themes/*.yaml, their only copy);
extra directories can add or override themes. Semantic colours reach TCSS as `$route-shadowed` etc. and
Python rendering (tree labels, tables) through `SemanticColors`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any, Callable, Iterable

from textual.theme import Theme

from ..model.findings import Finding, Severity, format_path
from ..model.schema import Model, parse
from ..yamlfile import load_file

BASE_KEYS = ("primary", "secondary", "accent", "foreground", "background", "surface", "panel",
             "success", "warning", "error")


class ThemeError(Exception):
    """A theme file is malformed."""


@dataclass(frozen=True)
class SemanticColors:
    matched: str = "#5CC97B"
    shadowed: str = "#E8B341"
    partial: str = "#D9A45C"
    invalid: str = "#EF5D5D"
    delegated: str = "#8E7CC3"
    muted: str = "#7D8790"
    synced: str = "#5CC97B"
    not_sent: str = "#7D8790"
    stale: str = "#E8B341"
    nacked: str = "#EF5D5D"
    healthy: str = "#5CC97B"
    ejected: str = "#EF5D5D"

    def css_variables(self) -> dict[str, str]:
        """`$route-matched`, `$xds-synced`, `$endpoint-healthy`, ... for the stylesheet."""
        group = {"matched": "route", "shadowed": "route", "partial": "route", "invalid": "route",
                 "delegated": "route", "muted": "text", "synced": "xds", "not_sent": "xds", "stale": "xds",
                 "nacked": "xds", "healthy": "endpoint", "ejected": "endpoint"}
        return {f"{group[f.name]}-{f.name.replace('_', '-')}": getattr(self, f.name) for f in fields(self)}

    def sync_state(self, state: str) -> str:
        return {"SYNCED": self.synced, "NOT SENT": self.not_sent, "STALE": self.stale,
                "NACKED": self.nacked}.get(state, self.muted)


DEFAULT_DARK = SemanticColors()
DEFAULT_LIGHT = SemanticColors(matched="#237A3B", shadowed="#9A6A00", partial="#A0651C", invalid="#C0312F",
                               delegated="#6A4FB3", muted="#66707A", synced="#237A3B", not_sent="#66707A",
                               stale="#9A6A00", nacked="#C0312F", healthy="#237A3B", ejected="#C0312F")


@dataclass(frozen=True)
class ConsoleTheme:
    name: str
    dark: bool
    base: dict[str, str]
    semantic: SemanticColors
    path: str | None = None

    def textual_theme(self) -> Theme:
        return Theme(name=self.name, dark=self.dark, variables=self.semantic.css_variables(), **self.base)


@dataclass
class ThemeFile(Model):
    """A theme file as written, typed by the model's schema (meshctl.yamlfile) like every meshctl YAML file."""

    name: str | None = None
    dark: bool | None = None
    base: dict[str, Any] | None = None
    semantic: dict[str, Any] | None = None


def _theme(spec: ThemeFile | None, source: str, problem: Callable[[tuple[Any, ...], str], None]) -> ConsoleTheme:
    """The theme a typed file describes; `problem(path, message)` is told everything wrong with it."""
    if spec is None:
        problem((), "a theme is a mapping with name, dark, base and semantic")
        return ConsoleTheme("", True, {}, DEFAULT_DARK, source)
    if not spec.name:
        problem(("name",), "name is required")
    base, semantic = spec.base or {}, spec.semantic or {}
    unknown = set(base) - set(BASE_KEYS)
    if unknown:
        problem(("base",), f"unknown base colours {sorted(unknown)} (known: {', '.join(BASE_KEYS)})")
    if "primary" not in base:
        problem(("base",), "base.primary is required")
    known = {f.name for f in fields(SemanticColors)}
    bad = set(semantic) - known
    if bad:
        problem(("semantic",), f"unknown semantic colours {sorted(bad)} (known: {', '.join(sorted(known))})")
    dark = spec.dark if spec.dark is not None else True
    defaults = DEFAULT_DARK if dark else DEFAULT_LIGHT
    values = {f.name: str(semantic.get(f.name, getattr(defaults, f.name))) for f in fields(SemanticColors)}
    return ConsoleTheme(spec.name or "", dark, {k: str(v) for k, v in base.items()}, SemanticColors(**values), source)


def parse_theme(data: Any, source: str = "<theme>") -> ConsoleTheme:
    """A theme from data already loaded (no positions: problems name the source and the field)."""
    messages: list[str] = []

    def problem(path: tuple[Any, ...], message: str) -> None:
        messages.append(f"{source}: {format_path(path) + ': ' if path else ''}{message}")

    spec, problems = parse(ThemeFile, data) if isinstance(data, dict) else (None, None)
    for path, message in problems.items if problems is not None else []:
        problem(path, message)
    theme = _theme(spec, source, problem)
    if messages:
        raise ThemeError("; ".join(messages))
    return theme


def load_theme_file(path: Path) -> ConsoleTheme:
    """A theme file; every problem is reported at once, each with file:line:column and field path."""
    spec, doc, findings = load_file(path, ThemeFile, "theme", unknown=None)
    found = list(findings)

    def problem(where: tuple[Any, ...], message: str) -> None:
        if doc is not None:
            found.append(doc.finding(Severity.ERROR, "theme", message, where))
        else:
            found.append(Finding(Severity.ERROR, "theme", message, file=str(path)))

    theme = _theme(spec, str(path), problem) if spec is not None or not findings else None
    errors = [f for f in found if f.severity is Severity.ERROR]
    if errors or theme is None:
        raise ThemeError("; ".join(f.render() for f in errors))
    return theme


def packaged_theme_dir() -> Path:
    return Path(str(importlib_resources.files("meshctl.tui").joinpath("themes")))


def load_themes(extra_dirs: Iterable[Path] = ()) -> dict[str, ConsoleTheme]:
    """Packaged themes, then themes from `extra_dirs` (later ones override by name)."""
    out: dict[str, ConsoleTheme] = {}
    for directory in (packaged_theme_dir(), *extra_dirs):
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.yaml")):
            theme = load_theme_file(path)
            out[theme.name] = theme
    return out


def semantic_for(theme: Theme | None, themes: dict[str, ConsoleTheme]) -> SemanticColors:
    """Semantic colours of any Textual theme: ours from the file, others (e.g. "nord") from the defaults."""
    if theme is None:
        return DEFAULT_DARK
    ours = themes.get(theme.name)
    if ours is not None:
        return ours.semantic
    return DEFAULT_DARK if theme.dark else DEFAULT_LIGHT
