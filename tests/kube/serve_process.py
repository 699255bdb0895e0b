"""`meshctl xds serve` as a real subprocess (a control-plane replica) for tests: output lines, probes, kill."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from meshctl_process import MeshctlProcess

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str, timeout: float = 2.0, host: str | None = None) -> tuple[int, str]:
    """(status, body) of a GET on 127.0.0.1; error statuses are returned, not raised."""
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with _NO_PROXY.open(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class ServeProcess(MeshctlProcess):
    """One replica: `python -m meshctl.cli.main xds serve ARGS`, stdout collected line by line."""

    line_timeout = 20.0

    def __init__(self, argv: list[str], admin: str | None = None) -> None:
        super().__init__(["xds", "serve", *argv])
        self.admin = admin

    def readyz(self) -> dict:
        assert self.admin is not None
        try:
            code, body = http_get(f"http://{self.admin}/readyz")
        except OSError:
            return {"ready": False}
        return json.loads(body) if code in (200, 503) else {"ready": False}

    def metrics(self) -> dict[str, float]:
        """Prometheus samples: "name{labels}" → value."""
        assert self.admin is not None
        _, body = http_get(f"http://{self.admin}/metrics")
        samples = {}
        for line in body.splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        return samples

    def wait_ready(self, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.readyz()
            if state.get("ready"):
                return state
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError("replica not ready; output so far:\n" + "\n".join(self.lines))

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no Lease released, streams cut."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
