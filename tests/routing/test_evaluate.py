"""The shared request matcher against Envoy's rules (the cases meshctl's own reasoning depends on)."""

from __future__ import annotations

import pytest

from meshctl.routing.evaluate import Request, first_failure
from meshctl.routing.matchers import EffectiveMatcher, HeaderCondition, QueryCondition

E = EffectiveMatcher
H = HeaderCondition
Q = QueryCondition

CASES = [
    # (matcher, request, taken?)
    (E("prefix", "/a"), Request(path="/abc"), True),  # a string prefix, not a segment prefix
    (E("prefix", "/a?x"), Request(path="/a?x=1"), True),  # prefix sees the query string
    (E("prefix", "/A", ignore_case=True), Request(path="/a/b"), True),
    (E("prefix", "/A"), Request(path="/a/b"), False),
    (E("exact", "/a"), Request(path="/a?x=1"), True),  # exact ignores the query
    (E("exact", "/a"), Request(path="/a/"), False),
    (E("regex", "/a/[0-9]+"), Request(path="/a/12?x"), True),  # full match of the path without the query
    (E("regex", "/a/[0-9]+"), Request(path="/a/12/x"), False),
    (E("regex", "/a"), Request(path="/a/b"), False),
    (E("suffix", ".css"), Request(path="/x/a.css?v=1"), True),
    (E(method="POST"), Request(method="GET"), False),
    (E(headers=(H("x", "1"),)), Request(headers={"x": "1"}), True),
    (E(headers=(H("x", "1"),)), Request(headers={}), False),
    (E(headers=(H("x"),)), Request(headers={"x": ""}), True),  # presence, any value
    (E(headers=(H("x", invert=True),)), Request(headers={}), True),  # absent
    (E(headers=(H("x", invert=True),)), Request(headers={"x": "1"}), False),
    (E(headers=(H("x", "1", invert=True),)), Request(headers={"x": "2"}), True),
    (E(headers=(H("x", "1", invert=True),)), Request(headers={"x": "1"}), False),
    # Envoy fails a value match on a missing header, inverted or not
    (E(headers=(H("x", "1", invert=True),)), Request(headers={}), False),
    (E(headers=(H("x", "1|2", regex=True, invert=True),)), Request(headers={}), False),
    (E(headers=(H("x", "[0-9]+", regex=True),)), Request(headers={"x": "12a"}), False),
    (E(headers=(H(":method", "PUT"),)), Request(method="PUT"), True),
    (E(query=(Q("v", "1"),)), Request(path="/?v=1"), True),
    (E(query=(Q("v", "1"),)), Request(path="/?v=2&v=1"), False),  # first value wins
    (E(query=(Q("v"),)), Request(path="/?v"), True),
    (E(query=(Q("v"),)), Request(path="/?w=1"), False),
    # Envoy matches query values undecoded
    (E(query=(Q("q", "x%20y"),)), Request(path="/?q=x%20y"), True),
    (E(query=(Q("q", "x y"),)), Request(path="/?q=x%20y"), False),
    (E(query=(Q("q", "[a-z]+", regex=True),)), Request(path="/?q=abc"), True),
]


@pytest.mark.parametrize(("matcher", "request_", "taken"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_first_failure(matcher: EffectiveMatcher, request_: Request, taken: bool) -> None:
    why = first_failure(matcher, request_)
    assert (why is None) == taken, why
    if why is not None:
        assert isinstance(why, str) and why
