"""Each plugin shipped in plugins/ run through the CLI against the demo and the guide's examples."""

from __future__ import annotations

import json
from pathlib import Path

from meshctl.cli.main import main

REPO = Path(__file__).resolve().parents[2]
STEPS = REPO / "docs/examples/004-advanced-routing"
CASES = REPO / "tests/cases"


def run_json(capsys, argv: list[str]) -> tuple[int, object]:
    rc = main(argv + ["-o", "json"])
    return rc, json.loads(capsys.readouterr().out)


def test_coverage_lists_routes_no_case_reaches(capsys, tmp_path):
    rc, data = run_json(capsys, ["coverage", str(STEPS / "07-route-specificity"),
                                 "--cases", str(CASES / "004-07-route-specificity.yaml")])
    assert rc == 0 and data["uncovered"] == [] and data["percent"] == 100.0
    partial = tmp_path / "one.yaml"
    partial.write_text("tests:\n- test_name: ratings\n  input: {authority: www.example.com, path: /ratings/1, "
                       "method: GET}\n  validate: {route_name: ratings}\n")
    rc, data = run_json(capsys, ["coverage", str(STEPS / "07-route-specificity"), "--cases", str(partial),
                                 "--fail-under", "50"])
    assert rc == 1
    assert data["covered"] == 1 and data["total"] == 6
    assert {u["route"] for u in data["uncovered"]} == {"v1", "v2", "v1-version", "v2-version", "not-found"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("tests: 5\n")
    assert main(["coverage", "--demo", "--cases", str(bad)]) == 2
    assert "bad.yaml" in capsys.readouterr().err


def test_export_envoy_writes_resources_per_node(capsys, tmp_path):
    rc = main(["export-envoy", "--demo", "--out", str(tmp_path), "--node", "gateway:gloo-mesh/demo-gateway",
               "--node", "sidecar:bookinfo/productpage@cluster-1", "--node-locality", "us-east-1/us-east-1a"])
    assert rc == 0
    gateway = tmp_path / "gateway_gloo-mesh_demo-gateway"
    routes = json.loads((gateway / "routes.json").read_text())
    vhosts = {v["name"]: v for rc_ in routes for v in rc_["virtualHosts"]}
    names = [r["name"] for v in vhosts.values() for r in v["routes"]]
    assert any(n.startswith("RouteTable/gloo-mesh/reviews-misc-rt#v1-version") for n in names)
    sidecar = tmp_path / "sidecar_bookinfo_productpage@cluster-1"
    endpoints = json.loads((sidecar / "endpoints.json").read_text())
    global_reviews = next(e for e in endpoints if e["clusterName"].endswith("reviews.global"))
    by_priority = {ep.get("priority", 0): ep["locality"] for ep in global_reviews["endpoints"]}
    assert by_priority[0]["region"] == "us-east-1" and by_priority[1]["region"] == "us-east-2"


def test_traffic_replay_summarises_default_format_and_json_lines(capsys, tmp_path):
    log = tmp_path / "access.log"
    log.write_text(
        '[2026-11-23T05:00:00.000Z] "GET /reviews/v1/1 HTTP/1.1" 200 - 0 100 3 2 "-" "curl/8" "id1" '
        '"www.example.com" "10.1.0.21:9080"\n'
        '[2026-11-23T05:00:01.000Z] "GET /reviews/v1/version HTTP/1.1" 200 - 0 3 1 - "-" "curl/8" "id2" '
        '"www.example.com:8080" "-"\n'
        '{"method": "GET", "path": "/ratings/7?x=1", "authority": "www.example.com"}\n'
        '{"method": "POST", "path": "/nowhere", "authority": "www.example.com"}\n'
        'not an access log line\n')
    rc, data = run_json(capsys, ["traffic-replay", "--demo", str(log)])
    assert rc == 0
    assert data["requests"] == 4 and data["unreadableLines"] == 1
    assert data["unmatched"] == {"total": 1, "top": {"POST www.example.com/nowhere": 1}}
    per_route = data["perRoute"]
    assert per_route["VirtualHost/gloo-mesh/demo-virtualhost#reviews > RouteTable/gloo-mesh/demo-routetable#v1"] == 1
    assert per_route["VirtualHost/gloo-mesh/demo-virtualhost#reviews > RouteTable/gloo-mesh/reviews-misc-rt#v1-version"] == 1
    assert data["perDestination"]["kubeService bookinfo/ratings@cluster-1"] == 1


def test_diff_names_requests_that_change_route(capsys):
    rc, data = run_json(capsys, ["diff", str(STEPS / "06-table-weight"), str(STEPS / "07-route-specificity"),
                                 "--fail-on-change"])
    assert rc == 1
    changed = {c["request"]: (c["oldRoute"], c["newRoute"]) for c in data["outcomeChanges"]}
    assert set(changed) == {"GET http://www.example.com/reviews/v1/version",
                            "GET http://www.example.com/reviews/v2/version"}
    old, new = changed["GET http://www.example.com/reviews/v1/version"]
    assert old.endswith("demo-routetable#v1") and new.endswith("reviews-misc-rt#v1-version")
    rc, data = run_json(capsys, ["diff", str(STEPS / "07-route-specificity"), str(STEPS / "07-route-specificity")])
    assert rc == 0 and data["routeChanges"] == [] and data["outcomeChanges"] == []
    assert main(["diff", "nope", str(STEPS)]) == 2
