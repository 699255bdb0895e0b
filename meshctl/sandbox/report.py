"""Batch results as text (failures with explanations), JSON, and JUnit XML for CI."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from .render import trace_lines
from .runner import BatchReport, CaseOutcome

SCHEMA = "meshctl.test-route.batch/v1"
MAX_UNCOVERED_SHOWN = 20


def coverage_line(report: BatchReport) -> str:
    return (f"Current route coverage: {report.coverage_percent:.0f}% "
            f"({report.covered_count}/{len(report.all_routes)} routes)")


def failure_text(outcome: CaseOutcome) -> str:
    case, result = outcome.case, outcome.result
    lines = [f"FAIL tests[{case.index}] {case.name}", f"  request   {case.request.describe()}"]
    for m in outcome.mismatches:
        lines.append(f"  expected  {m.field}: {m.expected!r}")
        lines.append(f"  actual    {m.field}: {m.actual!r}")
    lines.append(f"  why       {result.reason}")
    entries = result.trace
    if entries:
        lines.append("  trace")
        lines.extend("  " + line for line in trace_lines(entries, 10))
    return "\n".join(lines)


def render_text(report: BatchReport) -> str:
    lines = [failure_text(o) + "\n" for o in report.failed]
    total, failed = len(report.outcomes), len(report.failed)
    lines.append(f"{total} case(s): {total - failed} passed, {failed} failed  ({report.seconds:.2f}s)")
    lines.append(coverage_line(report))
    uncovered = report.uncovered()
    if uncovered:
        lines.append("routes no case reaches:")
        for g, v, _, label, owner in uncovered[:MAX_UNCOVERED_SHOWN]:
            lines.append(f"  {g}  {v}  {label}  ({owner})")
        if len(uncovered) > MAX_UNCOVERED_SHOWN:
            lines.append(f"  ... {len(uncovered) - MAX_UNCOVERED_SHOWN} more")
    if not report.coverage_ok:
        lines.append(f"coverage {report.coverage_percent:.1f}% is below --fail-under {report.fail_under:g}%")
    return "\n".join(lines)


def _case_dict(o: CaseOutcome) -> dict[str, Any]:
    out: dict[str, Any] = {"index": o.case.index, "name": o.case.name, "passed": o.passed}
    if not o.passed:
        out["failures"] = [m.to_dict() for m in o.mismatches]
        out["result"] = o.result.to_dict()
    else:
        route = o.result.route
        out["route"] = route.id if route is not None else None
    return out


def render_json(report: BatchReport) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "file": report.source,
        "total": len(report.outcomes),
        "passed": report.passed,
        "failed": len(report.failed),
        "ok": report.ok,
        "seconds": round(report.seconds, 3),
        "coverage": {
            "percent": round(report.coverage_percent, 2),
            "covered": report.covered_count,
            "total": len(report.all_routes),
            "failUnder": report.fail_under,
            "uncovered": [{"gateway": g, "virtualHost": v, "route": label, "id": rid, "owner": owner}
                          for g, v, rid, label, owner in report.uncovered()],
        },
        "cases": [_case_dict(o) for o in report.outcomes],
    }


def render_junit(report: BatchReport) -> str:
    suite = ET.Element("testsuite", name=f"meshctl test-route {report.source}", tests=str(len(report.outcomes)),
                       failures=str(len(report.failed)), errors="0", time=f"{report.seconds:.3f}")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="route_coverage_percent", value=f"{report.coverage_percent:.2f}")
    ET.SubElement(props, "property", name="routes_covered", value=str(report.covered_count))
    ET.SubElement(props, "property", name="routes_total", value=str(len(report.all_routes)))
    classname = report.source or "test-route"
    for o in report.outcomes:
        tc = ET.SubElement(suite, "testcase", classname=classname, name=f"[{o.case.index}] {o.case.name}")
        if not o.passed:
            message = "; ".join(m.render() for m in o.mismatches)
            failure = ET.SubElement(tc, "failure", message=message, type="AssertionError")
            failure.text = failure_text(o)
    if not report.coverage_ok:
        tc = ET.SubElement(suite, "testcase", classname=classname, name="route coverage")
        failure = ET.SubElement(tc, "failure", message=f"route coverage {report.coverage_percent:.1f}% is below "
                                                        f"{report.fail_under:g}%", type="CoverageError")
        failure.text = coverage_line(report)
        suite.set("tests", str(len(report.outcomes) + 1))
        suite.set("failures", str(len(report.failed) + 1))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
