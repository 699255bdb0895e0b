"""`meshctl lint`: findings with code, severity, resource, path, routes and witness; exit 1 only on errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from meshctl.cli.main import main

REPO_ROOT = Path(__file__).resolve().parents[2]
STEPS = REPO_ROOT / "docs/examples/004-advanced-routing"
GLOO = "networking.enterprise.mesh.gloo.solo.io/v1beta1"

# a dangling ref (error), a route table nobody reaches (warning) and a shadowed route (warning)
BROKEN = f"""\
apiVersion: {GLOO}
kind: VirtualGateway
metadata: {{name: gw, namespace: web}}
spec:
  connectionHandlers: [{{http: {{routeConfig: [{{virtualHostSelector: {{}}}}]}}}}]
---
apiVersion: {GLOO}
kind: VirtualHost
metadata: {{name: shop, namespace: web}}
spec:
  domains: [shop.example.com]
  routes:
  - name: everything
    matchers: [{{uri: {{prefix: /}}}}]
    directResponseAction: {{status: 200}}
  - name: api
    matchers: [{{uri: {{prefix: /api}}, headers: [{{name: x-team, value: a}}]}}]
    delegateAction: {{refs: [{{name: missing}}]}}
  - name: health
    matchers: [{{uri: {{exact: /health}}, method: GET}}]
    directResponseAction: {{status: 200}}
---
apiVersion: {GLOO}
kind: RouteTable
metadata: {{name: orphan, namespace: web}}
spec:
  routes: [{{name: x, directResponseAction: {{status: 200}}}}]
"""


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["lint", *args])
    return code, capsys.readouterr().out


@pytest.fixture
def broken(tmp_path: Path) -> str:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    return str(path)


def test_table_weight_step_warns_about_the_shadowed_version_routes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run([str(STEPS / "06-table-weight"), "-o", "json"], capsys)
    assert code == 0  # warnings only
    found = json.loads(out)
    shadowed = [f for f in found if f["code"] == "shadowed-route"]
    assert [f["witness"] for f in shadowed] == ["GET /reviews/v1/version", "GET /reviews/v2/version"]
    for f in shadowed:
        assert f["severity"] == "warning" and f["resource"] == "RouteTable gloo-mesh/reviews-misc-rt"
        assert f["path"] in ("spec.routes[0]", "spec.routes[1]") and f["line"] and f["file"].endswith("route-tables.yaml")
        assert len(f["routes"]) == 2 and f["message"]


def test_route_specificity_step_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run([str(STEPS / "07-route-specificity")], capsys)
    assert code == 0
    assert "shadowed" not in out
    assert out.strip().endswith("0 errors, 0 warnings, 0 notes")


def test_text_output_carries_witnesses_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run([str(STEPS / "06-table-weight")], capsys)
    lines = out.splitlines()
    assert code == 0
    assert "    witness: GET /reviews/v1/version" in lines
    assert any("warning[shadowed-route] RouteTable gloo-mesh/reviews-misc-rt spec.routes[0]" in line for line in lines)
    assert lines[-1] == "0 errors, 2 warnings, 0 notes"


def test_errors_exit_1_and_every_finding_is_reported(broken: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run([broken, "-o", "json"], capsys)
    assert code == 1
    found = json.loads(out)
    by_code = {f["code"]: f for f in found}
    assert {"dangling-delegate-ref", "unreached-route-table", "shadowed-route"} <= set(by_code)
    dangling = by_code["dangling-delegate-ref"]
    assert (dangling["severity"], dangling["resource"], dangling["path"]) == (
        "error", "VirtualHost web/shop", "spec.routes[1].delegateAction.refs[0]")
    assert by_code["shadowed-route"]["witness"] == "GET /health"
    assert sum(f["code"] == "dangling-delegate-ref" for f in found) == 1  # validation's copy is not repeated
    for f in found:
        assert {"severity", "code", "file", "line", "column", "resource", "path", "message"} <= set(f)


def test_text_output_with_errors(broken: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run([broken], capsys)
    assert code == 1
    assert "error[dangling-delegate-ref]" in out
    assert out.splitlines()[-1].startswith("1 errors, ")


def test_demo_is_clean(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["--demo", "-o", "json"], capsys)
    assert code == 0
    assert not [f for f in json.loads(out) if f["severity"] == "error"]


def test_every_004_step_lints_without_errors(capsys: pytest.CaptureFixture[str]) -> None:
    for step in sorted(p for p in STEPS.iterdir() if p.is_dir()):
        code, out = run([str(step), "-o", "json"], capsys)
        assert code == 0, (step.name, out)


def test_real_process_exit_code(broken: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "meshctl.cli.main", "lint", broken], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1 and "dangling-delegate-ref" in proc.stdout and proc.stderr == ""


def test_no_source_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint"]) == 2
    assert "no configuration given" in capsys.readouterr().err
