"""What a demo app instance answers: response bodies per kind, calls to its upstreams, and its mode (ok / fail /
hang / refuse) as thread-safe runtime state."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .app_spec import HOST, REVIEW_STARS, InstanceSpec, Upstream

if TYPE_CHECKING:
    from .app_server import DemoServer


class ModeError(ValueError):
    """A mode change request is invalid (unknown mode or select key, bad status)."""


class UnknownInstance(KeyError):
    """No instance has this id."""


# ----- response bodies (pure) ------------------------------------------------------------------
def identity(spec: InstanceSpec) -> dict[str, Any]:
    return {"instance": spec.id, "service": spec.service, "namespace": spec.namespace,
            "version": spec.version, "cluster": spec.cluster, "kind": spec.kind,
            "locality": {"region": spec.region, "zone": spec.zone}}


def _path_id(path: str) -> int:
    """The last numeric path segment (bookinfo style /reviews/7), else 0."""
    for segment in reversed(urlsplit(path).path.split("/")):
        if segment.isdigit():
            return int(segment)
    return 0


def kind_body(spec: InstanceSpec, path: str) -> dict[str, Any]:
    """What this kind of service answers, like the bookinfo sample."""
    item = _path_id(path)
    if spec.kind == "reviews":
        stars = REVIEW_STARS.get(spec.version)
        reviews = [("Reviewer1", 5, "A comedy that still lands after four centuries."),
                   ("Reviewer2", 4, "Two sets of twins, one long day, much confusion.")]
        return {"id": item, "stars": stars, "reviews": [
            {"reviewer": who, "text": text,
             "rating": {"stars": score, "color": stars} if stars else None}
            for who, score, text in reviews]}
    if spec.kind == "ratings":
        return {"id": item, "ratings": {"Reviewer1": 5, "Reviewer2": 4}}
    if spec.kind == "productpage":
        return {"product": {"id": item, "title": "The Comedy of Errors"}}
    if spec.kind == "database":
        return {"database": {"datacenter": spec.cluster, "rows": [
            {"id": item, "title": "The Comedy of Errors", "year": 1594}]}}
    return {}


def failure_body(spec: InstanceSpec, status: int) -> dict[str, Any]:
    return {**identity(spec), "error": f"injected failure: {spec.id} answers {status}",
            "status": status}


# ----- upstream calls --------------------------------------------------------------------------
PROPAGATED_HEADERS = ("x-request-id", "traceparent", "tracestate", "end-user", "user-agent",
                       "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled")


def call_upstream(upstream: Upstream, headers: Mapping[str, str]) -> dict[str, Any]:
    """GET the upstream once; never raises, the outcome (or a readable error) is in the result."""
    parts = urlsplit(upstream.url)
    host_header = upstream.host or parts.netloc
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    result: dict[str, Any] = {"url": upstream.url, "host": host_header, "ok": False,
                              "status": None, "body": None, "error": None}
    started = time.monotonic()
    conn = http.client.HTTPConnection(parts.hostname or HOST, parts.port or 80,
                                      timeout=upstream.timeout_s)
    try:
        conn.request("GET", path, headers={"Host": host_header, **headers})
        response = conn.getresponse()
        raw = response.read()
        result["status"] = response.status
        result["ok"] = 200 <= response.status < 300
        try:
            result["body"] = json.loads(raw)
        except ValueError:
            result["body"] = raw[:2000].decode(errors="replace")
    except TimeoutError:
        result["error"] = f"timed out: no answer within {upstream.timeout_s:g} s"
    except ConnectionRefusedError:
        result["error"] = "connection refused"
    except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
        result["error"] = "connection closed without a response"
    except (OSError, http.client.HTTPException) as err:
        result["error"] = f"{type(err).__name__}: {err}"
    finally:
        conn.close()
    result["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


# ----- per-instance runtime state --------------------------------------------------------------
class InstanceState:
    """Mode, counters and live connections of one instance; thread-safe."""

    def __init__(self, spec: InstanceSpec, hang_limit_s: float) -> None:
        self.spec = spec
        self.port = spec.port
        self.server: DemoServer | None = None
        self.mode = "ok"
        self.fail_status = 503
        self.hang_limit_s = hang_limit_s
        self._generation = 0  # bumped on every real mode change; releases hung requests
        self._stopping = False
        self._cond = threading.Condition()
        self._connections: set[socket.socket] = set()
        self._hanging = 0
        self._counts = {"total": 0, "ok": 0, "failed": 0, "hung": 0, "dropped": 0}

    def change_mode(self, mode: str, status: int) -> None:
        with self._cond:
            if (mode, status) != (self.mode, self.fail_status):
                self.mode, self.fail_status = mode, status
                self._generation += 1
                self._cond.notify_all()

    def begin_request(self) -> tuple[str, int, int]:
        with self._cond:
            self._counts["total"] += 1
            return self.mode, self.fail_status, self._generation

    def count(self, outcome: str) -> None:
        with self._cond:
            self._counts[outcome] += 1

    def hang(self, generation: int) -> None:
        """Block until the mode changes, the process stops, or the hang limit passes."""
        deadline = time.monotonic() + self.hang_limit_s
        with self._cond:
            self._hanging += 1
            try:
                while self._generation == generation and not self._stopping:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            finally:
                self._hanging -= 1

    def track(self, conn: socket.socket) -> bool:
        with self._cond:
            if self.mode == "refuse" or self._stopping:
                return False
            self._connections.add(conn)
            return True

    def untrack(self, conn: socket.socket) -> None:
        with self._cond:
            self._connections.discard(conn)

    def drop_connections(self) -> None:
        with self._cond:
            connections = list(self._connections)
        for conn in connections:
            # shutdown (not close) wakes the handler thread blocked reading a keep-alive socket.
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def release_all(self) -> None:
        with self._cond:
            self._stopping = True
            self._generation += 1
            self._cond.notify_all()

    def describe(self) -> dict[str, Any]:
        spec = self.spec
        with self._cond:
            return {"id": spec.id, "service": spec.service, "namespace": spec.namespace,
                    "version": spec.version, "cluster": spec.cluster, "region": spec.region,
                    "zone": spec.zone, "kind": spec.kind, "port": self.port,
                    "url": f"http://{HOST}:{self.port}", "mode": self.mode,
                    "fail_status": self.fail_status, "requests": dict(self._counts),
                    "hanging": self._hanging, "connections": len(self._connections)}

    def matches(self, select: Mapping[str, object]) -> bool:
        for key, wanted in select.items():
            value = getattr(self.spec, key)
            if isinstance(wanted, list) and value not in wanted:
                return False
            if not isinstance(wanted, list) and value != wanted:
                return False
        return True
