"""router_check test files: strict loading with precise errors, appending cases without losing comments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from meshctl.sandbox.casefile import CaseFileError, append_case, load_case_file

GOOD_CASE = {"test_name": "t", "input": {"authority": "www.example.com", "path": "/a?b=1", "method": "GET"},
             "validate": {"cluster_name": ""}}


def write(tmp_path: Path, text: str, name: str = "cases.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_router_check_input_fields(tmp_path: Path) -> None:
    path = write(tmp_path, """
tests:
- test_name: full input
  input:
    authority: api.example.com:8443
    path: /v1/x?y=1
    method: POST
    ssl: true
    internal: true
    random_value: 7
    additional_request_headers: [{key: X-Canary, value: "1"}]
  validate: {cluster_name: ""}
""")
    case = load_case_file(path).cases[0]
    req = case.request
    assert (req.method, req.scheme, req.authority, req.path) == ("POST", "https", "api.example.com:8443", "/v1/x?y=1")
    assert req.headers == {"x-canary": "1", "x-forwarded-proto": "https", "x-envoy-internal": "true"}
    assert case.random_value == 7


@pytest.mark.parametrize("body, expected", [
    ("tests: [{test_name: a, input: {authority: h, path: 1}, validate: {cluster_name: x}}]",
     "tests[0] ('a'): input.path: must be a string, got integer 1"),
    ("tests: [{test_name: a, input: {authority: h, path: /}, validate: {code_redirect: '301'}}]",
     "tests[0] ('a'): validate.code_redirect: must be an integer, got string '301'"),
    ("tests: [{test_name: a, input: {authority: h, path: /}, validate: {no_match: 1}}]",
     "validate.no_match: must be true or false, got integer 1"),
    ("tests: [{test_name: a, input: {authority: h, path: /}, validate: {cluster_name: x}},"
     " {test_name: b, input: {authority: h, path: /, ssl: 'yes'}, validate: {cluster_name: x}}]",
     "tests[1] ('b'): input.ssl: must be true or false, got string 'yes'"),
    ("tests: [{test_name: a, input: {authority: h, path: /}, validate: {destination: {subset: [v1]}}}]",
     "validate.destination.subset: must be a mapping or null, got list"),
    ("tests: [{test_name: a, input: {authority: h, path: /}, validate: {clustr_name: x}}]",
     "validate.clustr_name: unknown field"),
    ("tests: [{test_name: a, input: {authority: h}, validate: {cluster_name: x}}]", "input.path: missing"),
    ("tests: [{test_name: a, input: {authority: h, path: /}}]", "validate: missing"),
    ("tests: [{test_name: a, input: {authority: h, path: /}, validate: {}}]", "validate: is empty"),
    ("tests: [{test_name: a, input: {authority: h, path: noslash}, validate: {cluster_name: x}}]",
     "input.path: the path must start with '/'"),
    ("tests: [{test_name: a, input: {authority: h, path: /caf\u00e9}, validate: {cluster_name: x}}]",
     "input.path: non-ASCII character"),
    ("tests: [{test_name: a, input: {authority: h, path: /, additional_request_headers: [{key: 'a b', value: x}]},"
     " validate: {cluster_name: x}}]", "input.additional_request_headers[0]: malformed header name"),
    ("tests: [{test_name: a, input: {authority: h, path: /}, validate: {request_header_matches: "
     "[{name: x, safe_regex_match: {regex: '('}}]}}]", "request_header_matches[0].safe_regex_match.regex: RE2 rejects"),
    ("tests: {}", "tests: must be a list, got mapping"),
    ("- a\n- b\n", "top level: must be a mapping"),
    ("tests: []", "tests: is empty"),
    ("tests:\n  - test_name: [unclosed\n", "invalid YAML"),
])
def test_bad_files_name_file_case_and_field(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(CaseFileError) as info:
        load_case_file(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    if "YAML" not in expected:  # located like resource findings: file:line:column before the case and field
        assert re.match(re.escape(str(path)) + r":\d+:\d+: ", message), message
    assert expected in message
    assert "\n" not in message


def test_json_files_are_accepted(tmp_path: Path) -> None:
    import json

    path = write(tmp_path, json.dumps({"tests": [GOOD_CASE]}), "cases.json")
    assert load_case_file(path).cases[0].request.path == "/a?b=1"
    bad = write(tmp_path, '{"tests": [', "broken.json")
    with pytest.raises(CaseFileError, match="invalid JSON"):
        load_case_file(bad)


def test_append_keeps_comments_and_adds_one_case(tmp_path: Path) -> None:
    path = write(tmp_path, "# my suite\ntests:\n  # first\n  - test_name: one\n    input: {authority: h, path: /}\n"
                           "    validate: {cluster_name: ''}\n")
    assert append_case(path, dict(GOOD_CASE, test_name="two")) == 2
    text = path.read_text()
    assert "# my suite" in text and "# first" in text
    assert [c.name for c in load_case_file(path).cases] == ["one", "two"]


def test_append_creates_the_file_and_rewrites_flow_style(tmp_path: Path) -> None:
    new = tmp_path / "sub" / "new.yaml"
    assert append_case(new, GOOD_CASE) == 1
    assert load_case_file(new).cases[0].name == "t"
    flow = write(tmp_path, "tests: [{test_name: a, input: {authority: h, path: /}, validate: {cluster_name: ''}}]\n"
                           "runtime: {}\n", "flow.yaml")
    assert append_case(flow, GOOD_CASE) == 2
    assert yaml.safe_load(flow.read_text())["runtime"] == {}


def test_append_refuses_a_broken_file(tmp_path: Path) -> None:
    path = write(tmp_path, "tests: [{test_name: a}]\n")
    before = path.read_text()
    with pytest.raises(CaseFileError):
        append_case(path, GOOD_CASE)
    assert path.read_text() == before


@pytest.mark.parametrize("header", ["{key: x-release, value: 2026-11-23}", "\n        key: x-release\n        value: 2026-11-23"])
def test_a_date_like_header_value_is_text_in_block_and_flow_files(tmp_path: Path, header: str) -> None:
    # the block form is read by meshctl's fast reader, the flow form by PyYAML: both keep the date as text
    if header.startswith("{"):
        headers = f"[{header}]"
    else:
        headers = "\n      -" + header.replace("\n        key", " key", 1)
    path = write(tmp_path, f"""tests:
  - test_name: dated
    input:
      authority: www.example.com
      path: /
      method: GET
      additional_request_headers: {headers}
    validate:
      cluster_name: ''
""")
    assert load_case_file(path).cases[0].request.headers["x-release"] == "2026-11-23"
