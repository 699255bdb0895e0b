"""Starting the demo apps process under a Supervisor and driving it through its control port."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from meshctl.demo.supervisor import ManagedProcess, Supervisor
from meshctl.localhttp import call_json, error_message

from .app_spec import HOST, AppsSpec


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
