"""The v2 demo's guide 002/003 stories on real Envoy: reviews behind a v2 VirtualDestination with FailoverPolicy
+ OutlierDetectionPolicy, the database ExternalService in its own workspace; `meshctl failover drill` on it."""

from __future__ import annotations

import json

import pytest

from meshctl.cli.main import main
from meshctl.model.snapshot import load_snapshot
from meshctl.model.v2.resilience import FailoverPolicyV2, OutlierDetectionPolicyV2
from meshctl.model.v2.resources import VirtualDestinationV2, WorkspaceV2
from tests.failover.conftest import LOCAL, REMOTE_DATABASE, REMOTE_REVIEWS, RunningDemo, get
from tests.failover.test_failover_envoy import answers_until

pytestmark = pytest.mark.envoy


def test_the_v2_demo_serves_the_v2_resilience_objects(demo_v2: RunningDemo) -> None:
    served = load_snapshot([demo_v2.info.config_dir])
    assert [r.name for r in served if isinstance(r, VirtualDestinationV2)] == ["bookinfo-global"]
    assert {r.name for r in served if isinstance(r, FailoverPolicyV2)} == {"reviews-failover", "database-failover"}
    assert {r.name for r in served if isinstance(r, OutlierDetectionPolicyV2)} == {
        "reviews-outlier-detection", "database-outlier-detection"}
    assert {r.name for r in served if isinstance(r, WorkspaceV2)} == {"bookinfo", "databases"}
    assert not any(r.kind == "VirtualDestination" and not isinstance(r, VirtualDestinationV2) for r in served)
    # the demo-only v2 RouteTable: gateway → productpage's sidecar over mutual TLS
    entry = demo_v2.info.urls["gateway-productpage"]
    page = get(entry["url"], entry["host"])
    assert page.status == 200 and page.body.get("service") == "productpage"


def test_watch_shows_policy_priorities_on_the_sidecar(demo_v2: RunningDemo, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(3):
        demo_v2.reviews()
        demo_v2.database()
    assert main(["failover", "watch", "--count", "1", "-o", "json", "--state-dir",
                 str(demo_v2.info.state_dir)]) == 0
    sample = json.loads(capsys.readouterr().out.strip().splitlines()[0])
    hosts = {c["cluster"]: sorted((h["priority"], h["locality"]) for h in c["hosts"])
             for c in sample["clusters"] if c["envoy"] == "envoy-productpage"}
    assert hosts["outbound|9080||reviews.global"] == [(0, LOCAL), (0, LOCAL), (1, REMOTE_REVIEWS)]
    assert hosts["outbound|80||database.external"] == [(0, LOCAL), (1, REMOTE_DATABASE)]


def test_database_fails_over_to_the_mapped_region(demo_v2: RunningDemo) -> None:
    assert demo_v2.database().locality == LOCAL
    demo_v2.controller.trigger("service:databases/database@db-dallas", "fail")
    seen = answers_until(demo_v2.database, lambda a: a.status == 200 and a.locality == REMOTE_DATABASE)
    assert seen[-1].locality == REMOTE_DATABASE, [(a.status, a.locality) for a in seen]


def test_drill_with_retries_at_200_rps_loses_nothing(demo_v2: RunningDemo,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["failover", "drill", "service:bookinfo/reviews@cluster-1", "--rps", "200", "--seconds", "3",
                 "--trigger-after", "0.8", "--restore-after", "1", "--retries", "--mode", "refuse", "-o", "json",
                 "--state-dir", str(demo_v2.info.state_dir)])
    out = capsys.readouterr().out
    assert code == 0, out
    report = json.loads(out)
    assert report["requests"] == 600 and report["retries"] is True
    assert report["failed"] == 0 and report["first_error_ms"] is None
    assert report["moved_to"] == REMOTE_REVIEWS
    assert report["by_locality"][LOCAL] > 0 and report["by_locality"][REMOTE_REVIEWS] > 0
