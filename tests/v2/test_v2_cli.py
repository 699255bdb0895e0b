"""Every CLI surface on Gloo v2 files, with the flags, JSON keys and exit codes of v1beta1: validate, routes,
lint, test-route (the 004 router_check case files, unchanged but for the root's kind), xds dump, and the shipped
plugins shadowed, coverage, diff and export-envoy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshctl.cli.main import main

REPO = Path(__file__).resolve().parents[2]
V1_STEPS = REPO / "docs/examples/004-advanced-routing"
V2_STEPS = REPO / "docs/examples/004-advanced-routing-v2"
REF_A = REPO / "docs/examples/gloo-v2-reference-a"
CASES = REPO / "tests/cases"
STEPS = sorted(p.name for p in V2_STEPS.iterdir() if p.is_dir())


def run_json(capsys, argv: list[str]) -> tuple[int, object]:
    rc = main(argv + ["-o", "json"])
    return rc, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("step", STEPS)
def test_every_v2_step_validates_and_runs_the_guides_case_file(step: str, capsys, tmp_path: Path) -> None:
    assert main(["validate", str(V2_STEPS / step)]) == 0
    cases = CASES / f"004-{step}.yaml"
    # the case file as written for v1beta1; only names differ: the VirtualHost became a root RouteTable, and a v2
    # virtual host is named after its host
    text = cases.read_text().replace("VirtualHost/gloo-mesh/demo-virtualhost", "RouteTable/gloo-mesh/demo-virtualhost")
    text = text.replace("virtual_host_name: gloo-mesh/demo-virtualhost", "virtual_host_name: www.example.com")
    (tmp_path / cases.name).write_text(text)
    capsys.readouterr()
    assert main(["test-route", str(V2_STEPS / step), "--file", str(tmp_path / cases.name)]) == 0, \
        capsys.readouterr().out


@pytest.mark.parametrize("step", STEPS)
def test_routes_json_of_a_v2_step_equals_the_v1beta1_step_but_for_the_root(step: str, capsys) -> None:
    _, v1 = run_json(capsys, ["routes", str(V1_STEPS / step)])
    _, v2 = run_json(capsys, ["routes", str(V2_STEPS / step)])

    def shape(data: object) -> list[tuple]:
        return [(g["gateway"], r["name"], r["owner"].replace("VirtualHost/", "RouteTable/"),
                 json.dumps(r["match"], sort_keys=True), r["action"]["type"], r["position"]["index"])
                for g in data["gateways"] for v in g["virtualHosts"] for r in v["routes"]]

    assert shape(v2) == shape(v1)
    assert set(v2["gateways"][0]) == set(v1["gateways"][0])


def test_lint_and_shadowed_on_v2(capsys) -> None:
    rc, findings = run_json(capsys, ["lint", str(V2_STEPS / "06-table-weight")])
    shadowed = [f for f in findings if f["code"] == "shadowed-route"]
    assert rc == 0 and len(shadowed) == 2 and all(f["witness"] and f["line"] for f in shadowed)
    rc, data = run_json(capsys, ["shadowed", str(V2_STEPS / "06-table-weight")])
    assert [(r["STATE"], r["ROUTE"]) for r in data] == [("shadowed", "spec.http[0]"), ("shadowed", "spec.http[1]")]


def test_validate_json_places_v2_findings(capsys, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\nmetadata: {name: t, namespace: ops}\n"
        "spec:\n  hosts: ['*']\n  http:\n  - name: r\n")
    rc, findings = run_json(capsys, ["validate", str(tmp_path)])
    assert rc == 1
    got = {(f["code"], f["path"], f["line"]) for f in findings}
    assert ("bad-host", "spec.hosts[0]", 5) in got and ("route-no-action", "spec.http[0]", 7) in got


def test_coverage_diff_and_export_envoy_on_v2(capsys, tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text((CASES / "004-07-route-specificity.yaml").read_text())
    rc, data = run_json(capsys, ["coverage", str(V2_STEPS / "07-route-specificity"), "--cases", str(cases)])
    assert rc == 0 and data["percent"] == 100.0
    rc, data = run_json(capsys, ["diff", str(V2_STEPS / "06-table-weight"), str(V2_STEPS / "07-route-specificity")])
    assert rc == 0 and json.dumps(data).count("v1-version")
    assert main(["export-envoy", str(REF_A), "--out", str(tmp_path / "out")]) == 0
    written = sorted(p.name for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written and any("route" in n or "rds" in n for n in written), written


def test_xds_dump_v2_listener_port_and_override(capsys) -> None:
    rc, data = run_json(capsys, ["xds", "dump", str(REF_A), "--type", "lds"])
    assert rc == 0 and data["listeners"][0]["address"]["socketAddress"]["portValue"] == 80
    rc, data = run_json(capsys, ["xds", "dump", str(REF_A), "--type", "lds", "--gateway-port", "gw-config/ingress=18080"])
    assert data["listeners"][0]["address"]["socketAddress"]["portValue"] == 18080
    rc, data = run_json(capsys, ["xds", "dump", str(REF_A), "--type", "rds"])
    [vhost] = data["routes"][0]["virtualHosts"]
    assert [r["name"].split("#")[1] for r in vhost["routes"]] == ["health", "duplicate-all-1", "legacy", "list", "all"]


def test_test_route_json_names_owner_and_chain(capsys) -> None:
    rc, data = run_json(capsys, ["test-route", str(REF_A), "GET", "http://api.example.com/orders/health"])
    assert rc == 0
    text = json.dumps(data)
    assert "RouteTable/shop/orders" in text and "RouteTable/gw-config/api-root#api" in text
