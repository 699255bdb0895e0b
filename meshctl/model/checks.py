"""Checks shared by the v1beta1 and Gloo v2 validators: a findings reporter and the HTTP matcher checks."""

from __future__ import annotations

from typing import Any

from .common import HttpMatcher, StringMatch
from .findings import Finding, Severity, format_path
from .regex import regex_error
from .resources import Resource
from .schema import Model


class Reporter:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, resource: Resource, severity: Severity, code: str, message: str, path: tuple[Any, ...]) -> None:
        file, line, col = resource.locate(path)
        self.findings.append(Finding(severity, code, message, file=file, line=line, column=col,
                                     resource=resource.display, path=format_path(path) or None))


def wrongly_typed(model: Model, *keys: str) -> bool:
    """A key was written with a wrong type: already reported as wrong-type, so it is not also 'missing'."""
    return any(model._unread.get(k) is not None for k in keys)


def check_string_match(rep: Reporter, owner: Resource, sm: StringMatch, path: tuple[Any, ...]) -> None:
    kinds = sm.kinds_set()
    if len(kinds) > 1:
        rep.add(owner, Severity.ERROR, "exclusive-fields",
                f"a path matcher takes one of exact, prefix, regex, suffix; got {', '.join(kinds)}", path)
    if sm.regex is not None:
        err = regex_error(sm.regex)
        if err:
            rep.add(owner, Severity.ERROR, "bad-regex", f"RE2 rejects regex {sm.regex!r}: {err}", path + ("regex",))
    if sm.prefix is not None and sm.prefix and not sm.prefix.startswith("/"):
        rep.add(owner, Severity.WARNING, "path-no-slash", f"prefix {sm.prefix!r} does not start with '/'",
                path + ("prefix",))
    if sm.exact is not None and not sm.exact.startswith("/"):
        rep.add(owner, Severity.WARNING, "path-no-slash", f"exact path {sm.exact!r} does not start with '/'",
                path + ("exact",))


def check_matcher(rep: Reporter, owner: Resource, m: HttpMatcher, path: tuple[Any, ...]) -> None:
    if m.uri is not None:
        check_string_match(rep, owner, m.uri, path + ("uri",))
    for k, h in enumerate(m.headers):
        if not h.name and not wrongly_typed(h, "name"):
            rep.add(owner, Severity.ERROR, "missing-field", "header matcher needs a name", path + ("headers", k))
        if h.regex and h.value:
            err = regex_error(h.value)
            if err:
                rep.add(owner, Severity.ERROR, "bad-regex", f"RE2 rejects regex {h.value!r}: {err}",
                        path + ("headers", k, "value"))
    for k, q in enumerate(m.query_parameters):
        if not q.name and not wrongly_typed(q, "name"):
            rep.add(owner, Severity.ERROR, "missing-field", "query parameter matcher needs a name",
                    path + ("queryParameters", k))
        if q.regex and q.value:
            err = regex_error(q.value)
            if err:
                rep.add(owner, Severity.ERROR, "bad-regex", f"RE2 rejects regex {q.value!r}: {err}",
                        path + ("queryParameters", k, "value"))
