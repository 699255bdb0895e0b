"""Differential test in Gloo v2 form: random v2 route trees through real Envoy vs the sandbox's first match."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshctl.envoy.ports import free_port

from fixtures_e2e import DIFF_NS, mesh_harness, run_differential  # noqa: F401 (fixture)
from fixtures_v2 import RouteTreeGeneratorV2

pytestmark = pytest.mark.envoy

CONFIGS = 12
REQUESTS_PER_CONFIG = 100


def test_generator_writes_v2_with_both_selector_kinds_and_sort_methods() -> None:
    docs = [d for seed in range(1, CONFIGS + 1) for d in RouteTreeGeneratorV2(seed).config()]
    assert {d["apiVersion"] for d in docs if d["kind"] in ("RouteTable", "VirtualGateway")} == \
        {"networking.gloo.solo.io/v2"}
    delegates = [r["delegate"] for d in docs if d["kind"] == "RouteTable" for r in d["spec"]["http"] if "delegate" in r]
    selectors = [s for dl in delegates for s in dl["routeTables"]]
    assert any("name" in s for s in selectors) and any("labels" in s for s in selectors)
    assert {dl.get("sortMethod") for dl in delegates} >= {"TABLE_WEIGHT", "ROUTE_SPECIFICITY"}


def test_envoy_answers_like_the_sandbox_on_v2(tmp_path: Path, mesh_harness) -> None:  # noqa: F811
    config = tmp_path / "config.yaml"
    config.write_text("")
    port = free_port()
    harness = mesh_harness([tmp_path], listener_ports={f"{DIFF_NS}/gw": port})
    harness.envoy("diff-v2")
    client = harness.client(port)
    total, disagreements = run_differential(harness, config, client, range(1, CONFIGS + 1), REQUESTS_PER_CONFIG,
                                            RouteTreeGeneratorV2)
    assert total >= 1000
    report = "\n".join(f"config {d.config} ({d.kind}): {d.request.describe()}: sandbox {d.sandbox}, other {d.other}"
                       for d in disagreements[:10])
    assert not disagreements, f"{len(disagreements)} of {total} answers differ:\n{report}"
