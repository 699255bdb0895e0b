"""RE2 (Envoy's regex engine) compilation with errors returned as text instead of logged to stderr."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

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
    return _compile(pattern)[1]


def compile_re2(pattern: str, ignore_case: bool = False) -> Any:
    """A compiled RE2 pattern (raises ValueError with RE2's message when invalid)."""
    compiled, err = _compile(f"(?i){pattern}" if ignore_case else pattern)
    if compiled is None:
        raise ValueError(err)
    return compiled


def full_match(pattern: str, text: str, ignore_case: bool = False) -> bool:
    return compile_re2(pattern, ignore_case).fullmatch(text) is not None
