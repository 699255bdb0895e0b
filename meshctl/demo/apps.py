"""Demo HTTP services (bookinfo-like reviews/ratings/productpage, databases) hosted in one process.

Run as ``python -m meshctl.demo.apps --spec SPEC.json --ready-file READY.json``. Every instance listens on
its own 127.0.0.1 port; a separate control port switches instances between ok / fail / hang / refuse so
failover drills act on real sockets.  `AppControl` is the client for the control port and
`launch_apps` starts the process under a `Supervisor`.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import queue
import selectors
import signal
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

from meshctl.demo.supervisor import ManagedProcess, Supervisor
from meshctl.localhttp import call_json, error_message

KINDS = ("reviews", "ratings", "productpage", "database", "generic")
MODES = ("ok", "fail", "hang", "refuse")
SELECT_KEYS = ("id", "service", "namespace", "version", "cluster", "region", "zone", "kind")
HOST = "127.0.0.1"
DEFAULT_HANG_LIMIT_S = 120.0
DEFAULT_UPSTREAM_TIMEOUT_S = 2.0
IDLE_CONNECTION_TIMEOUT_S = 300.0
MAX_BODY_BYTES = 1 << 20
REVIEW_STARS = {"v1": None, "v2": "black", "v3": "red"}
T = TypeVar("T")


class SpecError(ValueError):
    """The apps spec is malformed."""


class ModeError(ValueError):
    """A mode change request is invalid (unknown mode or select key, bad status)."""


class UnknownInstance(KeyError):
    """No instance has this id."""


# ----- spec ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Upstream:
    """Where an instance sends its upstream call; `host` overrides the Host header."""

    url: str
    host: str | None = None
    timeout_s: float = DEFAULT_UPSTREAM_TIMEOUT_S

    @classmethod
    def from_json(cls, raw: object, default_timeout_s: float) -> Upstream:
        if isinstance(raw, str):
            raw = {"url": raw}
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
            raise SpecError(f"upstream must be a URL or {{'url': ..., 'host': ...}}, got {raw!r}")
        parts = urlsplit(raw["url"])
        if parts.scheme != "http" or not parts.hostname:
            raise SpecError(f"upstream URL must be http://host:port/..., got {raw['url']!r}")
        return cls(url=raw["url"], host=raw.get("host"),
                   timeout_s=float(raw.get("timeout", default_timeout_s)))

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "host": self.host, "timeout": self.timeout_s}


@dataclass(frozen=True)
class InstanceSpec:
    """One demo service instance: identity, locality, port (0 = any free) and behaviour kind."""

    id: str
    service: str
    namespace: str = "default"
    version: str = "v1"
    cluster: str = ""
    region: str = ""
    zone: str = ""
    port: int = 0
    kind: str = "generic"
    upstreams: Mapping[str, Upstream] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: object, default_timeout_s: float) -> InstanceSpec:
        if not isinstance(raw, dict):
            raise SpecError(f"instance must be an object, got {raw!r}")
        for key in ("id", "service"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise SpecError(f"instance {raw.get('id', '?')!r}: {key!r} is required")
        kind = raw.get("kind", "generic")
        if kind not in KINDS:
            raise SpecError(f"instance {raw['id']!r}: kind {kind!r} is not one of {KINDS}")
        port = raw.get("port", 0)
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise SpecError(f"instance {raw['id']!r}: port {port!r} is not 0..65535")
        upstreams = raw.get("upstreams") or {}
        if not isinstance(upstreams, dict):
            raise SpecError(f"instance {raw['id']!r}: upstreams must be an object")
        return cls(
            id=raw["id"], service=raw["service"], namespace=str(raw.get("namespace", "default")),
            version=str(raw.get("version", "v1")), cluster=str(raw.get("cluster", "")),
            region=str(raw.get("region", "")), zone=str(raw.get("zone", "")), port=port, kind=kind,
            upstreams={str(name): Upstream.from_json(up, default_timeout_s)
                       for name, up in upstreams.items()})

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "service": self.service, "namespace": self.namespace,
                "version": self.version, "cluster": self.cluster, "region": self.region,
                "zone": self.zone, "port": self.port, "kind": self.kind,
                "upstreams": {name: up.to_json() for name, up in self.upstreams.items()}}


@dataclass(frozen=True)
class AppsSpec:
    """Everything one apps process hosts."""

    instances: tuple[InstanceSpec, ...]
    control_port: int = 0
    hang_limit_s: float = DEFAULT_HANG_LIMIT_S

    @classmethod
    def from_json(cls, raw: object) -> AppsSpec:
        if not isinstance(raw, dict) or not isinstance(raw.get("instances"), list):
            raise SpecError("spec must be an object with an 'instances' list")
        timeout = float(raw.get("upstream_timeout", DEFAULT_UPSTREAM_TIMEOUT_S))
        instances = tuple(InstanceSpec.from_json(i, timeout) for i in raw["instances"])
        ids = [i.id for i in instances]
        if len(set(ids)) != len(ids):
            raise SpecError(f"instance ids must be unique: {sorted(ids)}")
        ports = [i.port for i in instances if i.port]
        if len(set(ports)) != len(ports):
            raise SpecError(f"instance ports must be unique: {sorted(ports)}")
        return cls(instances=instances, control_port=int(raw.get("control_port", 0)),
                   hang_limit_s=float(raw.get("hang_limit_s", DEFAULT_HANG_LIMIT_S)))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AppsSpec:
        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except json.JSONDecodeError as err:
            raise SpecError(f"{path}: not JSON: {err}") from err

    def to_json(self) -> dict[str, Any]:
        return {"control_port": self.control_port, "hang_limit_s": self.hang_limit_s,
                "instances": [i.to_json() for i in self.instances]}


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
_PROPAGATED_HEADERS = ("x-request-id", "traceparent", "tracestate", "end-user", "user-agent",
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


# ----- HTTP plumbing ---------------------------------------------------------------------------
class DemoServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer driven by the hub's accept loop instead of serve_forever."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port: int, handler: type[BaseHTTPRequestHandler],
                 instance: InstanceState | None = None, hub: AppsHub | None = None) -> None:
        self.instance = instance
        self.hub = hub
        super().__init__((HOST, port), handler)
        self.socket.setblocking(False)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a DNS lookup that can stall without a network.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = HOST, self.server_address[1]

    def handle_error(self, request: object, client_address: object) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (OSError, TimeoutError)):
            return  # peers vanish (refuse mode, client timeouts): not worth a traceback
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = IDLE_CONNECTION_TIMEOUT_S
    server: DemoServer

    def version_string(self) -> str:
        return "meshctl-demo"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        hub = self.server.hub
        if hub is not None and hub.access_log:
            super().log_message(format, *args)

    def send_json(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                self.close_connection = True  # the rest stays unread, so the connection can't be reused
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def handle_any(self, body: bytes) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:  # every method is answered the same way
        try:
            body = self.read_body()
        except ValueError:
            self.close_connection = True
            self.send_json(400, {"error": "malformed Content-Length or chunked body"})
            return
        self.handle_any(body)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET


class InstanceHandler(_JsonHandler):
    """Answers any path for one demo instance according to its current mode."""

    def setup(self) -> None:
        super().setup()
        self.instance = self.server.instance
        assert self.instance is not None
        self.tracked = self.instance.track(self.connection)
        if not self.tracked:  # accepted just as the instance switched to refuse
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.instance.untrack(self.connection)

    def handle_any(self, body: bytes) -> None:
        instance = self.instance
        mode, status, generation = instance.begin_request()
        if mode == "refuse":
            instance.count("dropped")
            self.close_connection = True
            return
        if mode == "hang":
            instance.count("hung")
            instance.hang(generation)
            self.close_connection = True  # released: close without an answer
            return
        if mode == "fail":
            instance.count("failed")
            self.send_json(status, failure_body(instance.spec, status))
            return
        self.send_json(200, self.ok_body())
        instance.count("ok")

    def ok_body(self) -> dict[str, Any]:
        spec = self.instance.spec
        body: dict[str, Any] = {
            **identity(spec), "path": self.path, "method": self.command,
            "host": self.headers.get("Host", ""),
            "headers": {k.lower(): v for k, v in self.headers.items()},
            **kind_body(spec, self.path)}
        if spec.upstreams:
            passed = {k: v for k, v in self.headers.items() if k.lower() in _PROPAGATED_HEADERS}
            results = {name: call_upstream(up, passed) for name, up in spec.upstreams.items()}
            body["upstreams"] = results
            body["upstream_ok"] = all(r["ok"] for r in results.values())
        return body


class ControlHandler(_JsonHandler):
    """The control API: GET /healthz, GET /instances, POST /instances/<id>/mode, POST /modes."""

    def handle_any(self, body: bytes) -> None:
        hub = self.server.hub
        assert hub is not None
        parts = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/") if p]
        try:
            payload = json.loads(body) if body else {}
            if not isinstance(payload, dict):
                raise ModeError("request body must be a JSON object")
            status, answer = self.route(hub, self.command, parts, payload)
        except UnknownInstance as err:
            status, answer = 404, {"error": f"no instance {err.args[0]!r}"}
        except (ModeError, ValueError, TypeError) as err:
            status, answer = 400, {"error": str(err)}
        except OSError as err:
            status, answer = 409, {"error": str(err)}
        self.send_json(status, answer)

    @staticmethod
    def route(hub: AppsHub, method: str, parts: list[str],
              payload: dict[str, Any]) -> tuple[int, object]:
        if method == "GET" and parts == ["healthz"]:
            return 200, {"ok": True, "pid": os.getpid(), "instances": len(hub.instances)}
        if method == "GET" and parts == ["instances"]:
            return 200, {"instances": hub.describe()}
        if method == "GET" and len(parts) == 2 and parts[0] == "instances":
            return 200, hub.instance(parts[1]).describe()
        if method == "POST" and len(parts) == 3 and parts[0] == "instances" and parts[2] == "mode":
            return 200, hub.set_mode(parts[1], payload.get("mode"), payload.get("status", 503))
        if method == "POST" and parts == ["modes"]:
            ids = hub.set_modes(payload.get("select") or {}, payload.get("mode"),
                                payload.get("status", 503))
            return 200, {"ids": ids, "mode": payload.get("mode")}
        return 404, {"error": f"no route {method} /{'/'.join(parts)}"}


# ----- the hub: listeners, accept loop, modes --------------------------------------------------
class AppsHub:
    """Owns every listener; one selector thread accepts, one thread per connection answers."""

    def __init__(self, spec: AppsSpec, access_log: bool = False) -> None:
        self.spec = spec
        self.access_log = access_log
        self.instances = {i.id: InstanceState(i, spec.hang_limit_s) for i in spec.instances}
        self.control: DemoServer | None = None
        self._selector = selectors.DefaultSelector()
        self._wake_recv, self._wake_send = socket.socketpair()
        self._wake_recv.setblocking(False)
        self._wake_send.setblocking(False)
        self._selector.register(self._wake_recv, selectors.EVENT_READ, None)
        self._commands: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._loop_lock = threading.Lock()
        self._loop_running = False
        self._stop_requested = threading.Event()
        self._mode_lock = threading.Lock()

    @property
    def control_port(self) -> int:
        assert self.control is not None
        return self.control.server_address[1]

    def bind(self) -> None:
        """Listen on every instance port and the control port (raises OSError naming the port)."""
        for instance in self.instances.values():
            self._open_listener(instance)
        try:
            self.control = DemoServer(self.spec.control_port, ControlHandler, hub=self)
        except OSError as err:
            raise OSError(err.errno, f"control: cannot listen on {HOST}:{self.spec.control_port}: "
                                     f"{err.strerror}") from err
        self._selector.register(self.control.socket, selectors.EVENT_READ, self.control)

    def ports(self) -> dict[str, int]:
        return {i.spec.id: i.port for i in self.instances.values()}

    def instance(self, instance_id: str) -> InstanceState:
        try:
            return self.instances[instance_id]
        except KeyError:
            raise UnknownInstance(instance_id) from None

    def describe(self) -> list[dict[str, Any]]:
        return [i.describe() for i in self.instances.values()]

    # -- accept loop --
    def serve_until_stopped(self) -> None:
        with self._loop_lock:
            self._loop_running = True
        try:
            while not self._stop_requested.is_set():
                for key, _ in self._selector.select():
                    if key.data is None:
                        self._drain_wake()
                        self._run_commands()
                    else:
                        self._accept(key.data)
        finally:
            with self._loop_lock:
                self._loop_running = False
                self._run_commands()

    def stop(self) -> None:
        """Ask the accept loop to return; safe from signal handlers and other threads."""
        self._stop_requested.set()
        self._wake()

    def close(self) -> None:
        """Close listeners, release hung requests and drop connections (after the loop ended)."""
        for instance in self.instances.values():
            instance.release_all()
            self._close_listener(instance)
            instance.drop_connections()
        if self.control is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(self.control.socket)
            self.control.server_close()
        self._selector.close()
        self._wake_recv.close()
        self._wake_send.close()

    def _accept(self, server: DemoServer) -> None:
        for _ in range(64):  # drain the backlog, bounded so other listeners get a turn
            try:
                conn, address = server.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # listener closed under us (refuse)
            conn.setblocking(True)
            try:
                server.process_request(conn, address)
            except Exception:
                server.handle_error(conn, address)
                server.shutdown_request(conn)

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_send.send(b"\0")

    def _drain_wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while self._wake_recv.recv(4096):
                pass

    def _run_commands(self) -> None:
        while True:
            try:
                command, future = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                future.set_result(command())
            except BaseException as err:  # handed to the waiting caller
                future.set_exception(err)

    def _in_loop(self, command: Callable[[], T]) -> T:
        """Run `command` on the accept-loop thread (which owns the selector) and wait for it."""
        with self._loop_lock:
            if not self._loop_running:
                return command()
            future: Future[T] = Future()
            self._commands.put((command, future))
        self._wake()
        return future.result(timeout=10)

    def _open_listener(self, instance: InstanceState) -> None:
        try:
            server = DemoServer(instance.port, InstanceHandler, instance=instance, hub=self)
        except OSError as err:
            raise OSError(err.errno, f"{instance.spec.id}: cannot listen on {HOST}:{instance.port}: "
                                     f"{err.strerror}") from err
        instance.server = server
        instance.port = server.server_address[1]
        self._selector.register(server.socket, selectors.EVENT_READ, server)

    def _close_listener(self, instance: InstanceState) -> None:
        server, instance.server = instance.server, None
        if server is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(server.socket)
            server.server_close()

    # -- modes --
    def set_mode(self, instance_id: str, mode: object, status: object = 503) -> dict[str, Any]:
        """Switch one instance; returns its description. UnknownInstance if no such id."""
        if mode not in MODES:
            raise ModeError(f"mode must be one of {MODES}, got {mode!r}")
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ModeError(f"status must be an HTTP error code 400..599, got {status!r}")
        instance = self.instance(instance_id)
        with self._mode_lock:
            was_refusing = instance.mode == "refuse"
            if mode == "refuse" and not was_refusing:
                instance.change_mode(mode, status)
                self._in_loop(lambda: self._close_listener(instance))
                instance.drop_connections()
            elif was_refusing and mode != "refuse":
                # Same port again; SO_REUSEADDR lets us bind past TIME_WAIT of the old connections.
                self._in_loop(lambda: self._open_listener(instance))
                instance.change_mode(str(mode), status)
            else:
                instance.change_mode(str(mode), status)
        return instance.describe()

    def set_modes(self, select: Mapping[str, object], mode: object,
                  status: object = 503) -> list[str]:
        """Switch every instance matching all `select` keys (a value may be a list); ids switched."""
        if not isinstance(select, Mapping):
            raise ModeError("select must be an object")
        unknown = set(select) - set(SELECT_KEYS)
        if unknown:
            raise ModeError(f"unknown select keys {sorted(unknown)}; use {SELECT_KEYS}")
        if mode not in MODES:
            raise ModeError(f"mode must be one of {MODES}, got {mode!r}")
        chosen = [i.spec.id for i in self.instances.values() if i.matches(select)]
        for instance_id in chosen:
            self.set_mode(instance_id, mode, status)
        return chosen


# ----- client ----------------------------------------------------------------------------------
class AppControlError(RuntimeError):
    """The control API refused a request."""


class AppControl:
    """Client for an apps process's control port (plain http.client, so no proxy settings apply)."""

    def __init__(self, control_url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(control_url)
        self.host = parts.hostname or HOST
        self.port = parts.port or 80
        self.timeout = timeout

    def _call(self, method: str, path: str, payload: object | None = None) -> Any:
        status, answer = call_json(self.host, self.port, method, path, payload, self.timeout)
        if status != 200:
            raise AppControlError(f"{method} {path}: {status} {error_message(answer)}")
        return answer

    def healthz(self) -> dict[str, Any]:
        return self._call("GET", "/healthz")

    def instances(self) -> list[dict[str, Any]]:
        return self._call("GET", "/instances")["instances"]

    def instance(self, instance_id: str) -> dict[str, Any]:
        return self._call("GET", f"/instances/{quote(instance_id, safe='')}")

    def set_mode(self, instance_id: str, mode: str, status: int = 503) -> dict[str, Any]:
        return self._call("POST", f"/instances/{quote(instance_id, safe='')}/mode",
                          {"mode": mode, "status": status})

    def set_modes(self, select: Mapping[str, object], mode: str, status: int = 503) -> list[str]:
        return self._call("POST", "/modes",
                          {"select": dict(select), "mode": mode, "status": status})["ids"]


# ----- launching under a supervisor ------------------------------------------------------------
@dataclass(frozen=True)
class RunningApps:
    """A started apps process: where its control API and each instance listen."""

    name: str
    process: ManagedProcess
    control_url: str
    ports: dict[str, int]

    def control(self) -> AppControl:
        return AppControl(self.control_url)

    def url(self, instance_id: str, path: str = "/") -> str:
        return f"http://{HOST}:{self.ports[instance_id]}{path}"


def read_ready_file(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def launch_apps(supervisor: Supervisor, spec: AppsSpec, name: str = "apps",
                timeout: float = 10.0, access_log: bool = False) -> RunningApps:
    """Start `python -m meshctl.demo.apps` for `spec` and wait until every port listens.

    Ports are recorded with the supervisor under the instance ids plus "control".
    """
    spec_path = supervisor.state_dir / f"{name}.spec.json"
    ready_path = supervisor.state_dir / f"{name}.ready.json"
    spec_path.write_text(json.dumps(spec.to_json(), indent=2) + "\n")
    with contextlib.suppress(FileNotFoundError):
        ready_path.unlink()  # a stale file would signal readiness too early
    argv = [sys.executable, "-m", "meshctl.demo.apps", "--spec", str(spec_path),
            "--ready-file", str(ready_path)] + (["--access-log"] if access_log else [])
    process = supervisor.start(name, argv, ready=lambda: read_ready_file(ready_path) is not None,
                               timeout=timeout)
    ready = read_ready_file(ready_path) or {}
    ports = {str(k): int(v) for k, v in ready["ports"].items()}
    supervisor.record_ports(name, {"control": int(ready["control_port"]), **ports})
    return RunningApps(name=name, process=process, control_url=ready["control_url"], ports=ports)


# ----- entry point -----------------------------------------------------------------------------
def _write_ready_file(path: Path, hub: AppsHub) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({
        "pid": os.getpid(), "control_port": hub.control_port,
        "control_url": f"http://{HOST}:{hub.control_port}", "ports": hub.ports()}, indent=2))
    os.replace(tmp, path)  # atomic: the parent never reads half a file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meshctl.demo.apps", description=__doc__)
    parser.add_argument("--spec", required=True, help="JSON file listing the instances")
    parser.add_argument("--ready-file", help="written with the bound ports once all listen")
    parser.add_argument("--access-log", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    try:
        spec = AppsSpec.load(args.spec)
    except (OSError, SpecError) as err:
        print(f"meshctl demo apps: bad spec: {err}", file=sys.stderr)
        return 2
    hub = AppsHub(spec, access_log=args.access_log)
    try:
        hub.bind()
    except OSError as err:
        print(f"meshctl demo apps: {err.strerror or err}", file=sys.stderr)
        hub.close()
        return 1
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _signum, _frame: hub.stop())
    ready_path = Path(args.ready_file) if args.ready_file else None
    if ready_path is not None:
        _write_ready_file(ready_path, hub)
    print(f"meshctl demo apps: {len(hub.instances)} instances, control "
          f"http://{HOST}:{hub.control_port}", flush=True)
    try:
        hub.serve_until_stopped()
    finally:
        hub.close()
        if ready_path is not None:
            with contextlib.suppress(FileNotFoundError):
                ready_path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
