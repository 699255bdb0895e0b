"""Running test cases: router_check assertions, meshctl assertions, header matchers, coverage."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from meshctl.sandbox.casefile import parse_cases
from meshctl.sandbox.engine import Sandbox
from meshctl.sandbox.request import parse_request
from meshctl.sandbox.runner import case_from_result, header_matcher_holds, run_cases

from .conftest import gateway_yaml, vhost_yaml

ROUTES = """  - name: api
    matchers: [{uri: {prefix: /api/}}]
    options:
      headerManipulation:
        appendRequestHeaders: {x-added: yes-please}
        removeRequestHeaders: [x-secret]
        appendResponseHeaders: {x-served-by: gateway}
    routeAction:
      destinations:
      - {kubeService: {name: api, namespace: apps, clusterName: c1}, weight: 3}
      - {kubeService: {name: api-next, namespace: apps, clusterName: c1}, weight: 1}
      pathRewrite: /
  - name: go-https
    matchers: [{uri: {prefix: /login}}]
    redirectAction: {httpsRedirect: true, responseCode: TEMPORARY_REDIRECT}
  - name: teapot
    matchers: [{uri: {exact: /tea}}]
    directResponseAction: {status: 418, body: short and stout}
"""


@pytest.fixture
def sb(sandbox_from: Callable[..., Sandbox]) -> Sandbox:
    return sandbox_from(gateway_yaml(), vhost_yaml("vh", ["www.example.com"], ROUTES))


def run(sb: Sandbox, *tests: dict[str, Any], **kwargs: Any):  # type: ignore[no-untyped-def]
    return run_cases(sb, parse_cases({"tests": list(tests)}, "inline"), "inline", **kwargs)


def case(path: str, validate: dict[str, Any], **inp: Any) -> dict[str, Any]:
    return {"test_name": path, "input": {"authority": "www.example.com", "path": path, "method": "GET", **inp},
            "validate": validate}


def test_router_check_fields_pass_and_fail_precisely(sb: Sandbox) -> None:
    good = [
        case("/api/x?q=1", {"path_rewrite": "/x?q=1", "host_rewrite": "www.example.com",
                            "cluster_name": "outbound|0||api.apps.svc.c1", "virtual_host_name": "gloo-mesh/vh",
                            "virtual_cluster_name": ""}),
        case("/api/x", {"cluster_name": "outbound|0||api-next.apps.svc.c1"}, random_value=3),
        case("/login", {"path_redirect": "https://www.example.com/login", "code_redirect": 307, "cluster_name": ""}),
        case("/tea", {"code_redirect": 418, "direct_response_status": 418, "direct_response_body": "short and stout"}),
        case("/nothing", {"cluster_name": "", "no_match": True, "virtual_host_name": "", "route_name": ""}),
        case("/api/", {"route_name": "api", "route_owner": "VirtualHost/gloo-mesh/vh", "gateway": "gloo-mesh/gw",
                      "delegation_chain": ["VirtualHost/gloo-mesh/vh#api"],
                      "destination": {"kind": "kubeService", "name": "api", "namespace": "apps", "cluster": "c1",
                                      "subset": None}}),
    ]
    report = run(sb, *good)
    assert [o.mismatches for o in report.outcomes] == [[]] * len(good)
    bad = run(sb, case("/api/x", {"path_rewrite": "/api/x", "destination": {"name": "other"}}),
              case("/tea", {"no_match": True, "path_redirect": "x"}))
    assert [(m.field, m.expected, m.actual) for m in bad.outcomes[0].mismatches] == [
        ("path_rewrite", "/api/x", "/x"), ("destination.name", "other", "api")]
    assert [(m.field, m.actual) for m in bad.outcomes[1].mismatches] == [("no_match", False), ("path_redirect", "")]
    assert not bad.ok


def test_request_and_response_header_assertions(sb: Sandbox) -> None:
    validate = {
        "request_header_matches": [
            {"name": "x-added", "string_match": {"exact": "yes-please"}},
            {"name": "x-secret", "present_match": False},
            {"name": ":path", "string_match": {"prefix": "/x"}},
            {"name": "x-canary", "safe_regex_match": {"regex": "[0-9]"}},
        ],
        "response_header_matches": [{"name": "x-served-by", "exact_match": "gateway"}],
    }
    headers = [{"key": "x-secret", "value": "s"}, {"key": "x-canary", "value": "7"}]
    report = run(sb, case("/api/x", validate, additional_request_headers=headers))
    assert report.outcomes[0].mismatches == []
    report = run(sb, case("/api/x", {"request_header_matches": [{"name": "x-secret", "present_match": True}]},
                          additional_request_headers=headers))
    assert report.outcomes[0].mismatches[0].field == "request_header_matches[0]"


@pytest.mark.parametrize("matcher, headers, holds", [
    ({"name": "a", "exact_match": "1"}, {"a": "1"}, True),
    ({"name": "a", "exact_match": "1", "invert_match": True}, {"a": "1"}, False),
    ({"name": "a", "exact_match": "1", "invert_match": True}, {}, False),  # a missing header fails, inverted too
    ({"name": "a", "present_match": True, "invert_match": True}, {}, True),
    ({"name": "a", "present_match": True}, {"a": ""}, True),
    ({"name": "a", "present_match": False}, {}, True),
    ({"name": "a", "prefix_match": ""}, {}, False),
    ({"name": "a", "prefix_match": "", "treat_missing_header_as_empty": True}, {}, True),
    ({"name": "a", "range_match": {"start": 10, "end": 20}}, {"a": "19"}, True),
    ({"name": "a", "range_match": {"start": 10, "end": 20}}, {"a": "20"}, False),
    ({"name": "a", "string_match": {"suffix": "AB", "ignore_case": True}}, {"a": "xab"}, True),
    ({"name": "a", "string_match": {"contains": "b"}}, {"a": "abc"}, True),
    ({"name": "A", "contains_match": "z"}, {"a": "abc"}, False),
])
def test_header_matcher_semantics(matcher: dict[str, Any], headers: dict[str, str], holds: bool) -> None:
    assert header_matcher_holds(matcher, headers) is holds


def test_coverage_and_fail_under(sb: Sandbox) -> None:
    one = run(sb, case("/tea", {"direct_response_status": 418}), fail_under=50)
    assert (one.covered_count, len(one.all_routes)) == (1, 3)
    assert round(one.coverage_percent) == 33 and not one.coverage_ok and not one.ok
    assert [u[3] for u in one.uncovered()] == ["api", "go-https"]
    # a hit counts even when the case fails; a no-match hits nothing
    all_three = run(sb, case("/tea", {"route_name": "wrong"}), case("/api/", {"route_name": "api"}),
                    case("/login", {"code_redirect": 307}), case("/zzz", {"no_match": True}), fail_under=100)
    assert all_three.coverage_percent == 100 and all_three.coverage_ok and not all_three.ok


def test_saved_cases_pass_against_the_same_config(sb: Sandbox, guide_sandbox: Callable[[str], Sandbox]) -> None:
    lines = ["GET http://www.example.com/api/x?y=1", "GET http://www.example.com/login",
             "GET http://www.example.com/tea", "GET http://www.example.com/none", "GET http://other.example.com/"]
    saved = [case_from_result(sb.evaluate(parse_request([line], ["x-canary: 1"]))) for line in lines]
    report = run(sb, *saved)
    assert report.passed == len(lines)
    assert saved[3]["validate"] == {"no_match": True, "cluster_name": ""}
    # the same cases catch a different answer
    guide = guide_sandbox("07-route-specificity")
    versions = case_from_result(guide.evaluate(parse_request(["http://www.example.com/reviews/v1/version"])))
    assert run(guide, versions).passed == 1
    assert run(guide_sandbox("06-table-weight"), versions).passed == 0
