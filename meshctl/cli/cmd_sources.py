"""`meshctl sources`: list every configuration source with its state (ok / stale and why / syncing), counts, last event."""

from __future__ import annotations

import argparse
import time

from .common import EXIT_FINDINGS, EXIT_OK, UsageError, add_output_arg, add_source_args, emit

EXAMPLE = """example:
  meshctl sources --demo
  meshctl sources --context mgmt --context east --cluster-name east=cluster-2 -o json
  meshctl sources            # the kubeconfig's current context

Exit status: 0 when every source is ok, 1 when any is stale or in error.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sources", help="show configuration sources and their state",
                       description="Read every source once (files, demo, Kubernetes contexts) and show its "
                                   "state, object counts and last event time. A Kubernetes context that cannot "
                                   "be reached or denies access shows as stale, with the reason.",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_args(p)
    p.add_argument("-n", "--namespace", metavar="NS", help="read only this namespace from Kubernetes contexts")
    add_output_arg(p, ("text", "json"), "text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .kube_args import sources_from_args

    sources = sources_from_args(args, default_to_current=not (args.paths or args.demo))
    if not sources:
        raise UsageError("no sources given: name files (PATH...), --demo or --context")
    try:
        for source in sources:
            source.load()
        described = [source.describe() for source in sources]
    finally:
        for source in sources:
            closer = getattr(source, "close", None) or source.stop
            closer()
    if args.output == "json":
        emit(described, "json")
    else:
        emit(render_table(described), "text")
    return EXIT_OK if all(d.get("state") == "ok" for d in described) else EXIT_FINDINGS


def _when(stamp: object, now: float) -> str:
    if not isinstance(stamp, (int, float)):
        return "-"
    ago = max(0, int(now - stamp))
    return f"{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(stamp))} ({ago}s ago)"


def render_table(described: list[dict[str, object]]) -> str:
    now = time.time()
    rows = [("SOURCE", "KIND", "STATE", "OBJECTS", "LAST EVENT")]
    notes: list[str] = []
    for d in described:
        counts = d.get("counts") or {}
        total = sum(counts.values()) if isinstance(counts, dict) else 0
        name = str(d.get("name"))
        if d.get("kind") == "kube" and d.get("cluster") and d.get("cluster") != d.get("context"):
            name += f" (cluster {d['cluster']})"
        rows.append((name, str(d.get("kind")), str(d.get("state")), str(total), _when(d.get("lastEventAt"), now)))
        if isinstance(counts, dict) and counts:
            notes.append(f"{d.get('name')}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        if d.get("reason"):
            notes.append(f"{d.get('name')}: {d.get('state')}: {d.get('reason')}")
        if d.get("missingKinds"):
            notes.append(f"{d.get('name')}: not served: {', '.join(map(str, d['missingKinds']))}")  # type: ignore[arg-type]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    if notes:
        lines.append("")
        lines.extend(notes)
    return "\n".join(lines)
