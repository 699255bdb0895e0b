"""Console themes: YAML files with Textual base colours plus semantic colours (matched, shadowed, synced, ...).

Built-in themes ship inside the package (meshctl/tui/themes/*.yaml, their only copy);
extra directories can add or override themes. Semantic colours reach TCSS as `$route-shadowed` etc. and
Python rendering (tree labels, tables) through `SemanticColors`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any, Iterable

import yaml
from textual.theme import Theme

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


def parse_theme(data: Any, source: str = "<theme>") -> ConsoleTheme:
    if not isinstance(data, dict):
        raise ThemeError(f"{source}: a theme is a mapping with name, dark, base and semantic")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ThemeError(f"{source}: name is required")
    dark = bool(data.get("dark", True))
    base = data.get("base") or {}
    semantic = data.get("semantic") or {}
    if not isinstance(base, dict) or not isinstance(semantic, dict):
        raise ThemeError(f"{source}: base and semantic must be mappings of colours")
    unknown = set(base) - set(BASE_KEYS)
    if unknown:
        raise ThemeError(f"{source}: unknown base colours {sorted(unknown)} (known: {', '.join(BASE_KEYS)})")
    if "primary" not in base:
        raise ThemeError(f"{source}: base.primary is required")
    known = {f.name for f in fields(SemanticColors)}
    bad = set(semantic) - known
    if bad:
        raise ThemeError(f"{source}: unknown semantic colours {sorted(bad)} (known: {', '.join(sorted(known))})")
    defaults = DEFAULT_DARK if dark else DEFAULT_LIGHT
    values = {f.name: str(semantic.get(f.name, getattr(defaults, f.name))) for f in fields(SemanticColors)}
    return ConsoleTheme(name, dark, {k: str(v) for k, v in base.items()}, SemanticColors(**values), source)


def load_theme_file(path: Path) -> ConsoleTheme:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ThemeError(f"{path}: {exc}") from exc
    return parse_theme(data, str(path))


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
