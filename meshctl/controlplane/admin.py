"""The replica's admin endpoint: /healthz (alive), /readyz (synced and serving xDS), /metrics (Prometheus)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Readiness = Callable[[], tuple[bool, dict[str, Any]]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    admin: "AdminServer"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # probes every few seconds would flood the log
        pass

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        admin = self.server.admin
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._send(200, b"ok\n", "text/plain; charset=utf-8")
        elif path == "/readyz":
            ready, detail = admin.readiness()
            body = json.dumps({"ready": ready, **detail}, sort_keys=True).encode() + b"\n"
            self._send(200 if ready else 503, body, "application/json")
        elif path == "/metrics":
            self._send(200, admin.render_metrics(), admin.metrics_content_type)
        else:
            self._send(404, b"not found: try /healthz, /readyz or /metrics\n", "text/plain; charset=utf-8")


class AdminServer:
    """Serves the three endpoints on HOST:PORT in its own thread (port 0 picks a free one)."""

    def __init__(self, listen: str, readiness: Readiness, render_metrics: Callable[[], bytes],
                 metrics_content_type: str) -> None:
        host, sep, port = listen.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError(f"--admin-listen must be HOST:PORT, got {listen!r}")
        self.readiness = readiness
        self.render_metrics = render_metrics
        self.metrics_content_type = metrics_content_type
        self._server = _Server((host.strip("[]") or "0.0.0.0", int(port)), _Handler)
        self._server.admin = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="admin-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = self._server.server_address[0]
        return f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{self.port}"

    def start(self) -> "AdminServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
