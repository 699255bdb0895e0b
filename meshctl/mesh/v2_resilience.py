"""Gloo v2 FailoverPolicy / OutlierDetectionPolicy attached to VirtualDestinations and ExternalServices (P7).

Policies reach destinations through applyToDestinations (empty: every destination of the kinds the policy
supports). Several policies of one kind on one destination: the oldest applies (creationTimestamp, then
namespace/name), as for the other non-mergeable policies (P5); the others are reported as problems."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model.resources import Resource
from ..model.selection import labels_match
from ..model.v2.resilience import (
    DestinationSelectorV2,
    FailoverPolicyV2,
    OutlierDetectionPolicyV2,
    effective_outlier,
)
from ..model.v2.workspaces import workspaces_of
from .backends import Locality
from .v2_failover import FailoverPlan, Mapping, Target

if TYPE_CHECKING:
    from .backends import Backend
    from .index import MeshIndex

DESTINATION_KINDS = ("VIRTUAL_DESTINATION", "EXTERNAL_SERVICE")


def _selects(sel: DestinationSelectorV2, kind: str, dest: Resource, port: int | None) -> bool:
    if sel.kind != kind:
        return False
    if sel.port is not None and sel.port.number and port is not None and sel.port.number != port:
        return False
    s = sel.selector
    if s is None:
        return True
    if s.name and s.name != dest.name or s.namespace and s.namespace != dest.namespace:
        return False
    if s.cluster and s.cluster != (getattr(dest, "cluster", "") or ""):
        return False
    return labels_match(s.labels, dest.labels)


def _applies(selectors: list[DestinationSelectorV2], kind: str, dest: Resource, port: int | None) -> bool:
    if not selectors:
        return kind in DESTINATION_KINDS  # P7: empty → all destinations (of the supported kinds)
    return any(_selects(sel, kind, dest, port) for sel in selectors)


def _age(r: Resource) -> tuple[str, str, str]:
    return (str(r.metadata.creation_timestamp or ""), r.namespace, r.name)


def policies_for(index: "MeshIndex", kind: str, dest: Resource, port: int | None,
                 policy_type: type[Resource]) -> list[Resource]:
    """The policies of one type that reach a destination, oldest first. P4: a destination policy applies only in
    its own workspace, so it reaches the destinations that workspace owns (an importer's policies do not)."""
    kind_name = policy_type.__name__.removesuffix("V2")  # snapshots index by the YAML kind
    workspaces = workspaces_of(index.snapshot)
    home = workspaces.owner(dest)
    found = [p for p in index.snapshot.of_kind(kind_name)
             if isinstance(p, policy_type) and workspaces.config_counts(p) and workspaces.owner(p) == home
             and _applies(p.spec.apply_to_destinations, kind, dest, port)]  # type: ignore[attr-defined]
    return sorted(found, key=_age)


def failover_plan(policy: FailoverPolicyV2) -> FailoverPlan:
    config = policy.spec.config
    name = f"FailoverPolicy/{policy.namespace}/{policy.name}"
    if config is None:
        return FailoverPlan(name)
    mappings = tuple(
        Mapping(Locality(m.from_.region, m.from_.zone, m.from_.sub_zone) if m.from_ else Locality(),
                tuple(Target(Locality(t.region, t.zone, t.sub_zone), t.weight) for t in m.to))
        for m in config.locality_mappings
    )
    labels = tuple(config.priority_labels.labels) if config.priority_labels and not mappings else ()
    return FailoverPlan(name, mappings, labels)


def apply_resilience(index: "MeshIndex", backend: "Backend", kind: str, dest: Resource, port: int | None) -> None:
    """Set the backend's outlier detection and failover plan from the v2 policies that reach `dest`."""
    outliers = policies_for(index, kind, dest, port, OutlierDetectionPolicyV2)
    if outliers:
        chosen = outliers[0]
        assert isinstance(chosen, OutlierDetectionPolicyV2)
        backend.outlier_detection = effective_outlier(chosen.spec.config)
        backend.problems += [f"OutlierDetectionPolicy {o.namespace}/{o.name} also selects {dest.namespace}/"
                             f"{dest.name}; {chosen.namespace}/{chosen.name} is older and applies"
                             for o in outliers[1:]]
    failovers = policies_for(index, kind, dest, port, FailoverPolicyV2)
    if failovers:
        first = failovers[0]
        assert isinstance(first, FailoverPolicyV2)
        backend.failover_plan = failover_plan(first)
        backend.problems += [f"FailoverPolicy {f.namespace}/{f.name} also selects {dest.namespace}/{dest.name}; "
                             f"{first.namespace}/{first.name} is older and applies" for f in failovers[1:]]
