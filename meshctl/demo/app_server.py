"""The demo apps process: one listener per instance plus a control port, served from one accept loop (run as
``python -m meshctl.demo.apps``)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import selectors
import signal
import socket
import socketserver
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from .app_behaviour import (
    PROPAGATED_HEADERS,
    InstanceState,
    ModeError,
    UnknownInstance,
    call_upstream,
    failure_body,
    identity,
    kind_body,
)
from .app_spec import HOST, IDLE_CONNECTION_TIMEOUT_S, MAX_BODY_BYTES, MODES, SELECT_KEYS, AppsSpec, SpecError

T = TypeVar("T")


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
            passed = {k: v for k, v in self.headers.items() if k.lower() in PROPAGATED_HEADERS}
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
