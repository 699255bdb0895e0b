"""`meshctl failover ...` end to end: read-only refusal, no demo, watch JSON lines, drills with and without retries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshctl.cli.main import main

from .conftest import LOCAL, REMOTE_REVIEWS, RunningDemo


@pytest.mark.parametrize("argv", [
    ["failover", "trigger", "service:bookinfo/reviews@cluster-1", "--mode", "fail"],
    ["failover", "restore", "--all"],
    ["failover", "drill", "cluster:cluster-1", "--rps", "10", "--seconds", "1"],
])
def test_mutating_commands_refuse_under_read_only(argv: list[str], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--read-only", *argv, "--state-dir", str(tmp_path)]) == 2
    assert "read-only" in capsys.readouterr().err


def test_commands_say_clearly_that_no_demo_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["failover", "trigger", "cluster:cluster-1", "--state-dir", str(tmp_path)]) == 2
    assert "no demo is running" in capsys.readouterr().err
    assert main(["failover", "watch", "--count", "1", "--state-dir", str(tmp_path)]) == 2
    assert "meshctl demo up" in capsys.readouterr().err


def test_bad_target_and_unknown_service_are_usage_errors(demo: RunningDemo, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(demo.info.state_dir)
    assert main(["failover", "trigger", "reviews", "--state-dir", state]) == 2
    assert "service:NAMESPACE/NAME" in capsys.readouterr().err
    assert main(["failover", "trigger", "service:bookinfo/nope", "--state-dir", state]) == 2
    assert "matches no endpoint" in capsys.readouterr().err


def test_watch_prints_one_json_object_per_sample(demo: RunningDemo, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(5):
        demo.reviews()
    assert main(["failover", "watch", "--count", "2", "--interval", "0.2", "-o", "json",
                 "--state-dir", str(demo.info.state_dir)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    samples = [json.loads(line) for line in lines]
    assert [s["seq"] for s in samples] == [1, 2]
    names = {(c["envoy"], c["cluster"]) for c in samples[0]["clusters"]}
    assert ("envoy-productpage", "outbound|9080||reviews.global") in names
    assert ("envoy-productpage", "outbound|80||database.external") in names
    reviews = [c for c in samples[0]["clusters"] if c["envoy"] == "envoy-productpage"
               and c["cluster"] == "outbound|9080||reviews.global"][0]
    assert sorted((h["priority"], h["locality"]) for h in reviews["hosts"]) == [(0, LOCAL), (0, LOCAL),
                                                                               (1, REMOTE_REVIEWS)]


def _drill(demo: RunningDemo, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    code = main(["failover", "drill", "service:bookinfo/reviews@cluster-1", "--rps", "60", "--seconds", "3",
                 "--trigger-after", "0.8", "--restore-after", "1", "-o", "json", "--state-dir",
                 str(demo.info.state_dir), *extra])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_drill_without_retries_loses_the_ejecting_requests_and_moves(demo: RunningDemo,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    report = _drill(demo, capsys, "--no-retries", "--mode", "fail")
    assert report["requests"] == 180 and report["retries"] is False
    assert report["failed"] >= 1  # without retries, the request that ejects a host fails
    assert report["first_error_ms"] is not None and report["first_error_ms"] >= 0
    assert report["moved_ms"] is not None and report["moved_to"] == REMOTE_REVIEWS
    assert report["by_locality"][LOCAL] > 0 and report["by_locality"][REMOTE_REVIEWS] > 0
    assert sum(report["by_locality"].values()) + report["failed"] == report["requests"]


def test_drill_with_retries_loses_nothing(demo: RunningDemo, capsys: pytest.CaptureFixture[str]) -> None:
    report = _drill(demo, capsys, "--retries", "--mode", "refuse")
    assert report["retries"] is True
    assert report["failed"] == 0 and report["first_error_ms"] is None
    assert report["moved_to"] == REMOTE_REVIEWS
    assert report["by_locality"][REMOTE_REVIEWS] > 0
    # the demo's retry setting is switched back after the drill
    assert json.loads((demo.info.state_dir / "demo.json").read_text())["options"]["retries"] is False
