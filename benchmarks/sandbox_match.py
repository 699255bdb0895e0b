"""Sandbox matching speed: compiled first-match index vs a straightforward scan, and a large router_check batch.

Run: .venv/bin/python benchmarks/sandbox_match.py [--routes 10000] [--requests 20000] [--cases 100000] [--api v2]
(--api v2: the host is a Gloo v2 root RouteTable delegating to 100 tables.)
Prints figures only (targets: >= 50,000 requests/s, >= 20x a scan, 100,000 cases <= 5 s).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from meshctl.devtools.synth import synthetic_config_text, synthetic_requests, synthetic_v2_config_text  # noqa: E402
from meshctl.model.snapshot import load_snapshot, snapshot_from_text  # noqa: E402
from meshctl.routing.flatten import build_routing_view  # noqa: E402
from meshctl.sandbox.casefile import load_case_file  # noqa: E402
from meshctl.sandbox.engine import Sandbox  # noqa: E402
from meshctl.sandbox.index import RouteIndex, scan_first_match  # noqa: E402
from meshctl.sandbox.runner import case_from_result, run_cases  # noqa: E402


def timed(label: str, fn, *args):  # type: ignore[no-untyped-def]
    """Run fn once; print wall and CPU seconds. Rates below use CPU time: on a shared machine the wall clock
    also counts time other processes held the core."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn(*args)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"  {label:<46} {wall:8.3f} s wall {cpu:8.3f} s cpu")
    return value, cpu


def best_of(runs: int, fn):  # type: ignore[no-untyped-def]
    best, value = float("inf"), None
    for _ in range(runs):
        cpu = time.process_time()
        value = fn()
        best = min(best, time.process_time() - cpu)
    return value, best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--routes", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--scan-requests", type=int, default=300, help="requests for the (slow) scan baseline")
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--api", choices=("v1beta1", "v2"), default="v1beta1")
    args = ap.parse_args()
    print(f"sandbox_match [{args.api}]: {args.routes} routes, python {sys.version.split()[0]}, pid {os.getpid()}")

    print("setup")
    synth = synthetic_v2_config_text if args.api == "v2" else synthetic_config_text
    text, _ = timed("synthetic config", synth, args.routes)
    snapshot, _ = timed("load snapshot", snapshot_from_text, text)
    view, _ = timed("route engine (flatten)", build_routing_view, snapshot)
    vhost = max((v for g in view.gateways for v in g.virtual_hosts), key=lambda v: len(v.routes))
    print(f"  virtual host {vhost.name}: {len(vhost.routes)} flattened routes")
    gc.collect()
    gc.freeze()  # as `test-route --file` does: the loaded configuration is not re-walked by the collector
    index, _ = timed("compile index", RouteIndex, vhost.routes)
    requests = synthetic_requests(view, args.requests, seed=1)

    print("matching (one core, this process; CPU time, best of 3 warm runs)")
    timed("first (cold) pass: compiles the RE2 regexes", lambda: [index.first_match(r) for r in requests])
    hits, t_index = best_of(3, lambda: [index.first_match(r) for r in requests])
    print(f"  {'index: ' + str(len(requests)) + ' requests':<46} {t_index:8.3f} s cpu")
    sample = requests[: args.scan_requests]
    scans, t_scan = timed(f"scan:  {len(sample)} requests", lambda: [scan_first_match(vhost.routes, r) for r in sample])
    same = sum(1 for a, b in zip(hits, scans, strict=False) if a == b)
    index_rate = len(requests) / t_index
    scan_rate = len(sample) / t_scan
    print(f"  index {index_rate:,.0f} req/s   scan {scan_rate:,.0f} req/s   speed-up {index_rate / scan_rate:,.1f}x")
    print(f"  agreement on the scanned sample: {same}/{len(sample)}")
    matched = sum(1 for h in hits if h is not None)
    print(f"  matched {matched}/{len(hits)} (the synthetic catch-all takes the misses)")

    sandbox = Sandbox(snapshot, view)
    _, t_eval = best_of(3, lambda: [sandbox.evaluate(r) for r in requests])
    print(f"  sandbox.evaluate (host + index + result) {len(requests) / t_eval:,.0f} req/s")

    print(f"batch: {args.cases} router_check cases")
    base = [case_from_result(sandbox.evaluate(r)) for r in requests[:2000]]
    cases = [dict(base[i % len(base)], test_name=f"case {i}") for i in range(args.cases)]
    with tempfile.TemporaryDirectory() as tmp:
        json_path = Path(tmp) / "cases.json"
        json_path.write_text(json.dumps({"tests": cases}))
        print(f"  case file {json_path.stat().st_size / 1e6:.1f} MB (JSON, router_check's other format)")
        loaded, t_load = timed("parse + check case file", load_case_file, json_path)
        report, t_run = timed("run cases (match + assertions + coverage)",
                              run_cases, sandbox, loaded.cases, str(json_path))
        print(f"  {len(report.outcomes)} cases, {report.passed} passed, coverage {report.coverage_percent:.0f}%; "
              f"in-process parse + run {t_load + t_run:.2f} s cpu; run alone {len(report.outcomes) / t_run:,.0f} "
              f"cases/s (match + assertions + coverage)")
        config_path = Path(tmp) / "config.yaml"
        config_path.write_text(text)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "meshctl.cli.main", "test-route", str(config_path),
                               "--file", str(json_path)], cwd=REPO, capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        child_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(f"  CLI end to end (interpreter start, config load + flatten, {args.cases} cases): {wall:.2f} s wall, "
              f"{child_cpu:.2f} s cpu, exit {proc.returncode}")
        summary = [line for line in proc.stdout.splitlines() if "case(s):" in line or "coverage:" in line]
        print("  " + "\n  ".join(summary))
        guide_step = REPO / "docs" / "examples" / "004-advanced-routing" / "07-route-specificity"
        guide_cases = load_case_file(REPO / "tests" / "cases" / "004-07-route-specificity.yaml").cases

        guide_sandbox = Sandbox(load_snapshot([guide_step]))
        raw_guide = [case_from_result(guide_sandbox.evaluate(c.request)) for c in guide_cases]
        guide_json = Path(tmp) / "guide-cases.json"
        guide_json.write_text(json.dumps({"tests": [dict(raw_guide[i % len(raw_guide)], test_name=f"case {i}")
                                                    for i in range(args.cases)]}))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "meshctl.cli.main", "test-route", str(guide_step),
                               "--file", str(guide_json)], cwd=REPO, capture_output=True, text=True, timeout=600)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        child_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(f"  CLI end to end, {args.cases} cases against the 004 guide config: {wall:.2f} s wall, "
              f"{child_cpu:.2f} s cpu, exit {proc.returncode}")
        yaml_cases = min(args.cases, 10_000)
        yaml_path = Path(tmp) / "cases.yaml"
        import yaml

        class NoAliases(yaml.SafeDumper):  # the cases share dicts; a written suite has no anchors
            def ignore_aliases(self, data: Any) -> bool:
                return True

        yaml_path.write_text(yaml.dump({"tests": cases[:yaml_cases]}, Dumper=NoAliases, sort_keys=False))
        _, t_yaml = timed(f"parse a {yaml_cases}-case block YAML file", load_case_file, yaml_path)
        print(f"  YAML: {yaml_cases / t_yaml:,.0f} cases/s to parse and check (meshctl's block reader)")
        yaml_path.write_text(yaml.safe_dump({"tests": cases[:yaml_cases]}, sort_keys=False, width=10_000,
                                            default_flow_style=True))
        _, t_flow = timed(f"parse a {yaml_cases}-case flow-style YAML file", load_case_file, yaml_path)
        print(f"  YAML: {yaml_cases / t_flow:,.0f} cases/s to parse and check (PyYAML: flow style, anchors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
