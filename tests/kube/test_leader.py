"""Leader election on a Lease in the fake API server: one leader, takeover after a crash, release, loss."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from waiting import wait_until

from meshctl.controlplane.leader import LeaderElector, LeaseTiming
from meshctl.sources.kube_client import KubeClient

from .fakeapi import FakeApiServer

# Leases hold whole seconds (leaseDurationSeconds), so the shortest honest duration is 1 s.
TIMING = LeaseTiming(lease_duration=1.0, renew_deadline=0.6, retry_period=0.1)


def _elector(kubeconfig_path: Path, identity: str, closing, events: list[str] | None = None) -> LeaderElector:
    client = closing(KubeClient("east", str(kubeconfig_path)))
    log = events if events is not None else []
    elector = LeaderElector(client, "gloo-mesh", identity, timing=TIMING,
                            on_started_leading=lambda: log.append(f"{identity}+"),
                            on_stopped_leading=lambda: log.append(f"{identity}-"))
    return elector


def _lease(east: FakeApiServer) -> dict:
    lease = east.get("coordination.k8s.io/v1", "Lease", "gloo-mesh", "meshctl-xds-leader")
    assert lease is not None
    return lease


def test_exactly_one_of_two_leads_and_the_lease_names_it(kubeconfig_path: Path, east: FakeApiServer,
                                                          closing) -> None:
    a = _elector(kubeconfig_path, "replica-a", closing).start()
    b = _elector(kubeconfig_path, "replica-b", closing).start()
    try:
        leader = wait_until(lambda: [e for e in (a, b) if e.is_leader], timeout=5)
        assert len(leader) == 1
        for _ in range(10):  # stays one across several renewals
            time.sleep(TIMING.retry_period)
            assert [e.is_leader for e in (a, b)].count(True) == 1
        assert _lease(east)["spec"]["holderIdentity"] == leader[0].identity
        assert "meshctl" in leader[0].name
    finally:
        a.stop()
        b.stop()


def test_a_crashed_leader_is_replaced_within_one_lease_duration(kubeconfig_path: Path, east: FakeApiServer,
                                                                 closing) -> None:
    events: list[str] = []
    a = _elector(kubeconfig_path, "replica-a", closing, events).start()
    wait_until(lambda: a.is_leader, timeout=5)
    b = _elector(kubeconfig_path, "replica-b", closing, events).start()
    try:
        time.sleep(3 * TIMING.retry_period)
        assert not b.is_leader
        a.stop(release=False)  # a crash: the Lease is left to expire
        last_renewal = a._renewed_at
        wait_until(lambda: b.is_leader, timeout=5)
        # one lease duration after a's last renewal, plus b's retry period (with jitter) and slack for a busy
        # machine: far less than two durations
        assert time.monotonic() - last_renewal < 2 * TIMING.lease_duration
        lease = _lease(east)
        assert lease["spec"]["holderIdentity"] == "replica-b" and lease["spec"]["leaseTransitions"] == 1
        assert events == ["replica-a+", "replica-a-", "replica-b+"]
    finally:
        b.stop()


def test_release_on_shutdown_hands_over_at_once(kubeconfig_path: Path, east: FakeApiServer, closing) -> None:
    a = _elector(kubeconfig_path, "replica-a", closing).start()
    wait_until(lambda: a.is_leader, timeout=5)
    b = _elector(kubeconfig_path, "replica-b", closing).start()
    try:
        a.stop(release=True)
        assert _lease(east)["spec"]["holderIdentity"] == ""
        wait_until(lambda: b.is_leader, timeout=TIMING.lease_duration)  # no need to wait for expiry
    finally:
        b.stop()


def test_a_leader_that_cannot_renew_stops_leading_before_anyone_may_take_over(
        kubeconfig_path: Path, east: FakeApiServer, closing) -> None:
    events: list[str] = []
    a = _elector(kubeconfig_path, "replica-a", closing, events).start()
    try:
        wait_until(lambda: a.is_leader, timeout=5)
        east.stop()
        cut = time.monotonic()
        wait_until(lambda: not a.is_leader, timeout=5)
        # it steps down by the renew deadline, which is shorter than the lease others wait out
        assert time.monotonic() - cut < TIMING.lease_duration
        assert a.last_error
        east.start()
        wait_until(lambda: a.is_leader, timeout=5)
        assert events[:2] == ["replica-a+", "replica-a-"]
    finally:
        a.stop()


def test_a_lease_taken_by_someone_else_ends_leadership_at_once(kubeconfig_path: Path, east: FakeApiServer,
                                                                closing) -> None:
    a = _elector(kubeconfig_path, "replica-a", closing).start()
    try:
        wait_until(lambda: a.is_leader, timeout=5)
        a._stop.set()  # freeze its loop, then let an intruder write the Lease
        a._thread.join(2) if a._thread else None
        lease = _lease(east)
        lease["spec"]["holderIdentity"] = "intruder"
        east.update(lease)
        assert not a.try_acquire_or_renew()
        assert not a.is_leader and a.leader == "intruder"
    finally:
        a.stop()


def test_timing_must_be_ordered() -> None:
    with pytest.raises(ValueError):
        LeaseTiming(lease_duration=5, renew_deadline=6, retry_period=1)


def test_the_renew_deadline_counts_from_before_the_server_stored_the_renewal(
        kubeconfig_path: Path, east: FakeApiServer, closing) -> None:
    # Others wait out the lease from when they see the stored renewal. A leader that counted its deadline from
    # the (late) answer would lead past the lease others wait out by as long as the answer took.
    stored: list[float] = []

    def slow_lease_writes(_op: str, obj: dict) -> None:
        if obj["kind"] == "Lease":
            time.sleep(0.05)
            stored.append(time.monotonic())
        return None

    east.admission = slow_lease_writes
    a = _elector(kubeconfig_path, "replica-a", closing)
    assert a.try_acquire_or_renew() and a.try_acquire_or_renew()
    assert len(stored) == 2
    assert a._renewed_at <= stored[-1] - 0.05
