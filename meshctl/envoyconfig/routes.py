"""Envoy routes as matchable objects: string, header, query and path matchers with Envoy's exact semantics.

Each matcher answers `holds(...)` the way Envoy's C++ does (source/common/router/config_impl.cc,
source/common/http/header_utility.cc, source/common/common/matchers.cc); `describe()` says it in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..model.regex import compile_re2

# what a header lookup returns for a request: the value (repeated headers joined by ","), or None
HeaderLookup = Callable[[str], "str | None"]


@dataclass(slots=True)
class StringMatch:
    """type.matcher.v3.StringMatcher. ignore_case has no effect on safe_regex (Envoy's documented rule)."""

    kind: str  # exact | prefix | suffix | contains | regex
    value: str
    ignore_case: bool = False
    _regex: Any = None

    def __post_init__(self) -> None:
        if self.kind == "regex":
            self._regex = compile_re2(self.value)

    def holds(self, text: str) -> bool:
        kind = self.kind
        if kind == "regex":
            return self._regex.fullmatch(text) is not None
        value = self.value
        if self.ignore_case:
            text, value = text.lower(), value.lower()
        if kind == "exact":
            return text == value
        if kind == "prefix":
            return text.startswith(value)
        if kind == "suffix":
            return text.endswith(value)
        return value in text

    def describe(self) -> str:
        op = {"exact": "=", "prefix": "^=", "suffix": "$=", "contains": "*=", "regex": "~"}[self.kind]
        return f"{op}{self.value}" + (" (ignore case)" if self.ignore_case and self.kind != "regex" else "")

    def to_dict(self) -> dict[str, Any]:
        key = "safe_regex" if self.kind == "regex" else self.kind
        out: dict[str, Any] = {key: {"regex": self.value} if self.kind == "regex" else self.value}
        if self.ignore_case:
            out["ignore_case"] = True
        return out


@dataclass(slots=True)
class HeaderMatch:
    """route.v3.HeaderMatcher: a value match fails on a missing header, inverted or not, unless
    treat_missing_header_as_empty; present_match compares presence (then inverts)."""

    name: str  # lower-case
    string: StringMatch | None = None
    present: bool | None = None  # present_match (or no specifier: present)
    range: tuple[int, int] | None = None  # [start, end)
    invert: bool = False
    missing_as_empty: bool = False

    def holds(self, lookup: HeaderLookup) -> bool:
        value = lookup(self.name)
        if value is None and self.missing_as_empty:  # also for presence checks (the differential test shows it)
            value = ""
        if self.present is not None:
            return ((value is not None) == self.present) != self.invert
        if value is None:
            return False
        if self.range is not None:
            number = _simple_atoi(value)
            hit = number is not None and self.range[0] <= number < self.range[1]
        else:
            assert self.string is not None
            hit = self.string.holds(value)
        return hit != self.invert

    def describe(self) -> str:
        neg = "not " if self.invert else ""
        if self.present is not None:
            return f"header {self.name} {neg}{'present' if self.present else 'absent'}"
        if self.range is not None:
            core = f"header {self.name} {neg}in [{self.range[0]}, {self.range[1]})"
        else:
            assert self.string is not None
            core = f"header {self.name} {neg}{self.string.describe()}"
        return core + (" (missing = empty)" if self.missing_as_empty else "")


def _simple_atoi(text: str) -> int | None:
    """absl::SimpleAtoi for int64: optional surrounding ASCII whitespace, optional sign, decimal digits."""
    s = text.strip(" \t\n\v\f\r")
    body = s[1:] if s[:1] in ("+", "-") else s
    if not body or not body.isascii() or not body.isdigit():
        return None
    number = int(s)
    return number if -(2 ** 63) <= number < 2 ** 63 else None


@dataclass(slots=True)
class QueryMatch:
    """route.v3.QueryParameterMatcher on the first value of the parameter, undecoded."""

    name: str
    string: StringMatch | None = None
    present: bool | None = None

    def holds(self, params: dict[str, str]) -> bool:
        value = params.get(self.name)
        if self.present is not None:
            return (value is not None) == self.present
        if value is None:
            return False
        return self.string is None or self.string.holds(value)

    def describe(self) -> str:
        if self.present is not None:
            return f"query {self.name} {'present' if self.present else 'absent'}"
        if self.string is None:
            return f"query {self.name} present"
        return f"query {self.name}{self.string.describe()}"


@dataclass(slots=True)
class PathMatch:
    """The path specifier of a RouteMatch. Every kind compares the path without its query string."""

    kind: str  # prefix | path | safe_regex | path_separated_prefix | uri_template | connect | none
    value: str
    ignore_case: bool = False  # not case_sensitive (no effect on safe_regex / uri_template)
    _regex: Any = None

    def __post_init__(self) -> None:
        if self.kind in ("safe_regex", "uri_template"):
            self._regex = compile_re2(self.value if self.kind == "safe_regex" else template_regex(self.value))

    def matched_length(self, path: str) -> int | None:
        """None when the path does not match; else how much of it the rewrite replaces (Envoy's matched_path)."""
        kind = self.kind
        if kind == "prefix":
            ok = path.lower().startswith(self.value.lower()) if self.ignore_case else path.startswith(self.value)
            return len(self.value) if ok else None
        if kind == "path":
            ok = path.lower() == self.value.lower() if self.ignore_case else path == self.value
            return len(path) if ok else None
        if kind in ("safe_regex", "uri_template"):
            return len(path) if self._regex.fullmatch(path) is not None else None
        if kind == "path_separated_prefix":
            n = len(self.value)
            if len(path) < n:
                return None
            head = path[:n]
            ok = head.lower() == self.value.lower() if self.ignore_case else head == self.value
            return n if ok and (len(path) == n or path[n] == "/") else None
        return None  # connect_matcher: only CONNECT requests, which the sandbox does not send

    def describe(self) -> str:
        name = {"path": "exact", "safe_regex": "regex", "path_separated_prefix": "path-separated prefix",
                "uri_template": "uri template"}.get(self.kind, self.kind)
        return f"{name} {self.value}" + (" (ignore case)" if self.ignore_case else "")


# -- URI templates (envoy.path.match.uri_template / envoy.path.rewrite.uri_template) -------------------

_LITERAL = "-a-zA-Z0-9._~%!$&'()+,;:@="


def _operator_regex(op: str) -> str:
    return f"[{_LITERAL}]+" if op == "*" else f"[{_LITERAL}/]*"


def template_regex(template: str) -> str:
    """RE2 for a URI template: `*` one segment, `**` any segments (last only), `{var}`/`{var=...}` capture."""
    out = []
    for segment in template.split("/")[1:]:
        piece = ""
        i = 0
        while i < len(segment):
            ch = segment[i]
            if ch == "{":
                end = segment.index("}", i)
                name, _, sub = segment[i + 1:end].partition("=")
                inner = "/".join(_operator_regex(p) if p in ("*", "**") else _escape(p) for p in
                                 (sub.split("/") if sub else ["*"]))
                piece += f"(?P<{name}>{inner})"
                i = end + 1
            elif segment.startswith("**", i):
                piece += _operator_regex("**")
                i += 2
            elif ch == "*":
                piece += _operator_regex("*")
                i += 1
            else:
                piece += _escape(ch)
                i += 1
        out.append(piece)
    return "/" + "/".join(out)


def _escape(text: str) -> str:
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in text)


def template_rewrite(match_template: str, rewrite_template: str, path: str) -> str | None:
    compiled = compile_re2(template_regex(match_template))
    m = compiled.fullmatch(path)
    if m is None:
        return None
    out = rewrite_template
    for name, value in m.groupdict().items():
        out = out.replace("{" + name + "}", value or "")
    return out


# -- actions --------------------------------------------------------------------------------------

@dataclass(slots=True)
class WeightedTarget:
    name: str
    weight: int
    host_rewrite_literal: str | None = None


@dataclass
class RouteTarget:
    """route.v3.RouteAction: which cluster, and how path and host are rewritten."""

    cluster: str | None = None
    cluster_header: str | None = None
    weighted: list[WeightedTarget] = field(default_factory=list)
    weighted_header: str | None = None  # weighted_clusters.header_name: the random value from a header
    prefix_rewrite: str | None = None
    regex_rewrite: tuple[str, str] | None = None  # (pattern, substitution)
    template_rewrite: str | None = None
    host_rewrite_literal: str | None = None
    host_rewrite_header: str | None = None
    host_rewrite_path_regex: tuple[str, str] | None = None
    auto_host_rewrite: bool = False
    cluster_not_found_code: int = 503


@dataclass
class RedirectTarget:
    """route.v3.RedirectAction, all fields."""

    scheme: str | None = None  # scheme_redirect, or "https" for https_redirect
    host: str | None = None
    port: int | None = None
    path: str | None = None
    prefix_rewrite: str | None = None
    regex_rewrite: tuple[str, str] | None = None
    status: int = 301
    strip_query: bool = False


@dataclass
class DirectTarget:
    status: int
    body: str | None = None


@dataclass
class EnvoyRoute:
    """One route of a virtual host, compiled; `raw` is the route as the configuration holds it."""

    index: int
    name: str
    vhost: str
    path: PathMatch
    headers: tuple[HeaderMatch, ...] = ()
    query: tuple[QueryMatch, ...] = ()
    grpc: bool = False
    runtime: tuple[int, int, str] | None = None  # (numerator, denominator, runtime key)
    kind: str = "route"  # route | redirect | direct_response | non_forwarding | filter_action
    target: RouteTarget | RedirectTarget | DirectTarget | None = None
    unmodelled_match: list[str] = field(default_factory=list)  # conditions the sandbox cannot decide
    unmodelled: list[str] = field(default_factory=list)  # parts of the action the sandbox does not model
    request_headers_to_add: list[tuple[str, str, str]] = field(default_factory=list)  # (name, value, action)
    request_headers_to_remove: list[str] = field(default_factory=list)
    response_headers_to_add: list[tuple[str, str, str]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        return self.name or f"#{self.index}"

    @property
    def id(self) -> str:
        return f"{self.vhost}/{self.label}"

    @property
    def owner_ref(self) -> str:
        return f"virtual host {self.vhost}"

    def describe_match(self) -> str:
        parts = [self.path.describe()]
        parts.extend(h.describe() for h in self.headers)
        parts.extend(q.describe() for q in self.query)
        if self.grpc:
            parts.append("grpc")
        if self.runtime is not None:
            parts.append(f"runtime {self.runtime[2] or '(no key)'} {self.runtime[0]}/{self.runtime[1]}")
        parts.extend(f"unmodelled {u}" for u in self.unmodelled_match)
        return ", ".join(parts)


@dataclass
class VirtualCluster:
    name: str
    headers: tuple[HeaderMatch, ...]


@dataclass
class EnvoyVirtualHost:
    name: str
    domains: list[str]
    routes: list[EnvoyRoute]
    require_tls: str = "NONE"
    virtual_clusters: list[VirtualCluster] = field(default_factory=list)
    request_headers_to_add: list[tuple[str, str, str]] = field(default_factory=list)
    request_headers_to_remove: list[str] = field(default_factory=list)
    response_headers_to_add: list[tuple[str, str, str]] = field(default_factory=list)
    unmodelled: list[str] = field(default_factory=list)


@dataclass
class EnvoyRouteConfig:
    """A RouteConfiguration as Envoy holds it, plus what the listener's HTTP connection manager does first."""

    name: str
    virtual_hosts: list[EnvoyVirtualHost]
    ignore_port_in_host_matching: bool = False
    ignore_path_parameters: bool = False
    request_headers_to_add: list[tuple[str, str, str]] = field(default_factory=list)
    request_headers_to_remove: list[str] = field(default_factory=list)
    response_headers_to_add: list[tuple[str, str, str]] = field(default_factory=list)
    most_specific_header_mutations_wins: bool = False
    clusters: frozenset[str] | None = None  # the clusters Envoy knows (config dumps only)
    # from the HTTP connection manager of the chosen listener
    listener: str = ""
    listener_port: int | None = None
    strip_any_host_port: bool = False
    strip_matching_host_port: bool = False
    merge_slashes: bool = False
    notes: list[str] = field(default_factory=list)  # things the HCM does that the sandbox does not model

    def all_routes(self) -> list[tuple[EnvoyVirtualHost, EnvoyRoute]]:
        return [(v, r) for v in self.virtual_hosts for r in v.routes]
