"""Leader election on a coordination.k8s.io/v1 Lease, client-go style: acquire, renew, lose, release on shutdown.

Why not `kubernetes.leaderelection`: it blocks its caller forever, cannot release the Lease on shutdown, and
has no way to ask "am I leader right now" that accounts for a renewal that has not happened in time. This is
the same algorithm in one small class: expiry is judged by the *local* clock from when this replica last saw
the record change (never by comparing another machine's timestamps), and a leader that cannot renew within
`renew_deadline` stops being leader at once, before any other replica may take the Lease (`lease_duration`).
"""

from __future__ import annotations

import datetime
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..sources.kube_client import KubeClient, KubeError, KubeUnreachable

log = logging.getLogger(__name__)

LEASE_API = "/apis/coordination.k8s.io/v1"
DEFAULT_LEASE_NAME = "meshctl-xds-leader"


def micro_time(at: float | None = None) -> str:
    """A Kubernetes MicroTime (RFC 3339 with microseconds, UTC)."""
    moment = datetime.datetime.fromtimestamp(time.time() if at is None else at, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class LeaseTiming:
    """client-go's defaults: the Lease is held 15 s, a leader gives up after 10 s without renewal, tries every 2 s."""

    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_period < self.renew_deadline < self.lease_duration:
            raise ValueError("lease timing must satisfy 0 < retry period < renew deadline < lease duration")


class LeaderElector:
    """Campaigns for one Lease in a background thread; `is_leader` is safe to call from any thread."""

    def __init__(self, client: KubeClient, namespace: str, identity: str, *, name: str = DEFAULT_LEASE_NAME,
                 timing: LeaseTiming = LeaseTiming(),
                 on_started_leading: Callable[[], None] | None = None,
                 on_stopped_leading: Callable[[], None] | None = None,
                 on_new_leader: Callable[[str], None] | None = None) -> None:
        if not identity:
            raise ValueError("a replica needs an identity to hold a Lease")
        self.client = client
        self.namespace = namespace
        self.identity = identity
        self.name = name
        self.timing = timing
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.on_new_leader = on_new_leader
        self.leader: str = ""  # last holder seen (may be us)
        self.transitions = 0  # times this replica became leader
        self.last_error = ""
        self._lock = threading.Lock()
        self._leading = False
        self._renewed_at = 0.0  # monotonic time our last successful acquire/renew was begun
        self._observed: tuple[str, str, str] | None = None  # (holder, renewTime, resourceVersion) last seen
        self._observed_at = 0.0  # monotonic time it was first seen
        self._observed_duration = timing.lease_duration
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what others ask ------------------------------------------------------------------------------
    @property
    def is_leader(self) -> bool:
        """True only while the Lease is ours and was renewed within the renew deadline."""
        with self._lock:
            return self._leading and time.monotonic() - self._renewed_at < self.timing.renew_deadline

    @property
    def path(self) -> str:
        return f"{LEASE_API}/namespaces/{self.namespace}/leases/{self.name}"

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> "LeaderElector":
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=f"lease:{self.name}", daemon=True)
            self._thread.start()
        return self

    def stop(self, release: bool = True) -> None:
        """Stop campaigning; a leader hands the Lease back (others need not wait for it to expire)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timing.retry_period + 10)
            self._thread = None
        was_leading = self._set_leading(False)
        if release and was_leading:
            self._release()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.try_acquire_or_renew()
            # jitter keeps replicas from retrying in lockstep; a leader renews at the plain period
            wait = self.timing.retry_period * (1.0 if self.is_leader else random.uniform(1.0, 1.2))
            self._stop.wait(wait)

    # -- one round ------------------------------------------------------------------------------------
    def try_acquire_or_renew(self) -> bool:
        """One attempt; returns whether we hold the Lease afterwards."""
        # The renew deadline counts from before the request: the server stores the renewal (and others start
        # waiting out the lease) after this instant, never before, however late its answer reaches us.
        attempted = time.monotonic()
        try:
            held = self._attempt()
            self.last_error = ""
        except (KubeError, KubeUnreachable) as exc:
            self.last_error = str(exc)
            log.warning("lease %s/%s: %s", self.namespace, self.name, exc)
            held = False
            with self._lock:
                expired = time.monotonic() - self._renewed_at >= self.timing.renew_deadline
            if self._leading and not expired:
                return True  # a failed renewal is retried until the renew deadline
        if held:
            with self._lock:
                self._renewed_at = attempted
            if not self._set_leading(True):
                self.transitions += 1
                log.info("lease %s/%s: %s became leader", self.namespace, self.name, self.identity)
                if self.on_started_leading:
                    self.on_started_leading()
        elif self._set_leading(False):
            log.info("lease %s/%s: %s lost leadership", self.namespace, self.name, self.identity)
        return held

    def _attempt(self) -> bool:
        now = time.time()
        try:
            lease = self.client.request("GET", self.path)
        except KubeError as exc:
            if exc.code != 404:
                raise
            return self._create(now)
        spec = lease.get("spec") or {}
        holder = str(spec.get("holderIdentity") or "")
        record = (holder, str(spec.get("renewTime") or ""), str((lease.get("metadata") or {}).get("resourceVersion")))
        if record != self._observed:
            self._observed, self._observed_at = record, time.monotonic()
            self._observed_duration = float(spec.get("leaseDurationSeconds") or self.timing.lease_duration)
            self._saw_leader(holder)
        expired = time.monotonic() - self._observed_at >= self._observed_duration
        if holder and holder != self.identity and not expired:
            return False
        new_spec = dict(spec)
        if holder != self.identity:
            new_spec["acquireTime"] = micro_time(now)
            new_spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        new_spec.update(holderIdentity=self.identity, renewTime=micro_time(now),
                        leaseDurationSeconds=math.ceil(self.timing.lease_duration))
        body = {**lease, "spec": new_spec}
        try:
            updated = self.client.request("PUT", self.path, body=body, content_type="application/json")
        except KubeError as exc:
            if exc.code == 409:  # someone else wrote first; look again next round
                return False
            raise
        self._note_own(updated)
        return True

    def _create(self, now: float) -> bool:
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": {"holderIdentity": self.identity, "leaseDurationSeconds": math.ceil(self.timing.lease_duration),
                         "acquireTime": micro_time(now), "renewTime": micro_time(now), "leaseTransitions": 0}}
        try:
            created = self.client.request("POST", f"{LEASE_API}/namespaces/{self.namespace}/leases", body=body,
                                          content_type="application/json")
        except KubeError as exc:
            if exc.code == 409:  # created by another replica meanwhile
                return False
            raise
        self._note_own(created)
        return True

    def _note_own(self, lease: dict) -> None:
        spec = lease.get("spec") or {}
        self._observed = (self.identity, str(spec.get("renewTime") or ""),
                          str((lease.get("metadata") or {}).get("resourceVersion")))
        self._observed_at = time.monotonic()
        self._saw_leader(self.identity)

    def _saw_leader(self, holder: str) -> None:
        if holder != self.leader:
            self.leader = holder
            if self.on_new_leader and holder:
                self.on_new_leader(holder)

    def _set_leading(self, leading: bool) -> bool:
        """Set the flag; returns the previous value. Losing calls on_stopped_leading."""
        with self._lock:
            previous, self._leading = self._leading, leading
        if previous and not leading and self.on_stopped_leading:
            self.on_stopped_leading()
        return previous

    def _release(self) -> None:
        """Hand the Lease back as client-go does: no holder, a one-second duration."""
        try:
            lease = self.client.request("GET", self.path)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                return
            now = micro_time()
            lease["spec"] = {**spec, "holderIdentity": "", "leaseDurationSeconds": 1, "renewTime": now,
                             "acquireTime": now}
            self.client.request("PUT", self.path, body=lease, content_type="application/json")
            log.info("lease %s/%s: released by %s", self.namespace, self.name, self.identity)
        except (KubeError, KubeUnreachable) as exc:
            log.warning("lease %s/%s: could not release: %s", self.namespace, self.name, exc)
