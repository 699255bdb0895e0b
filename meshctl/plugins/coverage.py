"""Plugin `coverage`: which routes no test case reaches (router_check case files), with an optional gate."""

from __future__ import annotations

from typing import Any

from meshctl.extend import MeshctlAPI


def run(api: MeshctlAPI, args: Any) -> int:
    from meshctl.cli.common import UsageError
    from meshctl.sandbox import CaseFileError, load_case_file, run_cases

    cases = []
    for path in args.cases:
        try:
            cases += load_case_file(path).cases
        except (CaseFileError, OSError) as exc:
            raise UsageError(str(exc)) from exc
    report = run_cases(api.sandbox, cases, source=", ".join(args.cases))
    hit = report.covered
    missed = [r for r in report.all_routes if (r[0], r[1], r[2]) not in hit]
    total = len(report.all_routes)
    percent = 100.0 * (total - len(missed)) / total if total else 100.0
    rows = [[gw, vh, label, owner] for gw, vh, _rid, label, owner in missed]
    if api.output.format == "text":
        api.output.write(f"route coverage: {total - len(missed)}/{total} routes ({percent:.1f}%) "
                         f"from {len(cases)} cases")
        if rows:
            api.output.table(["GATEWAY", "VIRTUAL HOST", "ROUTE NOT REACHED", "OWNER"], rows)
    else:
        api.output.data({"covered": total - len(missed), "total": total, "percent": round(percent, 2),
                         "cases": len(cases),
                         "uncovered": [dict(zip(["gateway", "virtualHost", "route", "owner"], r, strict=False)) for r in rows]})
    if args.fail_under is not None and percent < args.fail_under:
        return 1
    return 0
