"""Workspace visibility for the v2 route engine: whether a RouteTable may bind a VirtualGateway (G2), whether a
delegate may select a child table (R2) and whether a route's destinations are visible where it is translated
(R16). Each answer is None (allowed) or a sentence saying which export or import is missing."""

from __future__ import annotations

from typing import Any

from ..model.resources import Resource
from ..model.snapshot import Snapshot
from ..model.v2.resources import ObjectSelectorV2, RouteTableV2, VirtualGatewayV2
from ..model.v2.workspaces import SharedObject, WorkspaceModel


def binding_problem(model: WorkspaceModel, table: RouteTableV2, gateway: VirtualGatewayV2) -> str | None:
    """G2: a table of workspace A binds a gateway of workspace B only if the table is visible in B."""
    where = model.owner(gateway)
    if where is None:
        return None  # the gateway itself is ignored (W3) and reported as such
    why = model.missing_for(table, where)
    if why is None:
        return None
    return (f"cannot bind VirtualGateway {gateway.namespace}/{gateway.name} of workspace {where}: "
            f"the table must be visible there (G2), but {why}")


def selector_reaches(model: WorkspaceModel, sel: ObjectSelectorV2, table: RouteTableV2) -> bool:
    """The ObjectSelector fields a visibility check does not cover: `workspace` (the owner) and `cluster`."""
    if sel.workspace and model.owner(table) != sel.workspace:
        return False
    return not (sel.cluster and table.cluster and sel.cluster != table.cluster)


def delegation_problem(model: WorkspaceModel, parent: Resource, child: RouteTableV2) -> str | None:
    """R2 [P]: the child must be visible in the parent's workspace; [D] (strict, always on in meshctl) a child in
    another workspace must also see the parent: the parent's workspace exports ROUTE_TABLE to it and it imports."""
    parent_ws = model.owner(parent)
    if parent_ws is None:
        return None
    why = model.missing_for(child, parent_ws)
    if why is not None:
        return f"delegation to RouteTable {child.namespace}/{child.name} needs it visible in workspace {parent_ws}: {why}"
    child_ws = model.owner(child)
    if child_ws is not None and child_ws != parent_ws:
        back = model.missing_for(parent, child_ws)
        if back is not None:
            return (f"delegation across workspaces needs the parent visible in the child's workspace {child_ws} "
                    f"too (R2): {back}")
    return None


def destination_objects(snapshot: Snapshot, kind: str, namespace: str, name: str) -> list[SharedObject]:
    """The objects a destination reference names (a Service may exist in several clusters)."""
    if kind != "Service":
        found = snapshot.get(kind, namespace, name)
        return [SharedObject.of(found)] if found is not None else []
    out = [SharedObject.of(s) for s in snapshot.of_kind("Service") if s.namespace == namespace and s.name == name]
    for c in snapshot.of_kind("Cluster"):
        for s in getattr(getattr(c, "spec", None), "services", []):
            if s.namespace == namespace and s.name == name:
                out.append(SharedObject("Service", namespace, name, c.name, tuple(sorted(s.labels.items()))))
    return out


def destination_problem(model: WorkspaceModel, snapshot: Snapshot, destination: Any, where: str) -> str | None:
    """R16: a forwardTo destination must be visible in the workspace that translates the root table. A destination
    that does not exist at all is left to the missing-destination check."""
    for attr, kind in (("kube_service", "Service"), ("virtual_destination", "VirtualDestination"),
                       ("external_service", "ExternalService")):
        ref = getattr(destination, attr, None)
        if ref is None:
            continue
        candidates = destination_objects(snapshot, kind, ref.namespace, ref.name)
        if not candidates:
            return None
        reasons = [model.missing_for(c, where) for c in candidates]
        if any(r is None for r in reasons):
            return None
        return f"destination {kind} {ref.namespace}/{ref.name} is not visible in workspace {where} (R16): {reasons[0]}"
    return None
