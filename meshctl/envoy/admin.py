"""Small client for Envoy's admin API (clusters, stats, config_dump, ready, server_info) over urllib."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

# Admin listeners are on loopback: never route through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class AdminClient:
    """Talks to one Envoy's admin listener, e.g. AdminClient("http://127.0.0.1:9901")."""

    def __init__(self, base_url: str, timeout: float = 2.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, path: str, method: str = "GET") -> tuple[int, str]:
        """(HTTP status, body) for any admin path; non-2xx answers are returned, not raised."""
        request = urllib.request.Request(f"{self.base_url}{path}", method=method)
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                return response.status, response.read().decode("utf-8", errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", errors="replace")

    def get(self, path: str) -> str:
        status, body = self.request(path)
        if status >= 300:
            raise RuntimeError(f"GET {path} -> {status}: {body.strip()[:200]}")
        return body

    def post(self, path: str) -> str:
        status, body = self.request(path, method="POST")
        if status >= 300:
            raise RuntimeError(f"POST {path} -> {status}: {body.strip()[:200]}")
        return body

    def ready(self) -> tuple[int, str]:
        """(status, state) from /ready: (200, "LIVE") once initialized, (503, "PRE_INITIALIZING"/...) before."""
        status, body = self.request("/ready")
        return status, body.strip()

    def is_live(self) -> bool:
        try:
            return self.ready() == (200, "LIVE")
        except OSError:
            return False

    def server_info(self) -> dict[str, Any]:
        return json.loads(self.get("/server_info"))

    def clusters_json(self) -> dict[str, Any]:
        return json.loads(self.get("/clusters?format=json"))

    def config_dump(self, resource: str | None = None) -> dict[str, Any]:
        return json.loads(self.get(f"/config_dump?resource={resource}" if resource else "/config_dump"))

    def stats(self, filter_regex: str | None = None) -> dict[str, int]:
        """Counters and gauges as name → value (histograms are skipped)."""
        path = "/stats" + (f"?filter={urllib.request.quote(filter_regex)}" if filter_regex else "")
        values: dict[str, int] = {}
        for line in self.get(path).splitlines():
            name, sep, value = line.rpartition(": ")
            if sep and value.lstrip("-").isdigit():
                values[name] = int(value)
        return values
