"""Request parsing: what an operator types becomes a checked Request, or one clear error."""

from __future__ import annotations

import pytest

from meshctl.sandbox.request import MAX_HEADER_BYTES, RequestError, parse_request


@pytest.mark.parametrize("words, method, scheme, authority, path", [
    (["GET http://www.example.com/reviews/v1/1?x=1"], "GET", "http", "www.example.com", "/reviews/v1/1?x=1"),
    (["POST", "https://www.example.com:8443/a"], "POST", "https", "www.example.com:8443", "/a"),
    (["http://www.example.com"], "GET", "http", "www.example.com", "/"),
    (["http://www.example.com?q=1"], "GET", "http", "www.example.com", "/?q=1"),
    (["HTTP://www.example.com/x#frag"], "GET", "http", "www.example.com", "/x"),
    (["http://[::1]:8080/x"], "GET", "http", "[::1]:8080", "/x"),
])
def test_request_forms(words: list[str], method: str, scheme: str, authority: str, path: str) -> None:
    req = parse_request(words)
    assert (req.method, req.scheme, req.authority, req.path) == (method, scheme, authority, path)


def test_headers_are_lower_cased_joined_and_host_overrides_authority() -> None:
    req = parse_request(["http://a.example.com/"], ["X-Canary: 1", "x-canary: 2", "Host: b.example.com:81"])
    assert req.headers == {"x-canary": "1,2"}
    assert req.authority == "b.example.com:81"


def test_bare_path_uses_default_authority() -> None:
    req = parse_request(["/ratings/1"], default_authority="www.example.com")
    assert (req.authority, req.path) == ("www.example.com", "/ratings/1")


@pytest.mark.parametrize("words, headers, fragment", [
    (["www.example.com/x"], [], "malformed URL"),
    (["ftp://h/x"], [], "unsupported scheme 'ftp'"),
    (["http:///x"], [], "has no host"),
    (["http://h:0/x"], [], "malformed port"),
    (["http://user@h/x"], [], "user info"),
    (["http://h/caf\u00e9"], [], "non-ASCII character 'é'"),
    (["http://h/a\tb"], [], "control character"),
    (["G(T", "http://h/"], [], "malformed method"),
    (["GET", "http://h/", "extra"], [], "expected [METHOD] URL"),
    ([], [], "no request given"),
    (["http://h/"], ["no-colon"], "has no colon"),
    (["http://h/"], [":path: /x"], "pseudo-header"),
    (["http://h/"], ["bad name: x"], "malformed header name"),
    (["http://h/"], ["x-name: caf\u00e9"], "non-ASCII character"),
    (["http://h/" + "a" * 100_000], [], "60 KiB"),
])
def test_bad_requests_fail_with_one_clear_line(words: list[str], headers: list[str], fragment: str) -> None:
    with pytest.raises(RequestError) as info:
        parse_request(words, headers)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message and len(message) < 300


def test_size_limit_counts_headers_too() -> None:
    big = "v" * (MAX_HEADER_BYTES // 2)
    parse_request(["http://h/"], [f"a: {big}"])
    with pytest.raises(RequestError, match="431"):
        parse_request(["http://h/"], [f"a: {big}", f"b: {big}"])
