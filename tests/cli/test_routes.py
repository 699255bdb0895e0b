"""`meshctl routes`: sources, --gateway, every output format and the JSON shape other tools rely on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from meshctl.cli.main import main

REPO_ROOT = Path(__file__).resolve().parents[2]
STEP06 = str(REPO_ROOT / "docs/examples/004-advanced-routing/06-table-weight")
STEP07 = str(REPO_ROOT / "docs/examples/004-advanced-routing/07-route-specificity")
GLOO = "networking.enterprise.mesh.gloo.solo.io/v1beta1"

TWO_GATEWAYS = f"""\
apiVersion: {GLOO}
kind: VirtualGateway
metadata: {{name: public, namespace: edge}}
spec:
  connectionHandlers: [{{http: {{routeConfig: [{{virtualHostSelector: {{labels: {{exposure: public}}}}}}]}}}}]
---
apiVersion: {GLOO}
kind: VirtualGateway
metadata: {{name: internal, namespace: edge}}
spec:
  connectionHandlers: [{{http: {{routeConfig: [{{virtualHost: {{domains: [internal.local], routes: [{{name: ops, directResponseAction: {{status: 204}}}}]}}}}]}}}}]
---
apiVersion: {GLOO}
kind: VirtualHost
metadata: {{name: shop, namespace: edge, labels: {{exposure: public}}}}
spec:
  domains: [shop.example.com]
  routes:
  - name: api
    matchers: [{{uri: {{prefix: /api}}, method: GET}}]
    delegateAction: {{refs: [{{name: api}}]}}
---
apiVersion: {GLOO}
kind: RouteTable
metadata: {{name: api, namespace: edge}}
spec:
  weight: 4
  routes:
  - name: items
    matchers: [{{uri: {{exact: /items}}}}]
    redirectAction: {{hostRedirect: www.example.com, responseCode: FOUND}}
"""


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["routes", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def two_gateways(tmp_path: Path) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(TWO_GATEWAYS)
    return str(path)


def test_json_has_the_documented_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([STEP06, "-o", "json"], capsys)
    assert code == 0
    doc = json.loads(out)
    (gw,) = doc["gateways"]
    assert gw["gateway"] == "gloo-mesh/demo-gateway"
    (vh,) = gw["virtualHosts"]
    assert vh["name"] == "gloo-mesh/demo-virtualhost" and vh["domains"] == ["www.example.com"]
    for i, r in enumerate(vh["routes"]):
        assert {"name", "owner", "chain", "match", "action", "position"} <= set(r)
        assert r["position"]["index"] == i and r["position"]["reason"]
        assert r["owner"].count("/") == 2 and r["chain"][-1].startswith(r["owner"] + "#")
        assert all(link.count("/") == 2 and "#" in link for link in r["chain"])
    version = vh["routes"][3]
    assert version["name"] == "v1-version"
    assert version["owner"] == "RouteTable/gloo-mesh/reviews-misc-rt"
    assert version["chain"] == ["VirtualHost/gloo-mesh/demo-virtualhost#reviews",
                                "RouteTable/gloo-mesh/reviews-misc-rt#v1-version"]
    assert version["match"] == [{"exact": "/reviews/v1/version"}]
    assert version["action"] == {"type": "directResponse", "status": 200, "body": "'v1'"}
    assert version["position"]["reason"] == "table weight"
    assert [d["code"] for d in doc["diagnostics"]] == ["shadowed-route", "shadowed-route"]


def test_yaml_output_is_the_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    _, as_json, _ = run([STEP07, "-o", "json"], capsys)
    _, as_yaml, _ = run([STEP07, "-o", "yaml"], capsys)
    assert yaml.safe_load(as_yaml) == json.loads(as_json)


def test_gateway_filter(two_gateways: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([two_gateways, "--gateway", "edge/public", "-o", "json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert [g["gateway"] for g in doc["gateways"]] == ["edge/public"]
    (route,) = doc["gateways"][0]["virtualHosts"][0]["routes"]
    assert route["match"] == [{"exact": "/api/items", "method": "GET"}]
    assert route["action"] == {"type": "redirect", "status": 302, "hostRedirect": "www.example.com"}
    assert route["weights"] == [4]
    code, out, _ = run([two_gateways, "-o", "json"], capsys)
    doc = json.loads(out)
    assert [g["gateway"] for g in doc["gateways"]] == ["edge/internal", "edge/public"]
    inline = doc["gateways"][0]["virtualHosts"][0]
    assert inline["name"] == "edge/internal/inline-0" and inline["owner"] == "VirtualGateway/edge/internal"
    assert inline["routes"][0]["match"] == [{"prefix": "/"}]


def test_unknown_gateway_is_a_usage_error(two_gateways: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([two_gateways, "--gateway", "edge/nope"], capsys)
    assert code == 2 and out == ""
    assert "edge/nope" in err and "edge/public" in err and "Traceback" not in err


def test_tree_output_shows_the_tree_and_the_diagnostics(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([STEP06], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "VirtualGateway gloo-mesh/demo-gateway"
    assert any("RouteTable gloo-mesh/demo-routetable  weight 10" in line for line in lines)
    shadow_line = next(line for line in lines if "v1-version" in line and "[3]" in line)
    assert "⚠ shadowed (witness GET /reviews/v1/version)" in shadow_line
    assert "diagnostics:" in lines
    assert sum("warning[shadowed-route]" in line for line in lines) == 2


def test_table_output_one_row_per_route_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([STEP07, "-o", "table"], capsys)
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split()[:4] == ["#", "GATEWAY", "VIRTUAL", "HOST"]
    assert [row.split()[0] for row in rows] == [str(i) for i in range(6)]
    assert [row.split()[3] for row in rows] == ["ratings", "v1-version", "v2-version", "v1", "v2", "not-found"]


def test_demo_source(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--demo", "-o", "json"], capsys)
    assert code == 0
    names = [v["name"] for g in json.loads(out)["gateways"] for v in g["virtualHosts"]]
    assert "gloo-mesh/demo-virtualhost" in names


@pytest.mark.parametrize("args", [[], ["/no/such/path"], ["--demo", "-o", "xml"]])
def test_bad_invocations_exit_2_without_traceback(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(args, capsys)
    assert code == 2 and out == "" and err.startswith("meshctl: error:") and "Traceback" not in err


def test_no_gateway_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(f"apiVersion: {GLOO}\nkind: RouteTable\nmetadata: {{name: t, namespace: x}}\nspec: {{routes: []}}\n")
    code, out, _ = run([str(path)], capsys)
    assert code == 0 and out.startswith("no VirtualGateway found")


def test_real_process_exit_code_and_stdout() -> None:
    proc = subprocess.run([sys.executable, "-m", "meshctl.cli.main", "routes", STEP06, "-o", "json"],
                          capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["schema"] == "meshctl.routes/v1"


def test_several_paths_make_one_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    step = Path(STEP06)
    code, out, _ = run([str(step / "gateway.yaml"), str(step / "route-tables.yaml"), "-o", "json"], capsys)
    assert code == 0
    routes = json.loads(out)["gateways"][0]["virtualHosts"][0]["routes"]
    assert [r["name"] for r in routes] == ["ratings", "v1", "v2", "v1-version", "v2-version", "not-found"]
    code, out, _ = run([str(step / "gateway.yaml"), "-o", "json"], capsys)  # without the tables: nothing delegated
    assert [r["name"] for r in json.loads(out)["gateways"][0]["virtualHosts"][0]["routes"]] == ["ratings"]


def test_gateway_filter_in_tree_output(two_gateways: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([two_gateways, "--gateway", "edge/internal"], capsys)
    assert code == 0
    assert out.startswith("VirtualGateway edge/internal\n") and "edge/public" not in out.split("diagnostics:")[0]
