"""Long differential run: random route trees pushed through one real Envoy, every answer compared with the sandbox.

Run: .venv/bin/python benchmarks/xds_differential.py [--configs 300] [--requests 150] [--first-seed 1000] [--api v2]
Prints totals, requests/s and every disagreement (exit 1 if any).
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "xds"))

from fixtures_e2e import DIFF_NS, MeshHarness, run_differential  # noqa: E402

from meshctl.envoy.ports import free_port  # noqa: E402
from meshctl.sources.files import FileSource  # noqa: E402
from meshctl.xds.translate import TranslateOptions  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=300)
    parser.add_argument("--requests", type=int, default=150, help="requests per configuration")
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--api", choices=("v1beta1", "v2"), default="v1beta1",
                        help="write the random trees as Gloo v1beta1 or v2 resources")
    args = parser.parse_args()
    generator = None
    if args.api == "v2":
        from fixtures_v2 import RouteTreeGeneratorV2

        generator = RouteTreeGeneratorV2
    with tempfile.TemporaryDirectory(prefix="meshctl-diff-") as work:
        config = Path(work) / "config.yaml"
        config.write_text("")
        port = free_port()
        harness = MeshHarness([FileSource([work])], TranslateOptions(listener_ports={f"{DIFF_NS}/gw": port}))
        try:
            harness.envoy("diff-bench")
            client = harness.client(port)
            started = time.perf_counter()
            seeds = range(args.first_seed, args.first_seed + args.configs)
            total, found = run_differential(harness, config, client, seeds, args.requests, generator)
            elapsed = time.perf_counter() - started
        finally:
            harness.stop()
    kinds = collections.Counter(d.kind for d in found)
    print(f"[{args.api}] {total} requests over {args.configs} configurations in {elapsed:.1f} s ({total / elapsed:.0f} requests/s "
          f"including {args.configs} pushes)")
    print(f"disagreements: {dict(kinds) or 'none'}")
    for d in found[:20]:
        print(f"  seed {d.config} ({d.kind}): {d.request.describe()}: sandbox {d.sandbox}, other {d.other}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
