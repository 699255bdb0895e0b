"""Envoy router_check_tool test files (plus meshctl assertions): strict loading, and appending new cases."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

from ..model import blockyaml, yamldoc
from ..model.gcpause import gc_paused
from ..model.regex import regex_error
from ..routing.evaluate import Request
from .request import RequestError, build_request, check_authority, check_header, check_method, check_path

_Loader = yamldoc.Loader
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class CaseFileError(ValueError):
    """A test file that cannot be used; the message names the file (with line and column once located), the case
    index and the field."""

    def __init__(self, message: str, index: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.index, self.field = index, field


@dataclass
class TestCase:
    __test__ = False  # not a pytest class

    index: int
    name: str
    request: Request
    validate: dict[str, Any]
    random_value: int | None = None
    workload: str | None = None  # meshctl: answer as this workload's sidecar (NS/NAME[@CLUSTER], Gloo v2)


@dataclass
class CaseFile:
    path: str
    cases: list[TestCase]


# -- field types (exact Python types as YAML/JSON produce them: bool is not an integer here) ----------

_TYPE_NAMES: dict[type, str] = {str: "a string", int: "an integer", bool: "true or false", list: "a list",
                                dict: "a mapping", type(None): "null"}

INPUT_FIELDS: dict[str, type] = {
    "authority": str, "path": str, "method": str, "additional_request_headers": list,
    "additional_response_headers": list, "ssl": bool, "internal": bool, "random_value": int,
    "runtime": str, "dynamic_metadata": list,
    # meshctl
    "workload": str,
}

VALIDATE_FIELDS: dict[str, type] = {
    # router_check_tool
    "cluster_name": str, "virtual_cluster_name": str, "virtual_host_name": str, "host_rewrite": str,
    "path_rewrite": str, "path_redirect": str, "code_redirect": int,
    "request_header_matches": list, "response_header_matches": list,
    "request_header_fields": list, "response_header_fields": list,
    # meshctl
    "route_name": str, "route_owner": str, "direct_response_status": int,
    "direct_response_body": str, "destination": dict, "no_match": bool, "gateway": str,
    "delegation_chain": list,
}

DESTINATION_FIELDS: dict[str, type | tuple[type, ...]] = {
    "kind": str, "name": str, "namespace": str, "cluster": str, "subset": (dict, type(None)),
}

_STRING_MATCH_KINDS = ("exact", "prefix", "suffix", "contains", "safe_regex")
_HEADER_MATCH_KINDS = ("exact_match", "prefix_match", "suffix_match", "contains_match", "safe_regex_match",
                       "present_match", "range_match", "string_match")


def _describe(value: Any) -> str:
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "mapping",
            type(None): "null"}.get(type(value), type(value).__name__)
    text = repr(value) if not isinstance(value, (list, dict)) else ""
    return f"{kind} {text[:40]}".rstrip()


def _fits(value: Any, expected: type | tuple[type, ...]) -> bool:
    return type(value) in expected if isinstance(expected, tuple) else type(value) is expected


class _Checker:
    def __init__(self, source: str, index: int | None = None, name: str | None = None) -> None:
        self.source, self.index, self.name = source, index, name

    def fail(self, field: str, message: str) -> CaseFileError:
        where = f"{self.source}: "
        if self.index is not None:
            where += f"tests[{self.index}]" + (f" ({self.name!r})" if self.name else "") + ": "
        return CaseFileError(f"{where}{field}: {message}", self.index, field)

    def typed(self, field: str, value: Any, expected: type | tuple[type, ...]) -> Any:
        if not _fits(value, expected):
            names = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in
                                (expected if isinstance(expected, tuple) else (expected,)))
            raise self.fail(field, f"must be {names}, got {_describe(value)}")
        return value

    def mapping(self, field: str, value: Any, allowed: dict[str, Any]) -> dict[str, Any]:
        self.typed(field, value, dict)
        for key, item in value.items():
            expected = allowed.get(key)
            if expected is None:
                raise self.fail(f"{field}.{key}", f"unknown field (known: {', '.join(sorted(allowed))})")
            if type(item) is not expected and not _fits(item, expected):
                self.typed(f"{field}.{key}", item, expected)
        return value


def _check_header_matcher(ck: _Checker, field: str, hm: Any) -> None:
    ck.typed(field, hm, dict)
    allowed = {"name", "invert_match", "treat_missing_header_as_empty", *_HEADER_MATCH_KINDS}
    for key in hm:
        if key not in allowed:
            raise ck.fail(f"{field}.{key}", f"unknown field (known: {', '.join(sorted(allowed))})")
    ck.typed(f"{field}.name", hm.get("name"), str)
    kinds = [k for k in _HEADER_MATCH_KINDS if k in hm]
    if len(kinds) > 1:
        raise ck.fail(field, f"give one match kind, got {', '.join(kinds)}")
    for flag in ("invert_match", "treat_missing_header_as_empty", "present_match"):
        if flag in hm:
            ck.typed(f"{field}.{flag}", hm[flag], bool)
    for key in ("exact_match", "prefix_match", "suffix_match", "contains_match"):
        if key in hm:
            ck.typed(f"{field}.{key}", hm[key], str)
    if "safe_regex_match" in hm:
        _check_regex(ck, f"{field}.safe_regex_match", hm["safe_regex_match"])
    if "range_match" in hm:
        r = ck.typed(f"{field}.range_match", hm["range_match"], dict)
        for key in ("start", "end"):
            ck.typed(f"{field}.range_match.{key}", r.get(key), int)
    if "string_match" in hm:
        sm = ck.typed(f"{field}.string_match", hm["string_match"], dict)
        present = [k for k in _STRING_MATCH_KINDS if k in sm]
        if len(present) != 1:
            raise ck.fail(f"{field}.string_match", f"give exactly one of {', '.join(_STRING_MATCH_KINDS)}")
        for key in sm:
            if key not in (*_STRING_MATCH_KINDS, "ignore_case"):
                raise ck.fail(f"{field}.string_match.{key}", "unknown field")
        if "ignore_case" in sm:
            ck.typed(f"{field}.string_match.ignore_case", sm["ignore_case"], bool)
        if "safe_regex" in sm:
            _check_regex(ck, f"{field}.string_match.safe_regex", sm["safe_regex"])
        else:
            ck.typed(f"{field}.string_match.{present[0]}", sm[present[0]], str)


def _check_regex(ck: _Checker, field: str, value: Any) -> None:
    ck.typed(field, value, dict)
    regex = ck.typed(f"{field}.regex", value.get("regex"), str)
    err = regex_error(regex)
    if err:
        raise ck.fail(f"{field}.regex", f"RE2 rejects {regex!r}: {err}")


def _key_values(ck: _Checker, field: str, items: list[Any]) -> list[tuple[str, str]]:
    out = []
    for i, item in enumerate(items):
        f = f"{field}[{i}]"
        ck.typed(f, item, dict)
        for key in item:
            if key not in ("key", "value"):
                raise ck.fail(f"{f}.{key}", "unknown field (known: key, value)")
        out.append((ck.typed(f"{f}.key", item.get("key"), str), ck.typed(f"{f}.value", item.get("value", ""), str)))
    return out


def parse_case(ck: _Checker, raw: Any) -> TestCase:
    index = ck.index or 0
    ck.typed("test", raw, dict)
    for key in raw:
        if key not in ("test_name", "input", "validate"):
            raise ck.fail(key, "unknown field (known: test_name, input, validate)")
    name = ck.typed("test_name", raw.get("test_name"), str)
    ck.name = name
    if "input" not in raw:
        raise ck.fail("input", "missing")
    inp = ck.mapping("input", raw["input"], INPUT_FIELDS)
    for required in ("authority", "path"):
        if required not in inp:
            raise ck.fail(f"input.{required}", "missing")
    try:
        method = check_method(inp.get("method", "GET"))
    except RequestError as exc:
        raise ck.fail("input.method", str(exc)) from None
    try:
        authority = check_authority(inp["authority"], "authority")
    except RequestError as exc:
        raise ck.fail("input.authority", str(exc)) from None
    try:
        path = check_path(inp["path"])
    except RequestError as exc:
        raise ck.fail("input.path", str(exc)) from None
    headers: list[tuple[str, str]] = []
    for i, (key, value) in enumerate(_key_values(ck, "input.additional_request_headers",
                                                   inp.get("additional_request_headers", []))):
        try:
            headers.append(check_header(key, value))
        except RequestError as exc:
            raise ck.fail(f"input.additional_request_headers[{i}]", str(exc)) from None
    scheme = "http"
    if "ssl" in inp:  # router_check sets x-forwarded-proto from ssl
        scheme = "https" if inp["ssl"] else "http"
        headers.append(("x-forwarded-proto", scheme))
    if inp.get("internal"):
        headers.append(("x-envoy-internal", "true"))
    random_value = inp.get("random_value")
    if random_value is not None and random_value < 0:
        raise ck.fail("input.random_value", "must not be negative")
    try:
        request = build_request(method, scheme, authority, path, headers)
    except RequestError as exc:
        raise ck.fail("input", str(exc)) from None

    if "validate" not in raw:
        raise ck.fail("validate", "missing (router_check needs at least one assertion)")
    validate = ck.mapping("validate", raw["validate"], VALIDATE_FIELDS)
    if not validate:
        raise ck.fail("validate", "is empty: give at least one assertion")
    if "destination" in validate:
        ck.mapping("validate.destination", validate["destination"], DESTINATION_FIELDS)
        for label, value in (validate["destination"].get("subset") or {}).items():
            ck.typed(f"validate.destination.subset.{label}", value, str)
    for key in ("request_header_matches", "response_header_matches"):
        for i, hm in enumerate(validate.get(key, [])):
            _check_header_matcher(ck, f"validate.{key}[{i}]", hm)
    for key in ("request_header_fields", "response_header_fields"):
        if key in validate:
            _key_values(ck, f"validate.{key}", validate[key])
    for i, item in enumerate(validate.get("delegation_chain", [])):
        ck.typed(f"validate.delegation_chain[{i}]", item, str)
    workload = inp.get("workload")
    if workload is not None:
        from ..routing.v2_eastwest import WorkloadError, parse_workload

        try:
            parse_workload(workload)
        except WorkloadError as exc:
            raise ck.fail("input.workload", str(exc)) from None
    return TestCase(index, name, request, validate, random_value, workload)


def parse_cases(data: Any, source: str) -> list[TestCase]:
    top = _Checker(source)
    if not isinstance(data, dict):
        raise top.fail("top level", f"must be a mapping with a 'tests' list, got {_describe(data)}")
    for key in data:
        if key not in ("tests", "runtime"):
            raise top.fail(str(key), "unknown top-level field (known: tests, runtime)")
    tests = top.typed("tests", data.get("tests"), list)
    if not tests:
        raise top.fail("tests", "is empty")
    return [parse_case(_Checker(source, i), raw) for i, raw in enumerate(tests)]


def read_data(path: str | os.PathLike[str]) -> Any:
    """YAML or JSON; a JSON document (also valid YAML) takes the much faster JSON parser."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CaseFileError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise CaseFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise CaseFileError(f"{path}: cannot read: {exc.strerror}") from None
    stripped = text.lstrip()
    if stripped.startswith("{") or p.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            if p.suffix == ".json":
                raise CaseFileError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    # Plain block YAML (what we write, and most hand-written suites) is read by meshctl's fast reader,
    # anything else by PyYAML. Both keep a date-like value such as 2026-11-23 as text, like a header value.
    loaded = blockyaml.load_documents(text)
    if loaded is None:
        loaded = _load_with_pyyaml(text, str(path))
    docs = [d for d in loaded if d is not None]
    if len(docs) != 1:
        raise CaseFileError(f"{path}: expected one YAML document with a 'tests' list, found {len(docs)}")
    return docs[0]


def _load_with_pyyaml(text: str, name: str) -> list[Any]:
    # the same nesting check and error wording as resource files, whichever parser would notice
    problem = yamldoc.too_deep_finding(text, name)
    if problem is None:
        try:
            return list(yaml.load_all(text, Loader=_Loader))
        except yaml.YAMLError as exc:
            problem = yamldoc.yaml_error_finding(exc, text, name)
    detail = problem.message.removeprefix("YAML syntax error: ")
    raise CaseFileError(f"{problem.location()}: invalid YAML: {detail}") from None


def load_case_file(path: str | os.PathLike[str]) -> CaseFile:
    with gc_paused():  # see model/gcpause.py: 100k cases are a million objects
        data = read_data(path)
        try:
            return CaseFile(str(path), parse_cases(data, str(path)))
        except CaseFileError as exc:
            raise _located(exc, path) from None


_FIELD_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _located(exc: CaseFileError, path: str | os.PathLike[str]) -> CaseFileError:
    """The same error with the file:line:column of its field, found the way resource findings are (yamldoc
    positions). Only a failing file pays for this second read."""
    if exc.field is None:
        return exc
    parts: tuple[Any, ...] = () if exc.field in ("test", "top level") else tuple(
        int(index) if index else name for name, index in _FIELD_PART.findall(exc.field))
    where = (("tests", exc.index) if exc.index is not None else ()) + parts
    line, column = 1, 1  # the top of the document
    if where:
        try:
            docs, _ = yamldoc.parse_text(Path(path).read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError):
            return exc
        if not docs:
            return exc
        line, column = docs[0].locate(where)
    source = f"{path}: "
    message = str(exc)
    if message.startswith(source):
        message = f"{path}:{line}:{column}: " + message[len(source):]
    return CaseFileError(message, exc.index, exc.field)


# -- writing ---------------------------------------------------------------------------------------

def dump_case(case: dict[str, Any], indent: int = 0) -> str:
    """One test case as a YAML list item, indented to sit under an existing `tests:` key."""
    text = yaml.dump([case], Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=False,
                     width=1000)
    pad = " " * indent
    return "".join(pad + line if line.strip() else line for line in text.splitlines(keepends=True))


def _tests_item_column(text: str) -> int | None:
    """Column of the `- ` items of a block-style top-level `tests` list that ends the file, else None."""
    node = yaml.compose(text, Loader=_Loader)
    if not isinstance(node, yaml.MappingNode) or not node.value:
        return None
    key, value = node.value[-1]
    if getattr(key, "value", None) != "tests" or not isinstance(value, yaml.SequenceNode) or value.flow_style:
        return None
    if not value.value:
        return None
    return value.value[0].start_mark.column - 2


def append_case(path: str | os.PathLike[str], case: dict[str, Any]) -> int:
    """Add a case to a test file (created when missing), keeping the file's comments; returns the case count."""
    p = Path(path)
    if not p.exists() or not p.read_text(encoding="utf-8").strip():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("tests:\n" + dump_case(case), encoding="utf-8")
        return 1
    before = parse_cases(read_data(p), str(p))  # refuse to touch a file that is not a valid test file
    text = p.read_text(encoding="utf-8")
    for new_text in _appended_texts(text, case, p):
        try:
            after = parse_cases(yaml.load(new_text, Loader=_Loader), str(p))
        except (yaml.YAMLError, CaseFileError):
            continue
        if len(after) == len(before) + 1:
            p.write_text(new_text, encoding="utf-8")
            return len(after)
    raise CaseFileError(f"{p}: could not add the case without breaking the file; file left unchanged")


def _appended_texts(text: str, case: dict[str, Any], path: Path) -> Iterator[str]:
    """Candidates, best first: append under the existing list (keeps comments), else rewrite the document."""
    try:
        column = None if text.lstrip().startswith("{") else _tests_item_column(text)
    except yaml.YAMLError:
        column = None
    if column is not None and column >= 0:
        yield text + ("" if text.endswith("\n") else "\n") + dump_case(case, column)
    data = read_data(path)
    data["tests"].append(case)
    yield yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)
