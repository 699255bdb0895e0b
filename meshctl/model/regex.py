"""RE2 (Envoy's regex engine) compilation with errors returned as text instead of logged to stderr."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterator

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False


@lru_cache(maxsize=4096)
def _compile(pattern: str) -> tuple[Any, str | None]:
    try:
        return re2.compile(pattern, _OPTIONS), None
    except re2.error as exc:
        detail = exc.args[0] if exc.args else str(exc)
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        return None, str(detail)
    except (TypeError, ValueError) as exc:
        return None, str(exc)


def regex_error(pattern: str) -> str | None:
    """Why RE2 rejects `pattern`, or None when it compiles."""
    if len(pattern) <= 1000 and _PLAINLY_VALID.fullmatch(pattern):
        return None  # certain to compile: no need to build the program (it is built when something matches)
    return _compile(pattern)[1]


# Route regexes are mostly literals, `.`, `.*`, `\d+` and simple classes such as `[0-9]+`, and under a
# delegating route they become `escaped-parent-prefix(?:child)`. This recognises (with Python's re, which
# only reads the pattern's text here; matching is RE2's) a subset of RE2 syntax that RE2 always accepts:
# literals, `.`, escaped punctuation, \d \w \s and their negations, classes of single characters and the
# ranges 0-9 a-z A-Z, each optionally followed by one of * + ? (and ? for laziness); non-capturing groups
# of those, not nested; `^` first and `$` last. No alternation or counted repetition. A test checks that
# RE2 compiles whatever it accepts.
_ATOM = r"""(?:[A-Za-z0-9 _/~%!@#&=:;,'"<>`-]|\.|\\[dDwWsS]|\\[!-/:-@\[-`{-~]|\[\^?(?:0-9|a-z|A-Z|[A-Za-z0-9_./])+\])"""
_QUANTIFIER = r"(?:[*+?]\??)?"
_SEQUENCE = f"(?:{_ATOM}{_QUANTIFIER})*"
_PLAINLY_VALID = re.compile(f"\\^?{_SEQUENCE}(?:\\(\\?:{_SEQUENCE}\\){_QUANTIFIER}{_SEQUENCE})*\\$?")


def compile_re2(pattern: str, ignore_case: bool = False) -> Any:
    """A compiled RE2 pattern (raises ValueError with RE2's message when invalid)."""
    compiled, err = _compile(f"(?i){pattern}" if ignore_case else pattern)
    if compiled is None:
        raise ValueError(err)
    return compiled


def full_match(pattern: str, text: str, ignore_case: bool = False) -> bool:
    return compile_re2(pattern, ignore_case).fullmatch(text) is not None


_RE2_META = set(".^$*+?()[]{}|\\")
_QUANTIFIERS = set("*?{")


def _structure(pattern: str, start: int = 0) -> Iterator[tuple[int, str, int]]:
    """(index, character, group depth before it) of each unescaped character outside character classes:
    the only ones that open or close groups or separate alternatives."""
    depth, i, in_class = 0, start, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[i + 1: i + 2] == "]" or pattern[i + 1: i + 3] == "^]":  # "[]...]": ']' is literal
                i += 2 if pattern[i + 1] == "]" else 3
                continue
        else:
            yield i, c, depth
            depth += (c == "(") - (c == ")")
        i += 1


def _top_level_alternation(pattern: str) -> bool:
    return any(c == "|" and depth == 0 for _, c, depth in _structure(pattern))


def _group_end(pattern: str, start: int) -> int | None:
    """Index of the `)` closing the group opened at `start` (escapes and character classes skipped)."""
    return next((i for i, c, depth in _structure(pattern, start) if c == ")" and depth == 1), None)


@lru_cache(maxsize=65536)  # shadow analysis asks again for every route a changed stretch may reach
def literal_prefix(pattern: str) -> str:
    """Characters every full match of the RE2 `pattern` must start with ('' when unsure)."""
    if _top_level_alternation(pattern):
        return ""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("(?:", i):
            # a merged child regex is `escaped(parent)(?:child)`: the group's own literal prefix still counts
            # when the group is not repeated or optional and has no alternation of its own
            end = _group_end(pattern, i)
            if end is not None and pattern[end + 1: end + 2] not in _QUANTIFIERS:
                body = pattern[i + 3: end]
                if not _top_level_alternation(body):
                    out.append(literal_prefix(body))
            break
        if c == "\\":
            nxt = pattern[i + 1: i + 2]
            if not nxt or nxt.isalnum() or nxt == "_":
                break  # \d, \Q, \pL, \x41 ...: not a plain literal
            lit, step = nxt, 2
        elif c in _RE2_META:
            break
        else:
            lit, step = c, 1
        follow = pattern[i + step: i + step + 1]
        if follow in _QUANTIFIERS:
            break  # this character may be absent or repeated
        out.append(lit)
        if follow == "+":
            break
        i += step
    return "".join(out)
