"""RE2 (Envoy's regex engine), not Python's `re`: what RE2 rejects is rejected here too."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshctl.model import regex
from meshctl.model.regex import compile_re2, full_match, literal_prefix, regex_error


@pytest.mark.parametrize("pattern", ["/api/v[0-9]+", "(?i)abc", "a{2,3}", "^/(users|items)/\\d+$", ""])
def test_valid_patterns_compile(pattern: str) -> None:
    assert regex_error(pattern) is None


@pytest.mark.parametrize("pattern, says", [
    ("(a", "missing )"),
    ("a)", "unexpected )"),
    ("[a-", "missing ]"),
    ("(a)\\1", "invalid escape"),  # Python's re accepts backreferences; RE2 does not
    ("(?=x)", "invalid perl operator"),  # lookahead
    ("a**", "bad repetition"),
])
def test_patterns_re2_rejects(pattern: str, says: str) -> None:
    err = regex_error(pattern)
    assert err is not None and says in err


def test_full_match_is_anchored_and_optionally_case_insensitive() -> None:
    assert full_match("/v[0-9]+", "/v12")
    assert not full_match("/v[0-9]+", "/v12/more")
    assert not full_match("/api", "/API")
    assert full_match("/api", "/API", ignore_case=True)


def test_compile_re2_raises_value_error_with_re2s_reason() -> None:
    with pytest.raises(ValueError, match="missing \\)"):
        compile_re2("(unclosed")
    assert compile_re2("a+").fullmatch("aaa") is not None


# --- the shortcut that skips compiling plainly valid patterns -------------------------------------------------

REGEX_PIECES = st.sampled_from(["a", "Z", "0", "/", "-", "_", ".", "*", "+", "?", "\\d", "\\w", "\\S", "\\.", "\\q",
                                "\\1", "\\", "[0-9]", "[a-z", "[^/]", "[9-0]", "[]", "(", ")", "|", "^", "$", "{2}",
                                "[A-Za-z_]", " ", "#", "`", "é", "[.-]", "(?:", "(?", "|", "$"])


@settings(max_examples=2000, deadline=None)
@given(st.lists(REGEX_PIECES, max_size=8).map("".join))
def test_the_shortcut_only_accepts_what_re2_accepts(pattern: str) -> None:
    assert regex._PLAINLY_VALID.fullmatch(pattern) is None or regex._compile(pattern)[1] is None
    assert (regex_error(pattern) is None) == (regex._compile(pattern)[1] is None)


@pytest.mark.parametrize("pattern", ["/r12/[0-9]+", "/api/.*", "\\d+\\.\\d+", "[^/]+/items", "/v1/[a-zA-Z_]+?",
                                     "/l1\\-3/l2\\-5(?:/r120/[0-9]+)", "^/api/v[0-9]+(?:/items)?$"])
def test_typical_route_regexes_take_the_shortcut(pattern: str) -> None:
    assert regex._PLAINLY_VALID.fullmatch(pattern) is not None


@pytest.mark.parametrize(("pattern", "prefix"), [
    ("/orders/v[0-9]+/.*", "/orders/v"),
    ("/a|/b", ""),  # an alternative at the top: nothing is certain
    ("/api/(?:/v1|/v2)", "/api/"),  # the merged child has alternatives of its own
    ("/api/(?:/v1.*)", "/api//v1"),  # a merged child regex: its own literal prefix still counts
    ("/api/(?:/v1)?", "/api/"),  # an optional group adds nothing
    ("/x[|(]y", "/x"),  # '|' and '(' inside a class are literals, not structure
    ("/x[]|]z(?:/q)", "/x"),  # ']' first in a class is literal: the class ends at the second ']'
])
def test_literal_prefix_reads_the_pattern_structure(pattern: str, prefix: str) -> None:
    assert literal_prefix(pattern) == prefix
