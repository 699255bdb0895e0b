"""Real Envoy proxies of the demo, started under the demo Supervisor (pid files), connected to the demo xDS server.

Envoy's admin listener binds port 0 and reports its address through ``--admin-address-path``, so the admin
port is never guessed. The data-plane listener port comes from xDS (node metadata ``listener_port``), chosen
free just before start.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..envoy.admin import AdminClient
from ..envoy.bootstrap import make_bootstrap
from ..envoy.process import envoy_binary
from ..xds.translate import LISTENER_PORT_KEY
from .supervisor import StartFailed, Supervisor

HOST = "127.0.0.1"


@dataclass(frozen=True)
class EnvoySpec:
    """One demo Envoy: its process name, xDS node identity and where its listener goes."""

    name: str  # supervisor process name, e.g. "envoy-gateway"
    role: str  # "gateway" or "sidecar"
    node_id: str
    node_cluster: str  # meshctl's role syntax: "gateway:NS/NAME" or "sidecar:NS/NAME@CLUSTER"
    locality: tuple[str, str, str]
    listener_port: int


@dataclass(frozen=True)
class RunningEnvoy:
    """A started demo Envoy."""

    spec: EnvoySpec
    pid: int
    admin_port: int

    @property
    def admin_url(self) -> str:
        return f"http://{HOST}:{self.admin_port}"

    @property
    def listener_url(self) -> str:
        return f"http://{HOST}:{self.spec.listener_port}"

    def to_json(self) -> dict[str, Any]:
        s = self.spec
        return {"name": s.name, "role": s.role, "node_id": s.node_id, "node_cluster": s.node_cluster,
                "locality": "/".join(p for p in s.locality if p), "listener_port": s.listener_port,
                "admin_port": self.admin_port, "admin_url": self.admin_url, "listener_url": self.listener_url,
                "pid": self.pid}


def _admin_port(path: Path) -> int | None:
    try:
        text = path.read_text().strip()  # "127.0.0.1:PORT"
    except OSError:
        return None
    host, _, port = text.rpartition(":")
    return int(port) if port.isdigit() and host else None


def _listening(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


def launch_envoy(supervisor: Supervisor, spec: EnvoySpec, xds_port: int, log_level: str = "warn",
                 timeout: float = 15.0) -> RunningEnvoy:
    """Start Envoy, wait until it is LIVE and its listener accepts connections; ports are recorded."""
    state = supervisor.state_dir
    bootstrap = state / f"{spec.name}.bootstrap.pb"  # .pb: Envoy reads it as binary proto
    admin_file = state / f"{spec.name}.admin-address"
    bootstrap.write_bytes(make_bootstrap(
        spec.node_id, spec.node_cluster, spec.locality, HOST, xds_port, 0,
        node_metadata={LISTENER_PORT_KEY: spec.listener_port}))
    admin_file.unlink(missing_ok=True)  # a stale file would name a dead port
    argv = [envoy_binary(), "-c", str(bootstrap), "--disable-hot-restart", "--log-level", log_level,
            "--concurrency", "1", "--admin-address-path", str(admin_file)]
    process = supervisor.start(spec.name, argv, ready=lambda: _admin_port(admin_file) is not None, timeout=timeout)
    admin_port = _admin_port(admin_file)
    assert admin_port is not None
    supervisor.record_ports(spec.name, {"admin": admin_port, "listener": spec.listener_port})
    admin = AdminClient(f"http://{HOST}:{admin_port}")
    deadline = time.monotonic() + timeout
    while not (admin.is_live() and _listening(spec.listener_port)):
        if not process.alive():
            supervisor.stop(spec.name)
            raise StartFailed(f"{spec.name} exited during start", _log_tail(process.log_path))
        if time.monotonic() > deadline:
            supervisor.stop(spec.name)
            raise StartFailed(f"{spec.name} was not LIVE with listener {spec.listener_port} within {timeout:g} s",
                              _log_tail(process.log_path))
        time.sleep(0.02)
    return RunningEnvoy(spec, process.pid, admin_port)


def _log_tail(path: Path, max_bytes: int = 3000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-max_bytes:].decode(errors="replace")
