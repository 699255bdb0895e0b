"""`meshctl validate`: exit codes, text and JSON output, and no traceback ever reaching the operator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Callable, NamedTuple

import pytest

from meshctl.cli.main import main

REPO_ROOT = Path(__file__).resolve().parents[2]
GLOO = "networking.enterprise.mesh.gloo.solo.io/v1beta1"

CLEAN = f"""\
apiVersion: {GLOO}
kind: VirtualHost
metadata: {{name: shop, namespace: web}}
spec:
  domains: [shop.example.com]
  routes:
  - name: health
    matchers: [{{uri: {{exact: /health}}}}]
    directResponseAction: {{status: 200}}
"""
# line 8, column 5: routes[0] has no action; line 11, column 20: a regex RE2 rejects
BAD = f"""\
apiVersion: {GLOO}
kind: VirtualHost
metadata: {{name: shop, namespace: web}}
spec:
  domains: [shop.example.com]
  routes:
  - name: no-action
    matchers: [{{uri: {{prefix: /a}}}}]
  - name: bad-regex
    matchers:
    - uri: {{regex: "(unclosed"}}
    directResponseAction: {{status: 200}}
"""
WARNING_ONLY = "apiVersion: example.com/v1\nkind: Gizmo\nmetadata: {name: g, namespace: web}\n"

FINDING_KEYS = ["severity", "code", "file", "line", "column", "resource", "path", "message"]


class Result(NamedTuple):
    code: int
    out: str
    err: str


Runner = Callable[..., Result]


@pytest.fixture(params=["in-process", "subprocess"])
def run(request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> Runner:
    """Run `meshctl ARGS...` in this process (main()) or as `python -m meshctl.cli.main` in tmp_path."""

    def in_process(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return Result(code, out, err)

    def as_subprocess(*args: str) -> Result:
        proc = subprocess.run([sys.executable, "-m", "meshctl.cli.main", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return in_process if request.param == "in-process" else as_subprocess


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, content in (("clean", CLEAN), ("bad", BAD), ("warning", WARNING_ONLY)):
        out[name] = tmp_path / f"{name}.yaml"
        out[name].write_text(content)
    return out


def assert_no_traceback(result: Result) -> None:
    assert "Traceback" not in result.err and "Traceback" not in result.out


def test_clean_file_exits_0(run: Runner, files: dict[str, Path]) -> None:
    result = run("validate", str(files["clean"]))
    assert result.code == 0, result
    assert result.out.strip() == "1 resources in 1 files: 0 errors, 0 warnings"
    assert result.err == ""


def test_bad_file_exits_1_and_reports_every_problem(run: Runner, files: dict[str, Path]) -> None:
    result = run("validate", str(files["bad"]))
    assert result.code == 1, result
    bad = str(files["bad"])
    lines = result.out.splitlines()
    assert lines[0].startswith(f"{bad}:7:5: error[route-no-action] VirtualHost web/shop spec.routes[0]: ")
    assert lines[1].startswith(f"{bad}:11:20: error[bad-regex] VirtualHost web/shop spec.routes[1].matchers[0].uri.regex: ")
    assert lines[-1] == "1 resources in 1 files: 2 errors, 0 warnings"
    assert result.err == ""
    assert_no_traceback(result)


def test_missing_path_is_a_usage_error(run: Runner, files: dict[str, Path], tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist.yaml"
    result = run("validate", str(files["clean"]), str(missing))
    assert result.code == 2, result
    assert result.out == ""
    assert result.err.strip() == f"meshctl: error: no such file or directory: {missing}"
    assert_no_traceback(result)


def test_strict_turns_warnings_into_exit_1(run: Runner, files: dict[str, Path]) -> None:
    relaxed = run("validate", str(files["warning"]))
    assert relaxed.code == 0, relaxed
    assert "warning[unknown-kind]" in relaxed.out
    strict = run("validate", "--strict", str(files["warning"]))
    assert strict.code == 1, strict
    assert "0 errors, 1 warnings" in strict.out
    assert_no_traceback(strict)


def test_json_output_is_a_list_of_findings(run: Runner, files: dict[str, Path]) -> None:
    result = run("validate", "-o", "json", str(files["bad"]), str(files["warning"]))
    assert result.code == 1, result
    findings = json.loads(result.out)
    assert isinstance(findings, list) and len(findings) == 3
    for f in findings:
        assert list(f) == FINDING_KEYS
        assert f["severity"] in ("error", "warning", "info")
        assert isinstance(f["line"], int) and isinstance(f["column"], int)
        assert isinstance(f["message"], str) and f["message"]
    assert [(f["code"], Path(f["file"]).name, f["line"], f["column"], f["resource"], f["path"]) for f in findings] == [
        ("route-no-action", "bad.yaml", 7, 5, "VirtualHost web/shop", "spec.routes[0]"),
        ("bad-regex", "bad.yaml", 11, 20, "VirtualHost web/shop", "spec.routes[1].matchers[0].uri.regex"),
        ("unknown-kind", "warning.yaml", 2, 7, "Gizmo web/g", "kind"),
    ]
    assert findings[2]["severity"] == "warning"
    assert result.err == ""


def test_json_output_of_a_clean_file_is_an_empty_list(run: Runner, files: dict[str, Path]) -> None:
    result = run("validate", "--output", "json", str(files["clean"]))
    assert (result.code, json.loads(result.out), result.err) == (0, [], "")


@pytest.mark.parametrize("args", [
    ["validate"],  # nothing to validate
    ["validate", "-o", "yaml", "x.yaml"],  # format validate does not offer
    ["validate", "--no-such-flag"],
    ["no-such-command"],
])
def test_usage_errors_exit_2_with_one_line(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert err.startswith("meshctl: error: ") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_broken_inputs_of_every_kind_in_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "binary.yaml").write_bytes(b"\x00\x01\x02")
    (tmp_path / "latin1.yaml").write_bytes(b"kind: caf\xe9\n")
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "syntax.yaml").write_text("kind: [\n")
    (tmp_path / "deep.yaml").write_text("[" * 50_000 + "]" * 50_000)
    (tmp_path / "clean.yaml").write_text(CLEAN)
    assert main(["validate", "-o", "json", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    got = sorted((Path(f["file"]).name, f["code"]) for f in json.loads(out))
    assert got == [("binary.yaml", "binary-file"), ("deep.yaml", "too-deep"), ("empty.yaml", "empty-file"),
                   ("latin1.yaml", "not-utf8"), ("syntax.yaml", "yaml-syntax")]
    assert err == ""


def test_demo_validates_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--demo", "--strict"]) == 0
    assert "0 errors, 0 warnings" in capsys.readouterr().out


def test_example_directory_validates_clean(capsys: pytest.CaptureFixture[str]) -> None:
    step = REPO_ROOT / "docs" / "examples" / "004-advanced-routing" / "07-route-specificity"
    assert main(["validate", "--strict", str(step)]) == 0
    assert capsys.readouterr().out.strip().endswith("0 errors, 0 warnings")


def test_an_internal_error_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch, files: dict[str, Path],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import meshctl.cli.cmd_validate as cmd

    def explode(snapshot: object) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.delenv("MESHCTL_DEBUG", raising=False)
    monkeypatch.setattr(cmd, "validate", explode)
    assert main(["validate", str(files["clean"])]) == 2
    out, err = capsys.readouterr()
    assert err.strip() == "meshctl: error: RuntimeError: boom (set MESHCTL_DEBUG=1 for a traceback)"
    assert "Traceback" not in err
