"""Turning what an operator types ("GET http://host/path", -H 'name: value') into a checked Request."""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from ..routing.evaluate import Request
from ..routing.hosts import split_authority

# Envoy's default max_request_headers_kb: a request whose headers exceed it gets 431 before any routing.
MAX_HEADER_BYTES = 60 * 1024

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 token (methods, header names)
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<authority>[^/?#]*)(?P<rest>.*)$", re.DOTALL)
_REG_NAME = re.compile(r"^[A-Za-z0-9\-._~%!$&'()*+,;=]+$")
_IPV6 = re.compile(r"^\[[0-9A-Fa-f:.]+\]$")
_SCHEMELESS = re.compile(r"^[A-Za-z0-9\-.]+(:\d+)?(/|$)")
KNOWN_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE")


class RequestError(ValueError):
    """A request that cannot be sent as typed; the message is one line an operator can act on."""


_BAD_CHAR = re.compile(r"[^\x20-\x7e]")


def _check_ascii(text: str, what: str) -> None:
    bad = _BAD_CHAR.search(text)
    if bad is None:
        return
    i, ch = bad.start(), bad.group()
    if ord(ch) > 127:
        hint = ("percent-encode it (" + "".join(f"%{b:02X}" for b in ch.encode("utf-8")) + ")"
                if what in ("URL", "path") else "HTTP/1 header fields must be ASCII")
        raise RequestError(f"non-ASCII character {ch!r} at position {i} of the {what}: {hint}")
    raise RequestError(f"control character {ch!r} at position {i} of the {what}")


def check_authority(authority: str, where: str = "URL") -> str:
    """The authority, validated: host[:port], no user info, port 1-65535."""
    _check_ascii(authority, "host")
    if not authority:
        raise RequestError(f"the {where} has no host: write it as http://HOST[:PORT]/PATH")
    if "@" in authority:
        raise RequestError(f"user info ('{authority.split('@')[0]}@') is not allowed in the {where}'s host")
    if " " in authority:
        raise RequestError(f"space in the host {authority!r}")
    host, port = split_authority(authority)
    if not host or not (_REG_NAME.match(host) or _IPV6.match(host)):
        raise RequestError(f"malformed host {authority!r} in the {where}")
    if port is not None and (not port.isdigit() or not 0 < int(port) < 65536):
        raise RequestError(f"malformed port {port!r} in host {authority!r}: expected 1-65535")
    return authority


def check_path(path: str) -> str:
    _check_ascii(path, "path")
    if " " in path:
        raise RequestError("space in the path: percent-encode it as %20")
    if not path.startswith("/"):
        raise RequestError(f"the path must start with '/', got {path[:40]!r}")
    return path


def parse_url(url: str, default_authority: str | None = None) -> tuple[str, str, str]:
    """(scheme, authority, path with query). A bare "/path" takes `default_authority` when one is given."""
    _check_ascii(url, "URL")
    if any(c.isspace() for c in url):
        raise RequestError(f"whitespace inside the URL {url[:60]!r}")
    m = _URL.match(url)
    if m is None:
        if url.startswith("/") and default_authority:
            scheme, authority, rest = "http", default_authority, url
        else:
            raise RequestError(f"malformed URL {url[:80]!r}: expected http://HOST[:PORT]/PATH")
    else:
        scheme, authority, rest = m.group("scheme").lower(), m.group("authority"), m.group("rest")
    if scheme not in ("http", "https"):
        raise RequestError(f"unsupported scheme {scheme!r} in {url[:80]!r}: use http:// or https://")
    check_authority(authority)
    rest = rest.split("#", 1)[0]  # a client never sends the fragment
    if not rest or rest.startswith("?"):
        rest = "/" + rest
    return scheme, authority, check_path(rest)


def check_method(method: str) -> str:
    _check_ascii(method, "method")
    if not _TOKEN.match(method):
        raise RequestError(f"malformed method {method!r}")
    return method


def parse_header(text: str) -> tuple[str, str]:
    """'name: value' -> (lower-case name, value)."""
    if text.startswith(":"):
        raise RequestError(f"pseudo-header in {text[:60]!r}: set the method, host and path in the request itself")
    if ":" not in text:
        raise RequestError(f"header {text[:60]!r} has no colon: write it as 'name: value'")
    name, value = text.split(":", 1)
    return check_header(name.strip(), value.strip())


def check_header(name: str, value: str) -> tuple[str, str]:
    _check_ascii(name, f"header name {name!r}")
    if name.startswith(":"):
        raise RequestError(f"pseudo-header {name!r} cannot be set as a header: put it in the request itself")
    if not name or not _TOKEN.match(name):
        raise RequestError(f"malformed header name {name!r}")
    for i, ch in enumerate(value):
        if ord(ch) > 127:
            raise RequestError(f"non-ASCII character {ch!r} at position {i} of the value of header {name}: "
                               "HTTP/1 header fields must be ASCII")
        if (ord(ch) < 32 and ch != "\t") or ch == "\x7f":
            raise RequestError(f"control character {ch!r} at position {i} of the value of header {name}")
    return name.lower(), value


def build_request(method: str, scheme: str, authority: str, path: str,
                  headers: Iterable[tuple[str, str]] = ()) -> Request:
    """A Request from checked parts; a `host` header replaces the authority (as curl does)."""
    merged: dict[str, str] = {}
    for name, value in headers:
        if name == "host":
            authority = check_authority(value, "Host header")
            continue
        merged[name] = f"{merged[name]},{value}" if name in merged else value
    size = len(method) + len(path) + len(authority) + sum(len(k) + len(v) + 4 for k, v in merged.items())
    if size > MAX_HEADER_BYTES:
        raise RequestError(f"request headers are {size} bytes (path {len(path)}); Envoy's default limit is "
                           f"60 KiB (max_request_headers_kb) and it would answer 431 before routing")
    return Request(method=method, authority=authority, path=path, headers=merged, scheme=scheme)


def split_request_words(words: Sequence[str]) -> tuple[str, str]:
    """[METHOD] URL given as one argument ("GET http://x/") or two -> (method, url)."""
    tokens = [t for w in words for t in w.split(" ") if t]  # only spaces: a tab stays, to be reported
    if not tokens:
        raise RequestError("no request given: expected [METHOD] URL")
    if len(tokens) == 1:
        return "GET", tokens[0]
    if len(tokens) == 2:
        return tokens[0], tokens[1]
    raise RequestError(f"expected [METHOD] URL, got {len(tokens)} words: {' '.join(tokens)[:80]!r}")


def parse_request(words: Sequence[str], headers: Sequence[str] = (),
                  default_authority: str | None = None) -> Request:
    """The request of `meshctl test-route [METHOD] URL -H 'name: value'...`."""
    method, url = split_request_words(words)
    check_method(method)
    scheme, authority, path = parse_url(url, default_authority)
    return build_request(method, scheme, authority, path, [parse_header(h) for h in headers])


def looks_like_url(token: str) -> bool:
    """A token that is meant as the request URL (so it is not taken for a config PATH)."""
    return "://" in token


def looks_like_schemeless_url(token: str) -> bool:
    return bool(_SCHEMELESS.match(token)) and "." in token.split("/", 1)[0]
