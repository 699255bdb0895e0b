"""Plugin `diff`: two configuration trees → the route changes and which requests change outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meshctl.extend import MeshctlAPI


def run(api: MeshctlAPI, args: Any) -> int:
    from meshctl.cli.common import UsageError
    from meshctl.routing.diff import changed_outcomes, diff_views, sample_requests
    from meshctl.sandbox import CaseFileError, load_case_file

    for p in (args.old, args.new):
        if not Path(p).exists():
            raise UsageError(f"no such file or directory: {p}")
    old, new = api.load([args.old]), api.load([args.new])
    requests = []
    for path in args.requests or []:
        try:
            requests += [c.request for c in load_case_file(path).cases]
        except (CaseFileError, OSError) as exc:
            raise UsageError(str(exc)) from exc
    if not requests:  # no request file: probe every route of both trees
        requests = sample_requests(old.view) + sample_requests(new.view)
    route_changes = diff_views(old.view, new.view)
    outcome_changes = changed_outcomes(old.view, new.view, requests)
    if api.output.format != "text":
        api.output.data({
            "routeChanges": [{"kind": c.kind, "description": c.describe()} for c in route_changes],
            "requestsChecked": len(requests),
            "outcomeChanges": [{"request": c.request.describe(), "old": c.old, "new": c.new,
                                "oldRoute": c.old_route, "newRoute": c.new_route}
                               for c in outcome_changes]})
    else:
        api.output.write(f"{len(route_changes)} route change(s); {len(outcome_changes)} of {len(requests)} "
                         "request(s) change outcome")
        for c in route_changes:
            api.output.write(f"  {c.describe()}")
        if outcome_changes:
            api.output.table(["REQUEST", "OLD", "NEW"],
                             [[c.request.describe(), c.old, c.new] for c in outcome_changes])
    return 1 if outcome_changes and args.fail_on_change else 0
