"""Trigger and restore failures: demo apps (fail / hang / refuse) or EDS health through the xDS server.

    controller = controller_for_demo()                  # meshctl.demo.failover_control: the running demo
    controller.trigger("service:bookinfo/reviews@cluster-1", "fail")
    controller.restore("service:bookinfo/reviews@cluster-1")

`eds-unhealthy` marks the target's endpoints UNHEALTHY in the ClusterLoadAssignments the xDS server pushes
(it returns once every Envoy ACKed), so it also works where meshctl serves xDS to real proxies. The other
modes switch the demo apps standing in for those endpoints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..mesh.index import MeshIndex
from .eds_health import EndpointRef, HealthClient
from .targets import Target, TargetEndpoint, TargetError, resolve

APP_MODES = ("fail", "hang", "refuse")
EDS_MODE = "eds-unhealthy"
MODES = (*APP_MODES, EDS_MODE)


class FailoverError(RuntimeError):
    """A failover could not be triggered or restored (nothing matched, no demo, control API error)."""


@dataclass(frozen=True)
class TriggerResult:
    """What a trigger or restore did."""

    action: str  # "trigger" | "restore"
    target: str
    mode: str
    endpoints: list[TargetEndpoint]
    instances: list[str]  # demo app instances switched
    not_apps: list[str] = field(default_factory=list)  # endpoints with no demo app behind them
    started_at: float = 0.0  # time.monotonic() when the change was sent
    took_ms: float = 0.0

    def message(self) -> str:
        where = ", ".join(f"{e.service}@{e.cluster} {e.ref}" for e in self.endpoints)
        if self.action == "restore":
            head = f"restored {self.target}"
        else:
            head = f"{self.mode} on {self.target}"
        parts = [f"{head}: {len(self.endpoints)} endpoint(s) [{where}]"]
        if self.instances:
            parts.append(f"apps: {', '.join(self.instances)}")
        if self.not_apps and self.mode != EDS_MODE:
            parts.append(f"no demo app behind {', '.join(self.not_apps)} (unchanged)")
        parts.append(f"took {self.took_ms:.0f} ms")
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "target": self.target, "mode": self.mode,
                "endpoints": [e.to_json() for e in self.endpoints], "instances": self.instances,
                "not_apps": self.not_apps, "took_ms": round(self.took_ms, 1)}


class FailoverController:
    """Triggers and restores failures for targets resolved against one mesh configuration."""

    def __init__(self, index_loader: Callable[[], MeshIndex], *, apps: Any | None = None,
                 health: HealthClient | None = None, instance_by_endpoint: dict[EndpointRef, str] | None = None) -> None:
        self._index_loader = index_loader
        self._index: MeshIndex | None = None
        self.apps = apps  # an AppControl (demo apps), or None
        self.health = health
        self.instance_by_endpoint = dict(instance_by_endpoint or {})

    @property
    def index(self) -> MeshIndex:
        if self._index is None:
            self._index = self._index_loader()
        return self._index

    # -- resolution ---------------------------------------------------------------------------------
    def resolve(self, target: str | Target) -> list[TargetEndpoint]:
        """The endpoints of a target; FailoverError when it is malformed or selects nothing."""
        try:
            parsed = target if isinstance(target, Target) else Target.parse(target)
        except TargetError as err:
            raise FailoverError(str(err)) from None
        endpoints = resolve(parsed, self.index)
        if not endpoints:
            raise FailoverError(f"target {parsed} matches no endpoint of the mesh")
        return endpoints

    def _instances(self, endpoints: list[TargetEndpoint]) -> tuple[list[str], list[str]]:
        instances, missing = [], []
        for e in endpoints:
            instance = self.instance_by_endpoint.get(e.ref)
            if instance is None:
                missing.append(f"{e.service}@{e.cluster} {e.ref}")
            elif instance not in instances:
                instances.append(instance)
        return instances, missing

    # -- actions ------------------------------------------------------------------------------------
    def trigger(self, target: str | Target, mode: str, status: int = 503) -> TriggerResult:
        """Make the target's endpoints fail in `mode` (see MODES)."""
        if mode not in MODES:
            raise FailoverError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        return self.trigger_endpoints(str(target), self.resolve(target), mode, status)

    def trigger_endpoints(self, label: str, endpoints: list[TargetEndpoint], mode: str,
                          status: int = 503) -> TriggerResult:
        instances, missing = self._instances(endpoints)
        started = time.monotonic()
        if mode == EDS_MODE:
            if self.health is None:
                raise FailoverError("eds-unhealthy needs the xDS server's health API (none known)")
            self.health.mark([e.ref for e in endpoints], "UNHEALTHY")
            instances = []
        else:
            if self.apps is None:
                raise FailoverError(f"mode {mode} drives the demo apps, and no demo apps are known")
            if not instances:
                raise FailoverError(f"no demo app stands behind {label} ({', '.join(missing)})")
            for instance in instances:
                self.apps.set_mode(instance, mode, status)
        took = (time.monotonic() - started) * 1000
        return TriggerResult("trigger", label, mode, endpoints, instances, missing, started, took)

    def restore(self, target: str | Target) -> TriggerResult:
        """Undo every failure of the target's endpoints: apps back to ok, EDS overrides removed."""
        return self.restore_endpoints(str(target), self.resolve(target))

    def restore_endpoints(self, label: str, endpoints: list[TargetEndpoint]) -> TriggerResult:
        instances, missing = self._instances(endpoints)
        started = time.monotonic()
        if self.apps is not None:
            for instance in instances:
                self.apps.set_mode(instance, "ok")
        if self.health is not None:
            self.health.clear([e.ref for e in endpoints])
        took = (time.monotonic() - started) * 1000
        return TriggerResult("restore", label, "ok", endpoints, instances, missing, started, took)

    def restore_all(self) -> list[str]:
        """Every app back to ok and every EDS override removed; the instance ids that were failing."""
        failing: list[str] = []
        if self.apps is not None:
            for row in self.apps.instances():
                if row.get("mode") != "ok":
                    failing.append(row["id"])
                    self.apps.set_mode(row["id"], "ok")
        if self.health is not None:
            self.health.clear(None)
        return failing

    def active(self) -> dict[str, Any]:
        """Failures in force: app instances not in mode ok, and EDS health overrides."""
        apps = [{"instance": r["id"], "mode": r["mode"]} for r in (self.apps.instances() if self.apps else [])
                if r.get("mode") != "ok"]
        overrides = self.health.overrides() if self.health is not None else []
        return {"apps": apps, "eds": overrides}
