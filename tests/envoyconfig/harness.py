"""Real parts for Envoy-config sandbox tests: echo upstreams (one per cluster), an Envoy started from a static
bootstrap written as a dict, and a keep-alive HTTP client that sends a raw path and Host."""

from __future__ import annotations

import http.client
import http.server
import json
import threading
from pathlib import Path
from typing import Any, Iterable, Mapping

from meshctl.envoy.ports import free_port
from meshctl.envoy.process import EnvoyProcess

HCM_TYPE = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
ROUTER = {"name": "envoy.filters.http.router",
          "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}


class EchoUpstream:
    """HTTP/1.1 on 127.0.0.1 answering 200 with JSON {cluster, path, host} of the request it received."""

    def __init__(self, name: str) -> None:
        self.name = name
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                raw_path = self.requestline.split(" ")[1]  # self.path has leading '//' collapsed by http.server
                added = self.headers.get_all("x-added")
                body = json.dumps({"cluster": upstream.name, "path": raw_path, "host": self.headers.get("host", ""),
                                   "x_added": ",".join(added) if added else None}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name=f"echo-{name}")
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def static_cluster(name: str, port: int) -> dict[str, Any]:
    return {"name": name, "type": "STATIC", "connect_timeout": "1s",
            "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
                {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]}}


def bootstrap(listener_port: int, admin_port: int, route_config: dict[str, Any], clusters: Mapping[str, int],
              hcm_options: Mapping[str, Any] | None = None, rds_path: Path | None = None) -> dict[str, Any]:
    """A static bootstrap: one HTTP listener whose routes are inline, or read by RDS from a file (`rds_path`)."""
    hcm: dict[str, Any] = {"@type": HCM_TYPE, "stat_prefix": "diff", "http_filters": [ROUTER],
                           **(hcm_options or {})}
    if rds_path is not None:
        rds_path.write_text(json.dumps({"version_info": "1", "resources": [
            {"@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration", **route_config}]}))
        hcm["rds"] = {"route_config_name": route_config["name"],
                      "config_source": {"path_config_source": {"path": str(rds_path)},
                                        "resource_api_version": "V3"}}
    else:
        hcm["route_config"] = route_config
    return {
        "node": {"id": "envoyconfig-diff", "cluster": "envoyconfig"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
        "static_resources": {
            "listeners": [{"name": "diff", "address": {"socket_address": {"address": "127.0.0.1",
                                                                          "port_value": listener_port}},
                           "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                                           "typed_config": hcm}]}]}],
            "clusters": [static_cluster(n, p) for n, p in clusters.items()],
        },
    }


def start_envoy(config: dict[str, Any], admin_port: int, node: str = "envoyconfig") -> EnvoyProcess:
    """An Envoy from a bootstrap dict (passed as --config-yaml over an empty binary bootstrap)."""
    process = EnvoyProcess(node, bootstrap=b"", admin_port=admin_port, extra_args=["--config-yaml",
                                                                                   json.dumps(config)])
    process.start()
    try:
        process.wait_ready(20)
    except Exception:
        tail = process.stderr_tail()
        process.stop()
        raise AssertionError(f"envoy did not start:\n{tail}") from None
    return process


class RawClient:
    """Keep-alive HTTP/1.1 client to one port; the path is sent exactly as given."""

    def __init__(self, port: int, timeout: float = 5.0) -> None:
        self.port, self.timeout = port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def send(self, method: str, host: str, path: str, headers: Iterable[tuple[str, str]] = ()
             ) -> tuple[int, str, dict[str, str]]:
        for attempt in range(3):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self.conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                self.conn.putheader("Host", host)
                for k, v in headers:
                    self.conn.putheader(k, v)
                if method in ("POST", "PUT", "PATCH"):
                    self.conn.putheader("content-length", "0")
                self.conn.endheaders()
                response = self.conn.getresponse()
                body = response.read().decode("utf-8", "replace")
                answer = response.status, body, {k.lower(): v for k, v in response.getheaders()}
                if response.will_close:
                    self.close()
                return answer
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


__all__ = ["EchoUpstream", "RawClient", "bootstrap", "free_port", "start_envoy"]
