"""Failover drill figures: time to fail over and failed requests, for fail / refuse / hang, with and without retries.

Run: .venv/bin/python benchmarks/failover_drill.py [--rps 200] [--seconds 10] [--modes fail,refuse,hang] [--json]

Starts its own demo (real apps, xDS server, Envoys) in a temporary state dir, sends load to reviews through the
productpage sidecar (reviews.global: v1/v2 in us-east-1/us-east-1a, v3 in us-east-2/us-east-2b), fails reviews
in cluster-1 two seconds into the load and restores it five seconds later. Outlier detection is the demo's
(consecutive 5xx 1, interval 1 s) with baseEjectionTime 2 s so the return shows within the run. Everything runs
on 127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from meshctl.demo.environment import DemoEnvironment, DemoOptions
from meshctl.demo.failover_control import controller_for_demo
from meshctl.failover.drill import LoadSpec, run_drill
from meshctl.failover.watch import wait_settled

TARGET = "service:bookinfo/reviews@cluster-1"
OUTLIER_INTERVAL_S = 1.0


def drill_once(env: DemoEnvironment, mode: str, retries: bool, rps: float, seconds: float) -> dict[str, Any]:
    env.set_retries(retries)
    info = env.info
    assert info is not None
    leftover = wait_settled(info.admin_urls(), timeout=60)
    entry = info.urls["reviews"]
    load = LoadSpec(entry["url"], entry["host"], rps=rps, seconds=seconds, timeout_s=5.0)
    result = run_drill(controller_for_demo(info.state_dir), TARGET, mode, load,
                       trigger_after_s=2.0, restore_after_s=5.0)
    row = result.to_json()
    row["retries"] = retries
    row["unsettled_before"] = leftover
    return row


def table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'mode':<13} {'retries':<7} {'requests':>8} {'failed':>6} {'first err':>10} {'moved':>9} "
            f"{'returned':>9} {'p99 ms':>7} {'max ms':>7} {'late':>5}")
    lines = [head, "-" * len(head)]

    def ms(value: float | None) -> str:
        return "—" if value is None else f"{value:.0f} ms"

    for r in rows:
        lines.append(f"{r['mode']:<13} {'on' if r['retries'] else 'off':<7} {r['requests']:>8} {r['failed']:>6} "
                     f"{ms(r['first_error_ms']):>10} {ms(r['moved_ms']):>9} {ms(r['returned_ms']):>9} "
                     f"{r['latency_ms']['p99'] or 0:>7.1f} {r['latency_ms']['max'] or 0:>7.1f} "
                     f"{r['late_requests']:>5}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rps", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--modes", default="fail,refuse,hang")
    parser.add_argument("--json", action="store_true", help="print every drill report as JSON too")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="meshctl-failover-bench-") as state:
        options = DemoOptions(base_ejection_time_s=2.0, outlier_interval_s=OUTLIER_INTERVAL_S)
        env = DemoEnvironment(Path(state), options)
        info = env.up()
        try:
            print(f"demo up: sidecar {info.sidecar_url}; {args.rps:g} req/s for {args.seconds:g} s per drill; "
                  f"fail {TARGET} at +2 s, restore at +7 s; outlier interval {OUTLIER_INTERVAL_S:g} s, "
                  f"baseEjectionTime 2 s; retries: 2 attempts, per-try timeout 0.5 s; route timeout 2 s",
                  flush=True)
            for mode in modes:
                for retries in (False, True):
                    row = drill_once(env, mode, retries, args.rps, args.seconds)
                    rows.append(row)
                    print(f"  {mode:<13} retries {'on ' if retries else 'off'}: failed {row['failed']}, "
                          f"moved {row['moved_ms']} ms, returned {row['returned_ms']} ms"
                          + (f" ({'; '.join(row['notes'])})" if row["notes"] else ""), flush=True)
        finally:
            env.down()
    print()
    print(table(rows))
    print()
    checks = []
    for r in rows:
        if r["retries"]:
            ok = r["failed"] == 0 and r["moved_ms"] is not None and r["moved_ms"] <= OUTLIER_INTERVAL_S * 1000
            checks.append(f"{'PASS' if ok else 'FAIL'}: {r['mode']} with retries lost {r['failed']} requests and moved "
                          f"in {r['moved_ms']} ms (goal: 0 lost, ≤ {OUTLIER_INTERVAL_S * 1000:.0f} ms)")
    print("\n".join(checks))
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0 if all(c.startswith("PASS") for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
