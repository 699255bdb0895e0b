"""Drill analysis on constructed request records: first error, moved, returned, per-locality counts."""

from __future__ import annotations

import pytest

from meshctl.failover.drill import DrillError, LoadSpec, RequestRecord, analyze

A, B = "us-east-1/us-east-1a", "us-east-2/us-east-2b"


def records(spec: list[tuple[float, str | None]]) -> list[RequestRecord]:
    """(completion time, locality or None for a failure) → records sent 1 ms before completion."""
    out = []
    for i, (done, loc) in enumerate(spec):
        r = RequestRecord(i, due=done - 0.001, sent=done - 0.001, done=done)
        if loc is None:
            r.status, r.error = 503, None
        else:
            r.status, r.locality = 200, loc
        out.append(r)
    return out


def timeline(before: int, failures: int, remote: int, back: int) -> list[tuple[float, str | None]]:
    """`before` local answers, trigger at t=1.0, `failures`, `remote` answers, restore at 3.0, then `back` local."""
    t = [(0.5 + i * 0.01, A) for i in range(before)]
    t += [(1.001 + i * 0.001, None) for i in range(failures)]
    t += [(1.1 + i * 0.01, B) for i in range(remote)]
    t += [(3.5 + i * 0.01, A) for i in range(back)]
    return t


def test_moved_returned_and_counts() -> None:
    report = analyze(records(timeline(30, 2, 40, 30)), trigger_at=1.0, restore_at=3.0, rps=100)
    assert report["requests"] == 102 and report["failed"] == 2
    assert report["baseline_locality"] == A
    assert report["first_error_ms"] == pytest.approx(1.0, abs=0.01)
    assert report["moved_ms"] == pytest.approx(100.0, abs=0.01) and report["moved_to"] == B
    assert report["returned_ms"] == pytest.approx(2500.0, abs=0.01)
    assert report["returned_after_restore_ms"] == pytest.approx(500.0, abs=0.01)
    assert report["by_locality"] == {A: 60, B: 40}
    assert report["errors"] == {"HTTP 503": 2}


def test_no_move_when_less_than_95_percent_leave() -> None:
    mixed = [(0.5 + i * 0.01, A) for i in range(30)]
    mixed += [(1.1 + i * 0.01, B if i % 3 == 0 else A) for i in range(60)]  # a third moves: partial failover
    report = analyze(records(mixed), trigger_at=1.0, restore_at=2.0, rps=100)
    assert report["moved_ms"] is None and report["returned_ms"] is None and report["failed"] == 0


def test_a_window_must_start_with_an_answer_from_elsewhere() -> None:
    # 19 of 20 elsewhere would pass the 95% bar, but the move starts at the first remote answer, not before it.
    t = [(0.5 + i * 0.01, A) for i in range(20)] + [(1.05, A)] + [(1.2 + i * 0.01, B) for i in range(30)]
    report = analyze(records(t), trigger_at=1.0, restore_at=None, rps=100)
    assert report["moved_ms"] == pytest.approx(200.0, abs=0.01)
    assert report["returned_ms"] is None


def test_unfinished_requests_are_not_counted_as_completed() -> None:
    recs = records([(0.5, A), (0.6, A)]) + [RequestRecord(2, due=0.7)]
    report = analyze(recs, trigger_at=None, restore_at=None, rps=10)
    assert report["requests"] == 3 and report["completed"] == 2 and report["failed"] == 0


@pytest.mark.parametrize("kwargs", [
    {"url": "http://example.com/"}, {"url": "https://127.0.0.1:1/"}, {"url": "http://127.0.0.1:1/", "rps": 0},
    {"url": "http://127.0.0.1:1/", "seconds": 1000}, {"url": "http://10.0.0.1:80/"},
])
def test_load_is_bounded_and_loopback_only(kwargs: dict[str, object]) -> None:
    with pytest.raises(DrillError):
        LoadSpec(**kwargs)  # type: ignore[arg-type]


def test_load_size() -> None:
    spec = LoadSpec("http://127.0.0.1:1/", rps=200, seconds=10)
    assert spec.count == 2000 and 4 <= spec.pool_size <= 512
