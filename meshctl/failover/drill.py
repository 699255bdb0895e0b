"""Failover drills: bounded load through a client Envoy, a failure triggered and restored, and the timeline.

The load is open-loop: request i is due at i/rps, sent by a small pool of threads on keep-alive connections
to 127.0.0.1 only, and every request is bounded by a client timeout; the total is rps × seconds. Each answer's
JSON names the locality of the app that served it. `analyze` (pure) turns the records into the report:
first error, when ≥95% of responses came from another locality (moved), when they came back (returned),
failed requests and responses per locality.
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MOVED_FRACTION = 0.95
LATE_AFTER_S = 0.05  # a request sent this much after its due time counts as late
MAX_WORKERS = 512
IN_FLIGHT_S = 2.5  # default pool: enough workers for this many seconds of requests waiting on hung upstreams


class DrillError(ValueError):
    """The drill's parameters are unusable."""


@dataclass(frozen=True)
class LoadSpec:
    url: str
    host: str | None = None  # Host header (default: the URL's)
    rps: float = 100.0
    seconds: float = 10.0
    timeout_s: float = 5.0  # per request, client side
    workers: int | None = None  # default: IN_FLIGHT_S seconds of requests in flight, at most MAX_WORKERS

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise DrillError(f"drills send load to loopback only (http://127.0.0.1:PORT/...), got {self.url!r}")
        if not 0 < self.rps <= 2000:
            raise DrillError(f"rps must be in (0, 2000], got {self.rps}")
        if not 0 < self.seconds <= 300:
            raise DrillError(f"seconds must be in (0, 300], got {self.seconds}")
        if not 0 < self.timeout_s <= 60:
            raise DrillError(f"timeout must be in (0, 60], got {self.timeout_s}")

    @property
    def count(self) -> int:
        return max(1, int(round(self.rps * self.seconds)))

    @property
    def pool_size(self) -> int:
        return self.workers or max(4, min(MAX_WORKERS, math.ceil(self.rps * min(IN_FLIGHT_S, self.timeout_s))))


@dataclass
class RequestRecord:
    """One request: times are seconds since the load started (monotonic)."""

    seq: int
    due: float
    sent: float = 0.0
    done: float = 0.0
    status: int | None = None
    locality: str | None = None
    instance: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and self.error is None


def _locality_of(body: bytes) -> tuple[str | None, str | None]:
    try:
        data = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    loc = data.get("locality") or {}
    text = "/".join(str(loc[k]) for k in ("region", "zone") if isinstance(loc, dict) and loc.get(k))
    return text or None, data.get("instance")


class LoadRunner:
    """Runs one LoadSpec; `events` are (offset seconds, callable) run on their own thread at those offsets."""

    def __init__(self, spec: LoadSpec, events: list[tuple[float, Callable[[], Any]]] | None = None) -> None:
        self.spec = spec
        self.events = sorted(events or [], key=lambda e: e[0])
        self.records = [RequestRecord(i, i / spec.rps) for i in range(spec.count)]
        self.event_times: list[tuple[float, float, Any]] = []  # (started, finished, result) per event
        self.event_errors: list[str] = []
        self._next = 0
        self._lock = threading.Lock()
        self._t0 = 0.0
        self._stop = threading.Event()
        parts = urlsplit(spec.url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._headers = {"Host": spec.host or parts.netloc, "Connection": "keep-alive"}

    def now(self) -> float:
        return time.monotonic() - self._t0

    def _claim(self) -> RequestRecord | None:
        with self._lock:
            if self._next >= len(self.records) or self._stop.is_set():
                return None
            record = self.records[self._next]
            self._next += 1
            return record

    def _worker(self) -> None:
        conn: http.client.HTTPConnection | None = None
        try:
            while (record := self._claim()) is not None:
                wait = record.due - self.now()
                if wait > 0 and self._stop.wait(wait):
                    return
                if conn is None:
                    conn = http.client.HTTPConnection(self._host, self._port, timeout=self.spec.timeout_s)
                record.sent = self.now()
                try:
                    conn.request("GET", self._path, headers=self._headers)
                    response = conn.getresponse()
                    body = response.read()
                    record.status = response.status
                    record.locality, record.instance = _locality_of(body)
                    if response.will_close:
                        conn.close()
                        conn = None
                except (OSError, http.client.HTTPException) as err:
                    record.error = "timeout" if isinstance(err, TimeoutError) else type(err).__name__
                    conn.close()
                    conn = None
                record.done = self.now()
        finally:
            if conn is not None:
                conn.close()

    def _run_events(self) -> None:
        for offset, action in self.events:
            wait = offset - self.now()
            if wait > 0 and self._stop.wait(wait):
                return
            started = self.now()
            try:
                result = action()
            except Exception as err:  # reported with the drill, load continues
                self.event_errors.append(f"{type(err).__name__}: {err}")
                result = err
            self.event_times.append((started, self.now(), result))

    def run(self) -> list[RequestRecord]:
        threads = [threading.Thread(target=self._worker, name=f"drill-{i}", daemon=True)
                   for i in range(min(self.spec.pool_size, len(self.records)))]
        events = threading.Thread(target=self._run_events, name="drill-events", daemon=True)
        self._t0 = time.monotonic()
        for t in threads:
            t.start()
        events.start()
        # Bounded: every request is due within `seconds` and limited by the client timeout.
        deadline = time.monotonic() + self.spec.seconds + self.spec.timeout_s + 5
        try:
            for t in threads:
                t.join(max(0.0, deadline - time.monotonic()))
        finally:
            self._stop.set()
            events.join(5)
        return self.records


# ----- analysis (pure) ----------------------------------------------------------------------------
def _window_size(rps: float) -> int:
    return max(10, int(round(rps * 0.1)))


def _first_window(records: list[RequestRecord], start: float, good: Callable[[RequestRecord], bool],
                  size: int) -> RequestRecord | None:
    """The first `good` response (by completion, at or after `start`) beginning a window of `size` responses of
    which at least MOVED_FRACTION are `good`; None if there is none."""
    after = [r for r in records if r.done >= start]
    need = math.ceil(size * MOVED_FRACTION)
    if len(after) < size:
        return None
    flags = [1 if good(r) else 0 for r in after]
    running = sum(flags[:size])
    for i in range(len(after) - size + 1):
        if i:
            running += flags[i + size - 1] - flags[i - 1]
        if flags[i] and running >= need:
            return after[i]
    return None


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def analyze(records: list[RequestRecord], trigger_at: float | None, restore_at: float | None,
            rps: float, bucket_s: float = 1.0) -> dict[str, Any]:
    """The drill report from request records; times in ms relative to the trigger."""
    finished = sorted((r for r in records if r.sent or r.done), key=lambda r: r.done)
    failed = [r for r in finished if not r.ok]
    before = [r for r in finished if trigger_at is None or r.done < trigger_at]
    base_counts = Counter(r.locality for r in before if r.ok and r.locality)
    baseline = base_counts.most_common(1)[0][0] if base_counts else None
    size = _window_size(rps)
    moved = moved_to = returned = None
    first_error = last_error = None
    if trigger_at is not None:
        errors_after = [r for r in failed if r.done >= trigger_at]
        if errors_after:
            first_error, last_error = errors_after[0].done - trigger_at, errors_after[-1].done - trigger_at
        if baseline is not None:
            hit = _first_window(finished, trigger_at, lambda r: r.ok and r.locality != baseline, size)
            if hit is not None:
                moved = hit.done - trigger_at
                window = [r for r in finished if r.done >= hit.done][:size]
                moved_to = Counter(r.locality for r in window if r.ok).most_common(1)[0][0]
                back_from = max(restore_at if restore_at is not None else math.inf, hit.done)
                if restore_at is not None:
                    back = _first_window(finished, back_from, lambda r: r.ok and r.locality == baseline, size)
                    returned = back.done - trigger_at if back is not None else None
    latencies = [(r.done - r.sent) * 1000 for r in finished if r.ok]
    late = sum(1 for r in records if r.sent and r.sent - r.due > LATE_AFTER_S)
    report = {
        "requests": len(records),
        "completed": len(finished),
        "failed": len(failed),
        "failed_after_trigger": sum(1 for r in failed if trigger_at is not None and r.done >= trigger_at),
        "first_error_ms": _ms(first_error),
        "last_error_ms": _ms(last_error),
        "moved_ms": _ms(moved),
        "moved_to": moved_to,
        "returned_ms": _ms(returned),
        "returned_after_restore_ms": _ms(returned - (restore_at - trigger_at)) if (
            returned is not None and restore_at is not None and trigger_at is not None) else None,
        "baseline_locality": baseline,
        "by_locality": dict(sorted(Counter(r.locality or "(unknown)" for r in finished if r.ok).items())),
        "errors": dict(Counter(r.error or f"HTTP {r.status}" for r in failed)),
        "latency_ms": {"p50": _round(_percentile(latencies, 0.5)), "p99": _round(_percentile(latencies, 0.99)),
                       "max": _round(max(latencies) if latencies else None)},
        "late_requests": late,
        "window": size,
        "buckets": _buckets(finished, trigger_at or 0.0, bucket_s),
    }
    return report


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _buckets(finished: list[RequestRecord], origin: float, size: float) -> list[dict[str, Any]]:
    """Responses per completion-time slice (relative to the trigger): per locality, plus failed."""
    slices: dict[int, Counter[str]] = {}
    for r in finished:
        index = math.floor((r.done - origin) / size)
        slices.setdefault(index, Counter())["failed" if not r.ok else (r.locality or "(unknown)")] += 1
    return [{"from_s": round(i * size, 3), **dict(sorted(c.items()))} for i, c in sorted(slices.items())]


# ----- the drill ----------------------------------------------------------------------------------
@dataclass
class DrillResult:
    target: str
    mode: str
    load: LoadSpec
    trigger_at: float | None
    restore_at: float | None
    report: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "mode": self.mode, "url": self.load.url, "host": self.load.host,
                "rps": self.load.rps, "seconds": self.load.seconds,
                "trigger_at_s": _round3(self.trigger_at), "restore_at_s": _round3(self.restore_at),
                **self.report, "notes": self.notes}


def _round3(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def run_drill(controller: Any, target: str, mode: str, load: LoadSpec, trigger_after_s: float | None = None,
              restore_after_s: float | None = None, status: int = 503) -> DrillResult:
    """Send `load`, trigger `mode` on `target` after `trigger_after_s`, restore `restore_after_s` later (or when
    the load ends), and analyze. The target is restored even if the drill fails."""
    trigger_after = trigger_after_s if trigger_after_s is not None else min(2.0, load.seconds * 0.2)
    restore_after = restore_after_s if restore_after_s is not None else max(0.1, load.seconds * 0.3)
    if not 0 <= trigger_after < load.seconds:
        raise DrillError(f"the trigger ({trigger_after:g} s) must fall within the load ({load.seconds:g} s)")
    endpoints = controller.resolve(target)  # resolve before the clock starts: the trigger itself stays fast
    restored = threading.Event()

    def trigger() -> Any:
        return controller.trigger_endpoints(target, endpoints, mode, status)

    def restore() -> Any:
        restored.set()
        return controller.restore_endpoints(target, endpoints)

    events: list[tuple[float, Callable[[], Any]]] = [(trigger_after, trigger)]
    if trigger_after + restore_after < load.seconds:
        events.append((trigger_after + restore_after, restore))
    runner = LoadRunner(load, events)
    try:
        records = runner.run()
    finally:
        if runner.event_times and not restored.is_set():
            restore()
    trigger_at = runner.event_times[0][0] if runner.event_times else None
    restore_at = runner.event_times[1][0] if len(runner.event_times) > 1 else None
    notes = list(runner.event_errors)
    if restore_at is None and trigger_at is not None:
        notes.append("restored after the load ended")
    report = analyze(records, trigger_at, restore_at, load.rps)
    if report["late_requests"]:
        notes.append(f"{report['late_requests']} request(s) left more than {LATE_AFTER_S * 1000:.0f} ms after their "
                     f"due time ({load.pool_size} client threads busy, or the machine overloaded)")
    return DrillResult(target, mode, load, trigger_at, restore_at, report, notes)


def render_text(result: DrillResult) -> str:
    r = result.report
    load = result.load

    def at(ms: float | None) -> str:
        return "—" if ms is None else f"+{ms:.0f} ms"

    lines = [f"drill: {result.mode} on {result.target}, {load.rps:g} req/s for {load.seconds:g} s → {load.url}"
             + (f" (Host {load.host})" if load.host else ""),
             f"  requests {r['requests']}, failed {r['failed']} ({r['failed_after_trigger']} after the trigger), "
             f"latency p50 {r['latency_ms']['p50']} ms / p99 {r['latency_ms']['p99']} ms / max {r['latency_ms']['max']} ms",
             "  timeline (relative to the trigger):",
             f"    {'-' if result.trigger_at is None else f'{result.trigger_at:.2f} s into the load'}: trigger",
             f"    {at(r['first_error_ms'])}: first error" + (f", last error {at(r['last_error_ms'])}"
                                                              if r['last_error_ms'] is not None else ""),
             f"    {at(r['moved_ms'])}: traffic moved" + (f" from {r['baseline_locality']} to {r['moved_to']}"
                                                         if r['moved_to'] else " (never ≥95% elsewhere)"),
             f"    {at(None if result.restore_at is None or result.trigger_at is None else (result.restore_at - result.trigger_at) * 1000)}: restore",
             f"    {at(r['returned_ms'])}: traffic returned to {r['baseline_locality']}"
             + ("" if r["returned_ms"] is not None else " (not within the run)"),
             "  responses by locality: " + (", ".join(f"{k} {v}" for k, v in r["by_locality"].items()) or "none")]
    if r["errors"]:
        lines.append("  errors: " + ", ".join(f"{k} ×{v}" for k, v in r["errors"].items()))
    lines.append("  per second (from the trigger):")
    for b in r["buckets"]:
        counts = ", ".join(f"{k} {v}" for k, v in b.items() if k != "from_s")
        lines.append(f"    {b['from_s']:+6.1f} s  {counts}")
    for note in result.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)
