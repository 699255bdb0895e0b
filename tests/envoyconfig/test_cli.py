"""The commands over Envoy's configuration: test-route (one request, --file), routes, verify (on what
`meshctl xds dump` prints for the demo gateway, as is and edited by hand), and their exit codes."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from meshctl.cli.main import main

BOOTSTRAP = """
static_resources:
  listeners:
  - name: http
    address: {socket_address: {address: 127.0.0.1, port_value: 10000}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          route_config:
            name: local
            virtual_hosts:
            - name: web
              domains: ["www.example.com"]
              routes:
              - name: all-api
                match: {prefix: /api}
                route: {cluster: a, prefix_rewrite: /v2}
              - name: api-v1
                match: {prefix: /api/v1}
                route: {cluster: b}
              - name: old
                match: {path: /old}
                redirect: {path_redirect: /new, response_code: FOUND}
  clusters: [{name: a}, {name: b}]
"""


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def bootstrap(tmp_path: Path) -> Path:
    path = tmp_path / "envoy.yaml"
    path.write_text(BOOTSTRAP)
    return path


def test_test_route_json_has_the_router_check_keys(bootstrap: Path) -> None:
    code, out, _ = run("test-route", "--envoy-config", str(bootstrap), "GET", "http://www.example.com/api/x?q",
                       "-o", "json")
    assert code == 0
    data = json.loads(out)
    for key in ("request", "matched", "virtualHost", "route", "action", "reason", "trace"):
        assert key in data
    assert (data["route_name"], data["cluster_name"], data["path_rewrite"], data["no_match"]) == \
        ("all-api", "a", "/v2/x?q", False)


def test_test_route_file_runs_router_check_cases(bootstrap: Path, tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text("""tests:
- test_name: api
  input: {authority: www.example.com, path: /api/v1/x}
  validate: {cluster_name: a, route_name: all-api, path_rewrite: /v2/v1/x}
- test_name: redirect
  input: {authority: www.example.com, path: /old}
  validate: {code_redirect: 301, path_redirect: http://www.example.com/new}
- test_name: none
  input: {authority: nowhere, path: /}
  validate: {no_match: true}
""")
    code, out, _ = run("test-route", "--envoy-config", str(bootstrap), "--file", str(cases), "-o", "json")
    report = json.loads(out)
    assert code == 1 and report["failed"] == 1
    failure = next(c for c in report["cases"] if not c["passed"])
    assert failure["failures"] == [{"field": "code_redirect", "expected": 301, "actual": 302}]
    assert report["coverage"]["covered"] == 2 and report["coverage"]["total"] == 3


def test_gloo_only_assertions_are_refused(bootstrap: Path, tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text("tests:\n- test_name: x\n  input: {authority: a, path: /}\n  validate: {route_owner: x}\n")
    code, _, err = run("test-route", "--envoy-config", str(bootstrap), "--file", str(cases))
    assert code == 2 and "validate.route_owner" in err


def test_routes_shows_what_shadows_each_route(bootstrap: Path) -> None:
    code, out, _ = run("routes", "--envoy-config", str(bootstrap), "-o", "json")
    rows = {r["name"]: r for r in json.loads(out)["routes"]}
    assert code == 0
    assert rows["api-v1"]["shadowedBy"] == {"index": 0, "name": "all-api", "fully": True,
                                            "witness": "GET http://www.example.com/api/v1"}
    assert "shadowedBy" not in rows["old"]
    code, out, _ = run("routes", "--envoy-config", str(bootstrap))
    assert "shadowed by [0] all-api" in out


@pytest.mark.parametrize("argv, message", [
    (("test-route", "--envoy-config", "/nonexistent.json", "http://x/"), "no such file"),
    (("test-route", "--envoy-admin", "http://127.0.0.1:9", "http://x/"), "cannot reach Envoy's admin API"),
    (("test-route", "--demo", "--envoy-config", "x.json", "http://x/"), "give no PATH, --demo or --context"),
    (("routes", "--port", "1", "--demo"), "--port needs --envoy-config or --envoy-admin"),
    (("verify", "--demo"), "name the proxy"),
])
def test_usage_errors_exit_2(argv: tuple[str, ...], message: str) -> None:
    code, _, err = run(*argv)
    assert code == 2 and message in err and "Traceback" not in err


def _xds_dump(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    code, out, _ = run("xds", "dump", "--demo", "-o", "json")
    assert code == 0
    data = json.loads(out)
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(data))
    return path, data


def test_verify_agrees_with_the_translation(tmp_path: Path) -> None:
    path, _ = _xds_dump(tmp_path)
    code, out, _ = run("verify", "--demo", "--envoy-config", str(path), "-o", "json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["counts"]["same"] >= 6


def test_verify_names_route_and_request_of_each_difference(tmp_path: Path) -> None:
    path, data = _xds_dump(tmp_path)
    routes = data["routes"][0]["virtualHosts"][0]["routes"]
    by_name = {r["name"]: r for r in routes}
    by_name["VirtualHost/gloo-mesh/demo-virtualhost#ratings"]["route"]["cluster"] = "somewhere-else"
    routes.append({"name": "hand-added", "match": {"prefix": "/admin"}, "directResponse": {"status": 403}})
    path.write_text(json.dumps(data))
    code, out, _ = run("verify", "--demo", "--envoy-config", str(path), "-o", "json")
    report = json.loads(out)
    assert code == 1
    verdicts = {r["envoyRoute"]: r for r in report["routes"]}
    ratings = verdicts["VirtualHost/gloo-mesh/demo-virtualhost#ratings"]
    assert ratings["status"] == "different action" and ratings["request"] == "GET http://www.example.com/ratings"
    extra = verdicts["hand-added"]
    assert extra["status"] == "extra" and extra["request"] == "GET http://www.example.com/admin"
    code, text, _ = run("verify", "--demo", "--envoy-config", str(path))
    assert "DIFFERENT ACTION" in text and "somewhere-else" in text


SIDECAR = "sidecar:bookinfo/productpage@cluster1"
REFERENCE_B = [str(Path(__file__).resolve().parents[1] / "v2" / "data" / name)
               for name in ("reference-b.yaml", "reference-b-discovery.yaml")]
INTERNAL = "reviews.bookinfo.svc.cluster.local"


def test_verify_a_sidecar_against_the_east_west_routes(tmp_path: Path) -> None:
    """--node sidecar:NS/NAME@CLUSTER compares the routes the Gloo configuration gives that workload's sidecar
    (reference example (b)); the per-service hosts of plain Kubernetes routing in the same dump are not Gloo's."""
    code, out, _ = run("xds", "dump", *REFERENCE_B, "--node", SIDECAR, "-o", "json")
    assert code == 0
    data = json.loads(out)
    path = tmp_path / "sidecar.json"
    path.write_text(json.dumps(data))
    code, out, _ = run("verify", *REFERENCE_B, "--envoy-config", str(path), "--node", SIDECAR, "-o", "json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["counts"]["same"] == 4, report

    [config] = data["routes"]
    internal = next(vh for vh in config["virtualHosts"] if vh["name"] == INTERNAL)
    jason = next(r for r in internal["routes"] if r["name"].endswith("#jason-to-v2"))
    jason["route"]["cluster"] = "outbound|9080|version-v1|reviews.bookinfo.svc.cluster1"  # hand-edited: v1
    path.write_text(json.dumps(data))
    code, out, _ = run("verify", *REFERENCE_B, "--envoy-config", str(path), "--node", SIDECAR, "-o", "json")
    assert code == 1
    different = [r for r in json.loads(out)["routes"] if r["status"] == "different action"]
    assert [(r["envoyRoute"], r["request"].split()[1].split("/")[2]) for r in different] == \
        [("RouteTable/bookinfo/reviews#jason-to-v2", INTERNAL)]

    code, _, err = run("verify", *REFERENCE_B, "--envoy-config", str(path), "--node",
                       "sidecar:bookinfo/ratings@cluster1")
    assert code == 2 and "plain Kubernetes service routing" in err
