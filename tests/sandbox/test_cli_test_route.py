"""`meshctl test-route` through the real CLI: the 004 guide's outcomes, output formats, exit codes, bad input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import CASES, GUIDE, gateway_yaml, run_cli, vhost_yaml

STEPS = sorted(p.name for p in GUIDE.iterdir() if p.is_dir())


def test_every_step_has_a_case_file() -> None:
    assert STEPS == [p.stem.removeprefix("004-") for p in sorted(CASES.glob("004-*.yaml"))]


@pytest.mark.parametrize("step", STEPS)
def test_guide_outcomes_hold(step: str) -> None:
    proc = run_cli("test-route", str(GUIDE / step), "--file", str(CASES / f"004-{step}.yaml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " 0 failed" in proc.stdout
    assert "Current route coverage: " in proc.stdout


def test_a_step_s_cases_fail_on_another_step() -> None:
    proc = run_cli("test-route", str(GUIDE / "07-route-specificity"), "--file", str(CASES / "004-06-table-weight.yaml"))
    assert proc.returncode == 1
    out = proc.stdout
    assert "FAIL tests[3]" in out and "2 failed" in out
    assert "expected  route_name: 'v1'" in out and "actual    route_name: 'v1-version'" in out
    assert "✓ [1] v1-version  matched exact /reviews/v1/version" in out  # the trace explains it


@pytest.mark.parametrize("step, request_args, expect", [
    ("06-table-weight", ["GET", "http://www.example.com/reviews/v1/version"],
     {"type": "route", "upstreamPath": "/reviews/version", "subset": {"version": "v1"}}),
    ("07-route-specificity", ["GET http://www.example.com/reviews/v1/version"],
     {"type": "directResponse", "status": 200, "body": "'v1'"}),
    ("07-route-specificity", ["http://www.example.com/reviews/v3"],
     {"type": "directResponse", "status": 404, "body": "'custom not found'"}),
])
def test_one_shot_json(step: str, request_args: list[str], expect: dict[str, object]) -> None:
    proc = run_cli("test-route", str(GUIDE / step), "--gateway", "gloo-mesh/demo-gateway", *request_args, "-o", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["matched"] is True and data["gateway"] == "gloo-mesh/demo-gateway"
    action = data["action"]
    assert action["type"] == expect["type"]
    if expect["type"] == "route":
        assert action["upstreamPath"] == expect["upstreamPath"]
        assert action["destinations"][0]["subset"] == expect["subset"]
        assert data["backends"][0]["priorities"][0]["endpoints"][0]["address"] == "10.1.0.21"
    else:
        assert (action["status"], action["body"]) == (expect["status"], expect["body"])


def test_no_route_is_an_answer_not_an_error() -> None:
    proc = run_cli("test-route", str(GUIDE / "03-route-table-ref"), "GET", "http://www.example.com/reviews/v3")
    assert proc.returncode == 0
    assert "404 from Envoy, no route" in proc.stdout and "closest misses" in proc.stdout
    data = json.loads(run_cli("test-route", str(GUIDE / "03-route-table-ref"), "http://www.example.com/reviews/v3",
                              "-o", "json").stdout)
    assert data["matched"] is False and data["route"] is None and data["response"]["status"] == 404
    assert data["closestMisses"][0]["reason"] == "prefix /reviews/v1 does not match /reviews/v3"


def test_several_gateways_say_which_was_chosen(tmp_path: Path) -> None:
    route = "  - name: r\n    matchers: [{uri: {prefix: /}}]\n    directResponseAction: {status: 200, body: %s}\n"
    (tmp_path / "config.yaml").write_text("---\n".join([
        gateway_yaml("a-gw", labels={"gw": "a"}), gateway_yaml("b-gw", labels={"gw": "b"}),
        vhost_yaml("a-vh", ["a.example.com"], route % "a", labels={"gw": "a"}),
        vhost_yaml("b-vh", ["b.example.com"], route % "b", labels={"gw": "b"})]))
    proc = run_cli("test-route", str(tmp_path / "config.yaml"), "http://b.example.com/")
    assert proc.returncode == 0
    assert "note      2 gateways; chose gloo-mesh/b-gw" in proc.stdout
    assert "gateway   gloo-mesh/b-gw" in proc.stdout


def test_batch_json_and_junit(tmp_path: Path) -> None:
    args = ["test-route", str(GUIDE / "06-table-weight"), "--file", str(CASES / "004-06-table-weight.yaml")]
    data = json.loads(run_cli(*args, "-o", "json").stdout)
    assert (data["total"], data["failed"], data["ok"]) == (6, 0, True)
    assert data["coverage"]["covered"] == 4 and data["coverage"]["total"] == 6
    assert {u["route"] for u in data["coverage"]["uncovered"]} == {"v1-version", "v2-version"}
    under = run_cli(*args, "--fail-under", "90", "-o", "junit")
    assert under.returncode == 1
    suite = ET.fromstring(under.stdout)
    assert suite.get("failures") == "1" and suite.get("tests") == "7"
    failure = suite.find("testcase[@name='route coverage']/failure")
    assert failure is not None and "below 90%" in str(failure.get("message"))
    wrong = run_cli("test-route", str(GUIDE / "07-route-specificity"), "--file",
                    str(CASES / "004-06-table-weight.yaml"), "-o", "junit")
    assert wrong.returncode == 1
    assert ET.fromstring(wrong.stdout).get("failures") == "2"


def _bad_case_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad-cases.yaml"
    path.write_text("tests:\n- test_name: ok\n  input: {authority: h, path: /}\n  validate: {cluster_name: ''}\n"
                    "- test_name: wrong type\n  input: {authority: h, path: /}\n  validate: {code_redirect: soon}\n")
    return path


def _broken_config(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text("kind: VirtualGateway\nmetadata: {name: [oops\n")
    return path


BAD_INPUTS = [
    (["--demo", "GET", "http://www.example.com:port/"], "malformed port"),
    (["--demo", "www.example.com/reviews"], "malformed URL"),
    (["--demo", "-H", "x-canary", "http://www.example.com/"], "has no colon"),
    (["--demo", "http://www.example.com/r\u00e9views"], "non-ASCII character"),
    (["--demo", "http://www.example.com/" + "a" * 100_000], "60 KiB"),
    (["--demo", "--gateway", "nope/nope", "http://www.example.com/"], "unknown gateway 'nope/nope'"),
    (["--demo", "--from-locality", "us-east-1//a", "http://www.example.com/"], "--from-locality"),
    (["--demo", "--fail-under", "120", "--file", "CASEFILE"], "--fail-under must be a percentage"),
    (["--demo", "-o", "junit", "http://www.example.com/"], "-o junit needs --file"),
    (["--demo", "--file", "CASEFILE"], "bad-cases.yaml:7:29: tests[1] ('wrong type'): validate.code_redirect: must be an "
                                       "integer, got string 'soon'"),
    (["--demo", "--file", "/nonexistent/cases.yaml"], "no such file"),
    (["/nonexistent/config", "http://www.example.com/"], "no such file or directory"),
    (["BROKEN", "http://www.example.com/"], "config error"),
    (["--demo", "GET", "http://www.example.com/", "extra"], "unexpected argument"),
    (["--demo"], "no REQUEST given"),
]


@pytest.mark.parametrize("args, message", BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_input_is_one_clear_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    args = [str(_bad_case_file(tmp_path)) if a == "CASEFILE" else str(_broken_config(tmp_path)) if a == "BROKEN"
            else a for a in args]
    proc = run_cli("test-route", *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("meshctl: error: "), proc.stderr
    assert message in lines[0]
