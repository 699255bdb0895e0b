"""Failover against the running demo: its controller (apps, health API, endpoints) and the console's control.

The tab names a VirtualDestination ("namespace/name"); failing it means failing the endpoints the demo's
client (productpage's sidecar, us-east-1/us-east-1a) prefers — its priority 0 — so traffic must fail over.
Targets in `meshctl failover` syntax (cluster:, locality:, service:) are accepted too.
"""

from __future__ import annotations

from pathlib import Path

from ..failover.eds_health import EndpointRef, HealthClient
from ..failover.targets import TargetEndpoint, all_endpoints
from ..failover.trigger import MODES, FailoverController, FailoverError
from ..mesh.index import Locality, MeshIndex
from ..model.common import VirtualDestinationRef
from ..model.resources import VirtualDestination
from ..model.snapshot import load_snapshot
from .env_mtls import meshed_ports
from .environment import CLIENT_LOCALITY, load_demo


def controller_for_demo(state_dir: str | Path | None = None) -> FailoverController:
    """The controller for the demo running from `state_dir` (DemoNotRunning if none)."""
    info = load_demo(state_dir)
    config_dir = info.config_dir
    by_endpoint = {EndpointRef("127.0.0.1", int(row["port"])): instance_id
                   for instance_id, row in info.instances.items()}
    # a meshed workload's endpoint is its sidecar's mTLS listener: failing it fails the app behind it
    by_app_port = {ref.port: instance for ref, instance in by_endpoint.items()}
    for inbound, app_port in meshed_ports(info.state_dir).items():
        if app_port in by_app_port:
            by_endpoint[EndpointRef("127.0.0.1", inbound)] = by_app_port[app_port]
    return FailoverController(lambda: MeshIndex(load_snapshot([str(config_dir)])), apps=info.apps(),
                              health=HealthClient(info.health_url), instance_by_endpoint=by_endpoint)


class ConsoleFailoverControl:
    """Finds the running demo at each call, so the console may start before (or without) the demo."""

    modes = MODES

    def __init__(self, state_dir: str | Path | None = None) -> None:
        self.state_dir = state_dir

    def controller(self) -> FailoverController:
        return controller_for_demo(self.state_dir)

    def _endpoints(self, controller: FailoverController, target: str) -> list[TargetEndpoint]:
        if ":" in target:
            return controller.resolve(target)
        namespace, _, name = target.partition("/")
        vd = controller.index.snapshot.get("VirtualDestination", namespace, name)
        if vd is None:
            raise FailoverError(f"no VirtualDestination {target} in the running demo")
        if isinstance(vd, VirtualDestination):
            backend = controller.index.backend_for_virtual_destination(vd)
        else:  # Gloo v2 (the demo's --api v2 variant)
            backend = controller.index.resolve_virtual_destination(VirtualDestinationRef(name=name,
                                                                                         namespace=namespace))
        priorities = backend.priorities(Locality(*CLIENT_LOCALITY))
        if not priorities:
            raise FailoverError(f"VirtualDestination {target} has no endpoints")
        preferred = {(e.address, e.port) for e in priorities[0]}
        return [e for e in all_endpoints(controller.index) if (e.ref.address, e.ref.port) in preferred]

    def trigger(self, target: str, mode: str) -> str:
        controller = self.controller()
        if mode not in MODES:
            raise FailoverError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        return controller.trigger_endpoints(target, self._endpoints(controller, target), mode).message()

    def restore(self, target: str) -> str:
        controller = self.controller()
        return controller.restore_endpoints(target, self._endpoints(controller, target)).message()
