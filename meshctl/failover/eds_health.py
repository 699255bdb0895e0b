"""EDS health overrides over HTTP: a tiny control API beside an xDS server, and its client.

`eds-unhealthy` failovers mark endpoints UNHEALTHY in the ClusterLoadAssignments the xDS server pushes, so
they act through the control plane (as they would against real clusters), not through the apps. The API
(JSON on 127.0.0.1):

    GET  /healthz                      → {"ok": true, "pid": ..., "xds": "127.0.0.1:PORT"}
    GET  /overrides                    → {"overrides": [{"address", "port", "status"}]}
    POST /overrides {"set": [...], "clear": [...], "clear_all": bool, "wait_s": 10}
                                       → the new overrides, after every connected Envoy ACKed them
    POST /reload {"wait_s": 10}        → re-read the configuration sources and push (after a file edit)
    GET  /clients                      → xDS clients and whether they are in sync
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..localhttp import call_json, error_message

STATUSES = ("UNKNOWN", "HEALTHY", "UNHEALTHY", "DRAINING", "TIMEOUT", "DEGRADED")
DEFAULT_WAIT_S = 10.0


class HealthApiError(RuntimeError):
    """The health API refused a request or could not be reached."""


@dataclass(frozen=True)
class EndpointRef:
    """One upstream endpoint as Envoy sees it."""

    address: str
    port: int

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "port": self.port}

    @classmethod
    def from_json(cls, raw: object) -> "EndpointRef":
        if not isinstance(raw, dict) or not isinstance(raw.get("address"), str) or not isinstance(raw.get("port"), int):
            raise ValueError(f"endpoint must be {{'address': str, 'port': int}}, got {raw!r}")
        return cls(raw["address"], raw["port"])


class OverridableXds(Protocol):
    """What the API needs from an xDS service (meshctl.xds.service.XdsService fits)."""

    @property
    def address(self) -> str: ...

    @property
    def health_overrides(self) -> dict[tuple[str, int], Any]: ...

    def set_health_overrides(self, overrides: Any) -> Any: ...

    def wait_synced(self, timeout: float = 10.0, **kwargs: Any) -> list[Any]: ...

    def refresh(self) -> Any: ...

    def status(self) -> list[Any]: ...


# ----- server ----------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: "_Server"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by design
        return

    def _send(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            payload = json.loads(raw) if raw else {}
            if not isinstance(payload, dict):
                raise ValueError("request body must be a JSON object")
            status, answer = self.server.api.route(self.command, urlsplit(self.path).path, payload)
        except (ValueError, TypeError, KeyError) as err:
            status, answer = 400, {"error": str(err)}
        except TimeoutError as err:
            status, answer = 504, {"error": f"Envoys did not ACK in time: {err}"}
        except Exception as err:  # report, keep serving
            status, answer = 500, {"error": f"{type(err).__name__}: {err}"}
        self._send(status, answer)

    do_GET = do_POST = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: "HealthApi"

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a DNS lookup that can stall without a network.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]


class HealthApi:
    """Serves the EDS health-override API for one xDS service on 127.0.0.1 (its own thread)."""

    def __init__(self, service: OverridableXds, port: int = 0, reload: Callable[[], None] | None = None) -> None:
        self.service = service
        self.reload_sources = reload
        self._server = _Server(("127.0.0.1", port), _Handler)
        self._server.api = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="eds-health-api", daemon=True)
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "HealthApi":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- routes --
    def route(self, method: str, path: str, payload: dict[str, Any]) -> tuple[int, object]:
        if method == "GET" and path == "/healthz":
            return 200, {"ok": True, "pid": os.getpid(), "xds": self.service.address}
        if method == "GET" and path == "/overrides":
            return 200, {"overrides": self.overrides()}
        if method == "POST" and path == "/overrides":
            return 200, self.change(payload)
        if method == "POST" and path == "/reload":
            return 200, self.reload(float(payload.get("wait_s", DEFAULT_WAIT_S)))
        if method == "GET" and path == "/clients":
            return 200, {"clients": [_client_json(c) for c in self.service.status()]}
        return 404, {"error": f"no route {method} {path}"}

    def overrides(self) -> list[dict[str, Any]]:
        return [{"address": a, "port": p, "status": _status_name(s)}
                for (a, p), s in sorted(self.service.health_overrides.items())]

    def change(self, payload: dict[str, Any]) -> dict[str, Any]:
        from envoy_data_plane.envoy.config.core.v3 import HealthStatus

        wanted = [(EndpointRef.from_json(e), str(e.get("status", "UNHEALTHY")).upper()) for e in payload.get("set", [])]
        for _, status in wanted:
            if status not in STATUSES:
                raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        cleared = [EndpointRef.from_json(e) for e in payload.get("clear", [])]
        wait_s = float(payload.get("wait_s", DEFAULT_WAIT_S))
        with self._lock:  # read-modify-write of the whole override map
            current = {} if payload.get("clear_all") else dict(self.service.health_overrides)
            for ref in cleared:
                current.pop((ref.address, ref.port), None)
            for ref, status in wanted:
                current[(ref.address, ref.port)] = HealthStatus[status]
            self.service.set_health_overrides(current).result(wait_s)
        clients = self.service.wait_synced(wait_s, count=0) if wait_s > 0 else self.service.status()
        return {"overrides": self.overrides(), "clients": len(clients)}

    def reload(self, wait_s: float) -> dict[str, Any]:
        if self.reload_sources is None:
            raise ValueError("this xDS server has no reloadable sources")
        with self._lock:
            self.reload_sources()
            self.service.refresh().result(wait_s)
        clients = self.service.wait_synced(wait_s, count=0) if wait_s > 0 else self.service.status()
        return {"clients": len(clients)}


def _status_name(status: Any) -> str:
    name = getattr(status, "name", None)
    return str(name) if name else STATUSES[int(status)]


def _client_json(client: Any) -> dict[str, Any]:
    return {"node_id": client.node_id, "cluster": client.cluster, "locality": "/".join(p for p in client.locality if p),
            "synced": bool(client.synced)}


# ----- client ----------------------------------------------------------------------------------
class HealthClient:
    """Client of a HealthApi (plain http.client: loopback only, no proxy settings apply)."""

    def __init__(self, url: str, timeout: float = 15.0) -> None:
        parts = urlsplit(url)
        self.url = url
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout

    def _call(self, method: str, path: str, payload: object | None = None) -> Any:
        try:
            status, answer = call_json(self.host, self.port, method, path, payload, self.timeout)
        except OSError as err:
            raise HealthApiError(f"xDS health API {self.url} unreachable: {err}") from err
        if status != 200:
            raise HealthApiError(f"{method} {path}: {status} {error_message(answer)}")
        return answer

    def healthz(self) -> dict[str, Any]:
        return self._call("GET", "/healthz")

    def overrides(self) -> list[dict[str, Any]]:
        return self._call("GET", "/overrides")["overrides"]

    def mark(self, endpoints: Iterable[EndpointRef], status: str = "UNHEALTHY",
             wait_s: float = DEFAULT_WAIT_S) -> list[dict[str, Any]]:
        payload = {"set": [{**e.to_json(), "status": status} for e in endpoints], "wait_s": wait_s}
        return self._call("POST", "/overrides", payload)["overrides"]

    def clear(self, endpoints: Iterable[EndpointRef] | None = None, wait_s: float = DEFAULT_WAIT_S) -> list[dict[str, Any]]:
        """Remove overrides of the given endpoints (all overrides when None)."""
        payload: dict[str, Any] = {"wait_s": wait_s}
        if endpoints is None:
            payload["clear_all"] = True
        else:
            payload["clear"] = [e.to_json() for e in endpoints]
        return self._call("POST", "/overrides", payload)["overrides"]

    def reload(self, wait_s: float = DEFAULT_WAIT_S) -> dict[str, Any]:
        return self._call("POST", "/reload", {"wait_s": wait_s})

    def clients(self) -> list[dict[str, Any]]:
        return self._call("GET", "/clients")["clients"]
