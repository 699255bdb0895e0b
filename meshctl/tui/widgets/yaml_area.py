"""A TextArea for YAML: highlighting without tree-sitter (a small line tokenizer, cached per line) and
marked lines (errors, the focused route) drawn through the same highlight map."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from rich.style import Style
from textual.widgets import TextArea

from ..console import ConsoleAccess

_KEY = re.compile(r"^(\s*(?:-\s+)*)([^\s#'\"][^:#]*?|\"[^\"]*\"|'[^']*')(\s*:)(?=\s|$)")
_DASH = re.compile(r"^(\s*)(-)(?=\s|$)")
_COMMENT = re.compile(r"(^|\s)(#.*)$")
_NUMBER = re.compile(r"^-?(\d+(\.\d+)?|0x[0-9a-fA-F]+)$")
_BOOL = re.compile(r"^(true|false|True|False|null|~|yes|no)$")

Highlight = tuple[int, "int | None", str]


def _b(text: str, index: int) -> int:
    """Character index → UTF-8 byte offset (the TextArea's highlight map is in bytes)."""
    return len(text[:index].encode("utf-8"))


@lru_cache(maxsize=8192)
def highlight_line(line: str) -> tuple[Highlight, ...]:
    """Highlights of one YAML line: keys, comments, strings, numbers, booleans, document markers."""
    out: list[Highlight] = []
    if line.startswith("---") or line.startswith("..."):
        return ((0, None, "heading.marker"),)
    body_end = len(line)
    comment = _COMMENT.search(line)
    if comment and line.count('"', 0, comment.start(2)) % 2 == 0 and line.count("'", 0, comment.start(2)) % 2 == 0:
        out.append((_b(line, comment.start(2)), None, "comment"))
        body_end = comment.start(2)
    body = line[:body_end]
    value_start = 0
    key = _KEY.match(body)
    if key:
        out.append((_b(line, key.start(2)), _b(line, key.end(2)), "yaml.field"))
        value_start = key.end(3)
    else:
        dash = _DASH.match(body)
        if dash:
            value_start = dash.end(2)
    value = body[value_start:].strip()
    if value:
        start = body.index(value, value_start)
        end = start + len(value)
        if value[0] in "\"'":
            kind = "string"
        elif _NUMBER.match(value):
            kind = "number"
        elif _BOOL.match(value):
            kind = "boolean"
        elif value[0] in "|>":
            kind = "operator"
        elif value[0] in "&*!":
            kind = "type"
        elif value[0] in "[{":
            kind = ""
        else:
            kind = "string"
        if kind:
            out.append((_b(line, start), _b(line, end), kind))
    return tuple(out)


class YamlArea(ConsoleAccess, TextArea):
    """`marks`: 0-based line → highlight name ("meshctl.error" / "meshctl.focus"), styled from the app theme."""

    def __init__(self, text: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("show_line_numbers", True)
        kwargs.setdefault("tab_behavior", "indent")
        # set before TextArea.__init__: it builds the highlight map and theme already
        self.marks: dict[int, str] = {}
        self.mark_styles: dict[str, Style] = {"meshctl.error": Style(bgcolor="#5a1e1e", underline=True),
                                              "meshctl.focus": Style(bgcolor="#1e3a5a")}
        super().__init__(text, **kwargs)

    def on_mount(self) -> None:
        self.use_theme_colors()

    def use_theme_colors(self) -> None:
        """Error and focus line colours from the app's theme (semantic `invalid`, theme `primary`)."""
        from textual.color import Color

        theme = self.app.current_theme
        semantic = self.console.semantic
        background = Color.parse(theme.background or ("#101010" if theme.dark else "#ffffff"))
        invalid = Color.parse(semantic.invalid)
        focus = Color.parse(theme.primary)
        self.mark_styles.update({
            "meshctl.error": Style(bgcolor=background.blend(invalid, 0.35).rich_color, underline=True),
            "meshctl.focus": Style(bgcolor=background.blend(focus, 0.25).rich_color),
        })
        self._apply_mark_styles()
        self.refresh()

    def set_marks(self, marks: dict[int, str], styles: dict[str, Style] | None = None) -> None:
        self.marks = dict(marks)
        if styles:
            self.mark_styles.update(styles)
        self._apply_mark_styles()
        self._build_highlight_map()
        self.refresh()

    def _apply_mark_styles(self) -> None:
        theme = getattr(self, "_theme", None)
        if theme is not None:
            theme.syntax_styles.update(self.mark_styles)

    def _set_theme(self, theme: str) -> None:  # Textual internal: re-add our styles to each new theme copy
        super()._set_theme(theme)
        if self.is_mounted:
            self.use_theme_colors()
        else:
            self._apply_mark_styles()

    def _build_highlight_map(self) -> None:  # Textual internal: called after every edit
        self._line_cache.clear()
        highlights = self._highlights
        highlights.clear()
        document = getattr(self, "document", None)
        if document is None:
            return
        for index, line in enumerate(document.lines):
            items = list(highlight_line(line))
            mark = self.marks.get(index)
            if mark:
                items.insert(0, (0, None, mark))
            if items:
                highlights[index].extend(items)
