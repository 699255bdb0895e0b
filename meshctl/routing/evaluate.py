"""The one request matcher: does an effective matcher take a request, by Envoy's rules, and if not, why not.

Used by the sandbox, by shadow analysis (to prove witnesses) and by the tests, so all three agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from ..model.regex import compile_re2
from .matchers import EffectiveMatcher


@dataclass
class Request:
    method: str = "GET"
    authority: str = ""
    path: str = "/"  # as on the wire: may carry "?query"
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names; repeated values joined by ","
    scheme: str = "http"

    @cached_property
    def path_only(self) -> str:
        return self.path.split("?", 1)[0]

    @cached_property
    def query(self) -> dict[str, str]:
        """Query parameters as written (Envoy matches them undecoded: q=x%20y has value 'x%20y'), first one wins."""
        out: dict[str, str] = {}
        if "?" not in self.path:
            return out
        raw = self.path.split("?", 1)[1].split("#", 1)[0]
        for part in raw.split("&"):
            if not part:
                continue
            name, _, value = part.partition("=")
            if name not in out:
                out[name] = value
        return out

    def header(self, name: str) -> str | None:
        if name == ":method":
            return self.method
        if name == ":authority" or name == "host":
            return self.authority
        if name == ":path":
            return self.path
        if name == ":scheme":
            return self.scheme
        return self.headers.get(name)

    def describe(self) -> str:
        extra = "".join(f" -H '{k}: {v}'" for k, v in self.headers.items())
        return f"{self.method} {self.scheme}://{self.authority}{self.path}{extra}"


def path_failure(m: EffectiveMatcher, req: Request) -> str | None:
    kind = m.path_kind
    if kind == "prefix":
        # Envoy compares the prefix with the whole :path, query string included
        target = req.path
        ok = target.lower().startswith(m.path.lower()) if m.ignore_case else target.startswith(m.path)
        return None if ok else f"prefix {m.path} does not match {req.path_only}"
    path = req.path_only
    if kind == "exact":
        ok = path.lower() == m.path.lower() if m.ignore_case else path == m.path
        return None if ok else f"exact {m.path} does not match {path}"
    if kind == "regex":
        try:
            ok = compile_re2(m.path).fullmatch(path) is not None
        except ValueError:
            return f"regex {m.path} is invalid"
        return None if ok else f"regex {m.path} does not match {path}"
    ok = path.lower().endswith(m.path.lower()) if m.ignore_case else path.endswith(m.path)
    return None if ok else f"suffix {m.path} does not match {path}"


def first_failure(m: EffectiveMatcher, req: Request) -> str | None:
    """The first condition of `m` that `req` fails, as a sentence; None when `m` takes the request."""
    why = path_failure(m, req)
    if why:
        return why
    if m.method and req.method != m.method:
        return f"method {m.method} required, got {req.method}"
    for h in m.headers:
        have = req.header(h.name)
        if not h.value:
            present = have is not None
            if present == h.invert:
                return f"header {h.name} must be {'absent' if h.invert else 'present'}"
            continue
        if have is None:  # Envoy: a value match fails on a missing header, inverted or not
            return f"{h.describe()} required, header missing"
        if h.regex:
            try:
                hit = compile_re2(h.value).fullmatch(have) is not None
            except ValueError:
                return f"header regex {h.value} is invalid"
        else:
            hit = have == h.value
        if hit == h.invert:
            return f"{h.describe()} required, got {have!r}"
    if m.query:
        params = req.query
        for q in m.query:
            have = params.get(q.name)
            if have is None:
                return f"{q.describe()} required, parameter missing"
            if not q.value:
                continue
            if q.regex:
                try:
                    hit = compile_re2(q.value).fullmatch(have) is not None
                except ValueError:
                    return f"query regex {q.value} is invalid"
            else:
                hit = have == q.value
            if not hit:
                return f"{q.describe()} required, got {have!r}"
    return None


def matches(m: EffectiveMatcher, req: Request) -> bool:
    return first_failure(m, req) is None
