"""The running demo: real apps, the demo xDS server and real Envoys, started and stopped as one (`meshctl demo`).

    with DemoEnvironment(state_dir) as info:      # up(detach=False) ... down()
        print(info.urls["reviews"])

Every process runs under a `Supervisor` with pid files in the state dir, so `down()` — from this object or a
later one, also after the process that called `up()` crashed — stops exactly what was started. What the
demo consists of (ports, URLs, Envoy admin addresses, the health API) is written to ``demo.json`` there;
`load_demo()` reads it back for `meshctl failover` and the TUI.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Paths
from ..envoy.ports import free_ports
from .apps import AppControl, launch_apps, read_ready_file
from .env_config import (
    DemoEndpoint,
    DemoOptions,
    demo_documents,
    plan_instances,
    rewrite_documents,
    write_config,
    write_resilience,
)
from .env_envoy import EnvoySpec, launch_envoy
from .env_mtls import GATEWAY_PRODUCTPAGE_HOST, MTLS_FILE, gateway_productpage_documents, mtls_plan, write_plan
from .supervisor import ProcessStatus, Supervisor, SupervisorError

INFO_FILE = "demo.json"
MESH_ROUTES_FILE = "zz-demo-mesh.yaml"  # demo-only gateway route to productpage (through its sidecar, mTLS)
CONFIG_DIR = "config"
APPS = "apps"
XDS = "xds"
GATEWAY_HOST = "www.example.com"
CLIENT_LOCALITY = ("us-east-1", "us-east-1a", "")  # where productpage (the demo's client) runs


class DemoError(RuntimeError):
    """The demo could not be started, or is not in the state asked for."""


class DemoNotRunning(DemoError):
    """No demo runs from this state dir."""


class DemoAlreadyRunning(DemoError):
    """A demo from this state dir is still running."""


@dataclass(frozen=True)
class DemoInfo:
    """Where everything of a running demo is (what `demo.json` holds)."""

    state_dir: Path
    config_dir: Path
    started_at: float
    detached: bool
    options: DemoOptions
    xds_address: str
    health_url: str
    apps_control_url: str
    instances: dict[str, dict[str, Any]]  # instance id → service, version, cluster, locality, port, url
    envoys: dict[str, dict[str, Any]]  # process name → role, node id, locality, listener/admin ports
    urls: dict[str, dict[str, str]]  # what to try: name → {"url", "host", "note"}
    endpoints: list[dict[str, str]] = field(default_factory=list)  # placeholder address → instance (for targets)

    def to_json(self) -> dict[str, Any]:
        return {"state_dir": str(self.state_dir), "config_dir": str(self.config_dir), "started_at": self.started_at,
                "detached": self.detached, "options": self.options.to_json(), "xds_address": self.xds_address,
                "health_url": self.health_url, "apps_control_url": self.apps_control_url,
                "instances": self.instances, "envoys": self.envoys, "urls": self.urls, "endpoints": self.endpoints}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> "DemoInfo":
        return cls(state_dir=Path(raw["state_dir"]), config_dir=Path(raw["config_dir"]),
                   started_at=float(raw["started_at"]), detached=bool(raw["detached"]),
                   options=DemoOptions.from_json(raw.get("options")), xds_address=raw["xds_address"],
                   health_url=raw["health_url"], apps_control_url=raw["apps_control_url"],
                   instances=raw["instances"], envoys=raw["envoys"], urls=raw["urls"],
                   endpoints=list(raw.get("endpoints") or []))

    def apps(self) -> AppControl:
        return AppControl(self.apps_control_url)

    def envoy(self, role: str) -> dict[str, Any]:
        for envoy in self.envoys.values():
            if envoy["role"] == role:
                return envoy
        raise KeyError(role)

    @property
    def sidecar_url(self) -> str:
        return str(self.envoy("sidecar")["listener_url"])

    @property
    def gateway_url(self) -> str:
        return str(self.envoy("gateway")["listener_url"])

    def admin_urls(self) -> dict[str, str]:
        return {name: str(e["admin_url"]) for name, e in self.envoys.items()}


@dataclass(frozen=True)
class DemoStatus:
    """What `demo status` shows."""

    running: bool
    processes: list[ProcessStatus]
    info: DemoInfo | None
    problems: list[str] = field(default_factory=list)


def default_state_dir() -> Path:
    return Paths.current().demo_state_dir


def load_demo(state_dir: str | os.PathLike[str] | None = None) -> DemoInfo:
    """The running demo's info; DemoNotRunning (with what to do) if none runs from `state_dir`."""
    state = Path(state_dir) if state_dir is not None else default_state_dir()
    path = state / INFO_FILE
    try:
        info = DemoInfo.from_json(json.loads(path.read_text()))
    except FileNotFoundError:
        raise DemoNotRunning(f"no demo is running (nothing in {state}); start one with `meshctl demo up`") from None
    except (OSError, ValueError, KeyError) as err:
        raise DemoNotRunning(f"cannot read {path}: {err}; run `meshctl demo down` and `meshctl demo up`") from err
    dead = [s.name for s in Supervisor(state).status() if not s.alive]
    if dead:
        raise DemoNotRunning(f"the demo in {state} is broken ({', '.join(dead)} not running); "
                             "run `meshctl demo down` and `meshctl demo up`")
    return info


class DemoEnvironment:
    """Starts and stops the demo; a context manager (`up()` on enter, `down()` on exit)."""

    def __init__(self, state_dir: str | os.PathLike[str] | None = None, options: DemoOptions | None = None,
                 start_timeout: float = 20.0) -> None:
        self.state_dir = Path(state_dir) if state_dir is not None else default_state_dir()
        self.options = options or DemoOptions()
        self.start_timeout = start_timeout
        self.supervisor = Supervisor(self.state_dir)
        self.info: DemoInfo | None = None

    @property
    def config_dir(self) -> Path:
        return self.state_dir / CONFIG_DIR

    # ----- up ----------------------------------------------------------------------------------
    def up(self, detach: bool = False) -> DemoInfo:
        """Start apps, xDS server and Envoys; DemoAlreadyRunning if a live demo uses this state dir.

        Leftovers of a crashed run (records of processes that are gone) are cleaned up first. On any failure
        everything started so far is stopped again.
        """
        with self.supervisor.locked():
            live = [s.name for s in self.supervisor.status() if s.alive]
            if live:
                raise DemoAlreadyRunning(f"a demo is already running from {self.state_dir} ({', '.join(live)}); "
                                         "stop it with `meshctl demo down`")
            self._forget_files()
            self.supervisor.stop_all()  # stale records only: nothing of them is alive
            try:
                self.info = self._start(detach)
            except BaseException:
                self.supervisor.stop_all()
                self._forget_files()
                raise
        return self.info

    def _start(self, detach: bool) -> DemoInfo:
        options = self.options
        timeout = self.start_timeout
        gateway_port, sidecar_port, inbound_port = free_ports(3)
        documents = demo_documents(options.api)
        spec, endpoints = plan_instances(documents, sidecar_port, upstream_timeout_s=options.request_timeout_s + 1)
        spec = type(spec)(instances=spec.instances, hang_limit_s=options.hang_limit_s)
        apps = launch_apps(self.supervisor, spec, name=APPS, timeout=timeout)
        ports = dict(apps.ports)
        if options.mtls:  # productpage's endpoint is its sidecar's mTLS listener, as a sidecar intercepts a pod
            productpage = next(i for i in ports if i.startswith("productpage"))
            write_plan(self.state_dir, mtls_plan(options.cert_lifetime_s, inbound_port, ports[productpage]))
            ports[productpage] = inbound_port
        config = rewrite_documents(documents, endpoints, ports, gateway_port, options)
        if options.mtls:
            config[MESH_ROUTES_FILE] = gateway_productpage_documents(options.api)
        write_config(self.config_dir, config)
        xds = self._start_xds(timeout, options.mtls)
        envoys = [launch_envoy(self.supervisor, s, xds["xds_port"], options.envoy_log_level, timeout)
                  for s in self._envoy_specs(gateway_port, sidecar_port)]
        instances = {}
        for row in apps.control().instances():
            instances[row["id"]] = {k: row[k] for k in ("service", "namespace", "version", "cluster", "region",
                                                        "zone", "kind", "port", "url")}
        info = DemoInfo(
            state_dir=self.state_dir, config_dir=self.config_dir, started_at=time.time(), detached=detach,
            options=options, xds_address=xds["xds"], health_url=xds["health_url"],
            apps_control_url=apps.control_url, instances=instances,
            envoys={e.spec.name: e.to_json() for e in envoys},
            urls=_urls(gateway_port, sidecar_port, apps.ports, options.mtls), endpoints=[_endpoint_json(e) for e in endpoints])
        tmp = self.state_dir / f".{INFO_FILE}.tmp"
        tmp.write_text(json.dumps(info.to_json(), indent=2) + "\n")
        tmp.replace(self.state_dir / INFO_FILE)
        return info

    def _start_xds(self, timeout: float, mtls: bool = False) -> dict[str, Any]:
        ready = self.state_dir / f"{XDS}.ready.json"
        ready.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "meshctl.demo.env_server", "--config-dir", str(self.config_dir),
                "--ready-file", str(ready)]
        if mtls:
            argv += ["--mtls", str(self.state_dir / MTLS_FILE)]
        self.supervisor.start(XDS, argv, ready=lambda: read_ready_file(ready) is not None, timeout=timeout)
        data = read_ready_file(ready) or {}
        self.supervisor.record_ports(XDS, {"xds": int(data["xds_port"]), "health": int(data["health_port"])})
        return data

    @staticmethod
    def _envoy_specs(gateway_port: int, sidecar_port: int) -> list[EnvoySpec]:
        return [
            EnvoySpec("envoy-gateway", "gateway", "istio-ingressgateway.cluster-1", "gateway:gloo-mesh/demo-gateway",
                      CLIENT_LOCALITY, gateway_port),
            EnvoySpec("envoy-productpage", "sidecar", "productpage-v1.bookinfo.cluster-1",
                      "sidecar:bookinfo/productpage@cluster-1", CLIENT_LOCALITY, sidecar_port),
        ]

    # ----- down / status -----------------------------------------------------------------------
    def down(self) -> list[str]:
        """Stop every process this state dir recorded (also a crashed run's); names of those stopped."""
        with self.supervisor.locked():
            stopped = self.supervisor.stop_all()
            self._forget_files()
        self.info = None
        return stopped

    def _forget_files(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.state_dir / INFO_FILE).unlink()
        with contextlib.suppress(FileNotFoundError):
            (self.state_dir / MTLS_FILE).unlink()
        shutil.rmtree(self.config_dir, ignore_errors=True)

    def status(self) -> DemoStatus:
        processes = self.supervisor.status()
        problems = [f"{p.name} (pid {p.pid}) is not running" for p in processes if not p.alive]
        info = None
        try:
            info = DemoInfo.from_json(json.loads((self.state_dir / INFO_FILE).read_text()))
        except FileNotFoundError:
            if processes:
                problems.append("processes are recorded but the demo never finished starting")
        except (OSError, ValueError, KeyError) as err:
            problems.append(f"unreadable {INFO_FILE}: {err}")
        running = bool(processes) and info is not None and not problems
        return DemoStatus(running, processes, info, problems)

    def set_retries(self, enabled: bool, wait_s: float = 10.0) -> None:
        """Switch the demo's retry policy on or off in the running demo (pushed to the Envoys before returning)."""
        from ..failover.eds_health import HealthClient

        info = self.info or load_demo(self.state_dir)
        options = DemoOptions.from_json({**info.options.to_json(), "retries": enabled})
        write_resilience(info.config_dir, options)
        HealthClient(info.health_url).reload(wait_s)
        info = DemoInfo.from_json({**info.to_json(), "options": options.to_json()})
        tmp = self.state_dir / f".{INFO_FILE}.tmp"
        tmp.write_text(json.dumps(info.to_json(), indent=2) + "\n")
        tmp.replace(self.state_dir / INFO_FILE)
        self.info = info

    def __enter__(self) -> DemoInfo:
        return self.up(detach=False)

    def __exit__(self, *exc: object) -> None:
        self.down()


def _endpoint_json(e: DemoEndpoint) -> dict[str, str]:
    return {"instance": e.instance_id, "cluster": e.cluster, "namespace": e.namespace, "service": e.service,
            "placeholder": e.address, "endpoint": e.endpoint_name}


def _urls(gateway_port: int, sidecar_port: int, ports: dict[str, int], mtls: bool = False) -> dict[str, dict[str, str]]:
    gateway = f"http://127.0.0.1:{gateway_port}"
    sidecar = f"http://127.0.0.1:{sidecar_port}"
    productpage = next((f"http://127.0.0.1:{p}" for i, p in ports.items() if i.startswith("productpage")), "")
    mesh = {"gateway-productpage": {"url": f"{gateway}/productpage", "host": GATEWAY_PRODUCTPAGE_HOST,
                                    "note": "ingress gateway → productpage's sidecar over mutual TLS → productpage"}}
    return {
        **(mesh if mtls else {}),
        "reviews": {"url": f"{sidecar}/reviews/0", "host": "reviews.bookinfo.svc.cluster.local",
                    "note": "productpage's sidecar → reviews.global VirtualDestination (v1/v2 local, v3 remote)"},
        "database": {"url": f"{sidecar}/books/0", "host": "database.external",
                     "note": "productpage's sidecar → ExternalService database (db-dallas local, db-west remote)"},
        "productpage": {"url": f"{productpage}/productpage", "host": "",
                        "note": "the productpage app: calls reviews, ratings and database through its sidecar"},
        "gateway-ratings": {"url": f"{gateway}/ratings/1", "host": GATEWAY_HOST,
                            "note": "ingress gateway, 004 guide: /ratings → ratings"},
        "gateway-reviews-v1": {"url": f"{gateway}/reviews/v1/1", "host": GATEWAY_HOST,
                               "note": "ingress gateway: /reviews/v1 → reviews v1 (prefix rewritten)"},
        "gateway-version": {"url": f"{gateway}/reviews/v2/version", "host": GATEWAY_HOST,
                            "note": "ingress gateway: exact /reviews/v2/version → direct response 'v2'"},
        "gateway-reviews-global": {"url": f"{gateway}/reviews/0", "host": "reviews.global",
                                   "note": "ingress gateway: Host reviews.global → the VirtualDestination"},
    }


def curl_command(entry: dict[str, str]) -> str:
    host = f" -H 'Host: {entry['host']}'" if entry.get("host") else ""
    return f"curl -s{host} {entry['url']}"


__all__ = ["DemoEnvironment", "DemoInfo", "DemoOptions", "DemoStatus", "DemoError", "DemoNotRunning",
           "DemoAlreadyRunning", "load_demo", "curl_command", "default_state_dir", "SupervisorError"]
