"""The routing view of a snapshot: the v1beta1 gateways' merged route trees (flatten.py) and the Gloo v2 gateways'
(v2_engine.py), side by side. The one entry point every surface calls; it sits above both engines so neither
imports the other's module at run time."""

from __future__ import annotations

from ..model.gcpause import gc_paused
from ..model.snapshot import Snapshot
from ..model.v2.validate import has_v2
from .flatten import RouteEngine
from .types import RoutingView
from .v2_engine import FreezeMemory, add_v2_gateways


def build_routing_view(snapshot: Snapshot, freeze: FreezeMemory | None = None) -> RoutingView:
    """`freeze`: the memory of FREEZE_CONFIG trees kept across the snapshots of a live session (v2)."""
    with gc_paused():
        view = RouteEngine(snapshot).build()
        if has_v2(snapshot):  # Gloo v2 gateways beside the v1beta1 ones (a snapshot may mix both)
            add_v2_gateways(snapshot, view.gateways, view.diagnostics, freeze)
        return view
