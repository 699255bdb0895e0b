"""router_check test files run against Envoy's own configuration: the same file format, keys and report
as `meshctl test-route --file`, answered by the Envoy-config sandbox."""

from __future__ import annotations

import time
from typing import Any, Callable

from ..model.gcpause import gc_paused
from ..sandbox.casefile import CaseFileError, TestCase
from ..sandbox.runner import BatchReport, CaseOutcome, Mismatch, header_matcher_holds
from .answer import EnvoyAnswer, answer
from .matching import Matcher

# assertions about Gloo resources: Envoy's configuration has no owners, destinations or delegation chains
GLOO_ONLY = ("route_owner", "destination", "delegation_chain", "gateway")

ACTUALS: dict[str, Callable[[EnvoyAnswer], Any]] = {
    "cluster_name": lambda a: a.cluster,
    "virtual_cluster_name": lambda a: a.virtual_cluster,
    "virtual_host_name": lambda a: a.virtual_host.name if a.route is not None else "",
    "host_rewrite": lambda a: a.upstream_host or "" if a.action_type == "route" else "",
    "path_rewrite": lambda a: a.upstream_path or "" if a.action_type == "route" else "",
    "path_redirect": lambda a: a.location or "" if a.action_type == "redirect" else "",
    "code_redirect": lambda a: a.status if a.action_type in ("redirect", "directResponse") else None,
    "route_name": lambda a: a.route.name if a.route is not None else "",
    "direct_response_status": lambda a: a.status if a.action_type == "directResponse" else None,
    "direct_response_body": lambda a: a.body if a.action_type == "directResponse" else None,
    "no_match": lambda a: not a.matched,
}


def check_gloo_only(cases: list[TestCase], source: str) -> None:
    for case in cases:
        for key in GLOO_ONLY:
            if key in case.validate:
                raise CaseFileError(f"{source}: tests[{case.index}] ({case.name!r}): validate.{key}: asserts a Gloo "
                                    f"resource, which Envoy's configuration does not have (drop it for "
                                    f"--envoy-config)")


def _header_checks(key: str, expected: list[dict[str, Any]], headers: dict[str, str]) -> list[Mismatch]:
    out = []
    for i, item in enumerate(expected):
        if key.endswith("_fields"):
            name = item["key"].lower()
            if headers.get(name) != item.get("value", ""):
                out.append(Mismatch(f"{key}[{i}]", f"{name}: {item.get('value', '')}", headers.get(name)))
        elif not header_matcher_holds(item, headers):
            out.append(Mismatch(f"{key}[{i}]", item, headers.get(str(item["name"]).lower())))
    return out


def check(a: EnvoyAnswer, case: TestCase) -> list[Mismatch]:
    out: list[Mismatch] = []
    for key, expected in case.validate.items():
        actual_of = ACTUALS.get(key)
        if actual_of is not None:
            actual = actual_of(a)
            if actual != expected:
                out.append(Mismatch(key, expected, actual))
        elif key in ("request_header_matches", "request_header_fields"):
            out.extend(_header_checks(key, expected, a.upstream_headers()))
        elif key in ("response_header_matches", "response_header_fields"):
            out.extend(_header_checks(key, expected, a.response_headers()))
    return out


def run_envoy_cases(matcher: Matcher, cases: list[TestCase], source: str = "", label: str = "",
                    fail_under: float | None = None) -> BatchReport:
    started = time.perf_counter()
    outcomes: list[CaseOutcome] = []
    hit: set[int] = set()
    with gc_paused():
        for case in cases:
            a = answer(matcher, case.request, label, case.random_value)
            if a.route is not None:
                hit.add(id(a.route))
            outcomes.append(CaseOutcome(case, a, check(a, case)))  # type: ignore[arg-type]  # same interface
    all_routes = [(label, vh.name, r.id, r.label, r.owner_ref) for vh, r in matcher.rc.all_routes()]
    covered = {(label, vh.name, r.id) for vh, r in matcher.rc.all_routes() if id(r) in hit}
    return BatchReport(source, outcomes, all_routes, covered, time.perf_counter() - started, fail_under)
