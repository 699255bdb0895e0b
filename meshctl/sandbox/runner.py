"""Running router_check test cases against the sandbox: assertions, failures with explanations, route coverage."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from ..mesh.index import Locality
from ..model.common import RouteAction
from ..model.gcpause import gc_paused
from ..model.regex import compile_re2
from .casefile import TestCase
from .engine import Sandbox, SandboxResult
from .explain import route_label
from .outcome import response_headers, upstream_headers

MISSING = object()


@dataclass(frozen=True)
class Mismatch:
    field: str
    expected: Any
    actual: Any

    def render(self) -> str:
        return f"{self.field}: expected {self.expected!r}, actual {self.actual!r}"

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "expected": self.expected, "actual": self.actual}


@dataclass
class CaseOutcome:
    case: TestCase
    result: SandboxResult
    mismatches: list[Mismatch]

    @property
    def passed(self) -> bool:
        return not self.mismatches


@dataclass
class BatchReport:
    source: str
    outcomes: list[CaseOutcome]
    all_routes: list[tuple[str, str, str, str, str]]  # (gateway, vhost, route id, label, owner)
    covered: set[tuple[str, str, str]]
    seconds: float = 0.0
    fail_under: float | None = None

    @property
    def passed(self) -> int:
        return sum(1 for o in self.outcomes if o.passed)

    @property
    def failed(self) -> list[CaseOutcome]:
        return [o for o in self.outcomes if not o.passed]

    @property
    def coverage_percent(self) -> float:
        if not self.all_routes:
            return 100.0
        hit = sum(1 for g, v, rid, _, _ in self.all_routes if (g, v, rid) in self.covered)
        return 100.0 * hit / len(self.all_routes)

    @property
    def covered_count(self) -> int:
        return sum(1 for g, v, rid, _, _ in self.all_routes if (g, v, rid) in self.covered)

    def uncovered(self) -> list[tuple[str, str, str, str, str]]:
        return [r for r in self.all_routes if (r[0], r[1], r[2]) not in self.covered]

    @property
    def coverage_ok(self) -> bool:
        return self.fail_under is None or self.coverage_percent + 1e-9 >= self.fail_under

    @property
    def ok(self) -> bool:
        return not self.failed and self.coverage_ok


# -- header assertions (Envoy HeaderMatcher semantics) ---------------------------------------------

def _string_match(spec: dict[str, Any], value: str) -> bool:
    ignore = bool(spec.get("ignore_case"))
    if "safe_regex" in spec:
        return compile_re2(spec["safe_regex"]["regex"]).fullmatch(value) is not None
    target, have = value, ""
    for kind in ("exact", "prefix", "suffix", "contains"):
        if kind in spec:
            have = spec[kind]
            if ignore:
                target, have = value.lower(), have.lower()
            if kind == "exact":
                return target == have
            if kind == "prefix":
                return target.startswith(have)
            if kind == "suffix":
                return target.endswith(have)
            return have in target
    return False


def header_matcher_holds(hm: dict[str, Any], headers: dict[str, str]) -> bool:
    """Envoy's header matching for one HeaderMatcher from a test file: a missing header fails every value match,
    inverted or not (unless treat_missing_header_as_empty); present_match compares presence, then inverts."""
    value = headers.get(str(hm["name"]).lower())
    invert = bool(hm.get("invert_match"))
    if value is None and hm.get("treat_missing_header_as_empty"):
        value = ""
    if "present_match" in hm:
        return ((value is not None) == bool(hm["present_match"])) != invert
    if value is None:
        return False
    if "exact_match" in hm:
        match = value == hm["exact_match"]
    elif "prefix_match" in hm:
        match = value.startswith(hm["prefix_match"])
    elif "suffix_match" in hm:
        match = value.endswith(hm["suffix_match"])
    elif "contains_match" in hm:
        match = hm["contains_match"] in value
    elif "safe_regex_match" in hm:
        match = compile_re2(hm["safe_regex_match"]["regex"]).fullmatch(value) is not None
    elif "range_match" in hm:
        try:
            number = int(value)
        except ValueError:
            match = False
        else:
            match = hm["range_match"]["start"] <= number < hm["range_match"]["end"]
    elif "string_match" in hm:
        match = _string_match(hm["string_match"], value)
    else:
        match = True  # name only: present
    return match != invert


def _describe_matcher(hm: dict[str, Any]) -> str:
    kinds = {k: v for k, v in hm.items() if k != "name"}
    return f"{hm['name']} " + ", ".join(f"{k}={v}" for k, v in kinds.items()) if kinds else f"{hm['name']} present"


# -- one case --------------------------------------------------------------------------------------

def _actual_cluster(result: SandboxResult, case: TestCase) -> str:
    if result.route is None or result.action_type != "route":
        return ""
    if case.random_value is not None:
        return result.weighted_cluster(case.random_value)
    return result.envoy_cluster


def _first_destination(result: SandboxResult) -> dict[str, Any] | None:
    route = result.route
    if route is None:
        return None
    dests = result.sandbox.facts(route).destinations
    return dests[0] if dests else None


def _fact(result: SandboxResult, name: str, missing: Any = "") -> Any:
    route = result.route
    return getattr(result.sandbox.facts(route), name) if route is not None else missing


ACTUALS: dict[str, Callable[[SandboxResult, TestCase], Any]] = {
    "cluster_name": _actual_cluster,
    "virtual_cluster_name": lambda r, c: "",  # Gloo v1beta1 defines no virtual clusters
    "virtual_host_name": lambda r, c: r.virtual_host.name if r.route is not None and r.virtual_host is not None else "",
    "host_rewrite": lambda r, c: ((getattr(r.route.action, "host_rewrite", None) if r.route is not None else None)
                                  or r.request.authority) if r.action_type == "route" else "",
    "path_rewrite": lambda r, c: r.upstream_path if r.action_type == "route" else "",
    "path_redirect": lambda r, c: r.location or "",
    "code_redirect": lambda r, c: r.status if r.action_type in ("redirect", "directResponse") else None,
    "route_name": lambda r, c: _fact(r, "label"),
    "route_owner": lambda r, c: _fact(r, "owner_ref"),
    "direct_response_status": lambda r, c: r.status if r.action_type == "directResponse" else None,
    "direct_response_body": lambda r, c: (r.body or "") if r.action_type == "directResponse" else None,
    "gateway": lambda r, c: r.gateway.name,
    "delegation_chain": lambda r, c: list(_fact(r, "chain", ())),
}


def _request_headers_after(result: SandboxResult) -> dict[str, str]:
    route = result.route
    if route is None or result.action_type != "route":
        return upstream_headers(result.request, result.request.path, None)
    action = route.action
    extra = [d.options.header_manipulation for d in action.destinations
             if d.options is not None and d.options.header_manipulation is not None] \
        if isinstance(action, RouteAction) else []
    return upstream_headers(result.request, result.upstream_path or result.request.path, route.options, extra[:1])


def check_case(result: SandboxResult, case: TestCase) -> list[Mismatch]:
    out: list[Mismatch] = []
    v = case.validate
    for key, expected in v.items():
        actual_of = ACTUALS.get(key)
        if actual_of is not None:
            actual = actual_of(result, case)
            if actual != expected:
                out.append(Mismatch(key, expected, actual))
        elif key == "no_match":
            if expected != (not result.matched):
                out.append(Mismatch(key, expected, not result.matched))
        elif key == "destination":
            first = _first_destination(result)
            if first is None:
                out.append(Mismatch(key, expected, None))
                continue
            for dk, dv in expected.items():
                have = first.get(dk)
                if dk == "subset":
                    have = have or None
                    dv = dv or None
                if have != dv:
                    out.append(Mismatch(f"destination.{dk}", dv, have))
        elif key in ("request_header_matches", "request_header_fields"):
            headers = _request_headers_after(result)
            out.extend(_header_checks(key, expected, headers))
        elif key in ("response_header_matches", "response_header_fields"):
            route = result.route
            headers = response_headers(route.options if route is not None else None, result.location)
            out.extend(_header_checks(key, expected, headers))
    return out


def _header_checks(key: str, expected: list[dict[str, Any]], headers: dict[str, str]) -> list[Mismatch]:
    out = []
    for i, item in enumerate(expected):
        if key.endswith("_fields"):  # deprecated {key, value}: the header equals value
            name = item["key"].lower()
            if headers.get(name) != item.get("value", ""):
                out.append(Mismatch(f"{key}[{i}]", f"{name}: {item.get('value', '')}", headers.get(name)))
        elif not header_matcher_holds(item, headers):
            out.append(Mismatch(f"{key}[{i}]", _describe_matcher(item), headers.get(item["name"].lower())))
    return out


# -- a whole file ----------------------------------------------------------------------------------

def run_cases(sandbox: Sandbox, cases: list[TestCase], source: str = "", gateway: str | None = None,
              locality: Locality | None = None, fail_under: float | None = None) -> BatchReport:
    started = time.perf_counter()
    outcomes: list[CaseOutcome] = []
    covered: set[tuple[str, str, str]] = set()
    evaluate = sandbox.evaluate
    hit: set[tuple[int, int]] = set()  # (id of the gateway view, id of the route): cheap to collect per case
    sidecars: dict[str, Sandbox] = {}
    with gc_paused():  # see model/gcpause.py: GC over a large live model is quadratic
        for case in cases:
            if case.workload:  # answered by that workload's sidecar (not counted in the gateways' coverage)
                result = _sidecar(sandbox, sidecars, case, source).evaluate(case.request, None, locality)
                outcomes.append(CaseOutcome(case, result, check_case(result, case)))
                continue
            result = evaluate(case.request, gateway, locality)
            if result.route is not None:
                hit.add((id(result.gateway), id(result.route)))
            outcomes.append(CaseOutcome(case, result, check_case(result, case)))
        all_routes = []
        for g, v, r in sandbox.all_routes(gateway):
            all_routes.append((g.name, v.name, r.id, route_label(r), r.owner_ref))
            if (id(g), id(r)) in hit:
                covered.add((g.name, v.name, r.id))
    return BatchReport(source, outcomes, all_routes, covered, time.perf_counter() - started, fail_under)


def _sidecar(sandbox: Sandbox, cache: dict[str, Sandbox], case: TestCase, source: str) -> Sandbox:
    """The sandbox of a case's workload sidecar, built once per workload."""
    from ..routing.v2_eastwest import WorkloadError, find_workload, sidecar_view
    from .casefile import CaseFileError

    key = case.workload or ""
    found = cache.get(key)
    if found is None:
        try:
            workload = find_workload(sandbox.snapshot, key)
        except WorkloadError as exc:
            raise CaseFileError(f"{source}: tests[{case.index}] ({case.name!r}): input.workload: {exc}") from None
        found = cache[key] = Sandbox(sandbox.snapshot, sidecar_view(sandbox.snapshot, workload))
    return found


# -- recording a case from an answer (REPL :save) ---------------------------------------------------

def case_from_result(result: SandboxResult, name: str | None = None, with_gateway: bool = False) -> dict[str, Any]:
    """A router_check test case asserting what actually happened to this request."""
    req = result.request
    inp: dict[str, Any] = {"authority": req.authority, "path": req.path, "method": req.method}
    headers = [{"key": k, "value": v} for k, v in req.headers.items() if k not in ("x-forwarded-proto",)]
    if headers:
        inp["additional_request_headers"] = headers
    if req.scheme == "https" or "x-forwarded-proto" in req.headers:
        inp["ssl"] = req.scheme == "https"
    validate: dict[str, Any] = {}
    if with_gateway:
        validate["gateway"] = result.gateway.name
    route = result.route
    if route is None:
        validate["no_match"] = True
        validate["cluster_name"] = ""
    else:
        validate["route_name"] = route_label(route)
        validate["route_owner"] = route.owner_ref
        assert result.virtual_host is not None
        validate["virtual_host_name"] = result.virtual_host.name
        kind = result.action_type
        if kind == "route":
            validate["cluster_name"] = result.envoy_cluster
            validate["path_rewrite"] = result.upstream_path
            first = _first_destination(result)
            if first is not None:
                validate["destination"] = {k: first[k] for k in ("kind", "name", "namespace", "cluster", "subset")
                                           if first.get(k) is not None}
        elif kind == "directResponse":
            validate["direct_response_status"] = result.status
            validate["direct_response_body"] = result.body or ""
        elif kind == "redirect":
            validate["path_redirect"] = result.location
            validate["code_redirect"] = result.status
    return {"test_name": name or f"{req.method} {req.authority}{req.path}", "input": inp, "validate": validate}
