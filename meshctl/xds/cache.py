"""Snapshots of xDS resources per node: consistency checks, pack-once preparation, and the per-node cache."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import betterproto2

from meshctl.xds import codec
from meshctl.xds.codec import (
    CLUSTER_TYPE,
    ENDPOINT_TYPE,
    HCM_TYPE,
    LISTENER_TYPE,
    ROUTE_TYPE,
    SCOPED_ROUTE_TYPE,
    PackedResource,
)

NodeLocality = tuple[str, str, str]  # (region, zone, sub-zone) from the node's bootstrap


@dataclasses.dataclass(frozen=True)
class NodeInfo:
    """Who a client is: Envoy's node id, cluster, locality and metadata."""

    id: str
    cluster: str = ""
    locality: NodeLocality = ("", "", "")
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False, hash=False)
    user_agent: str = dataclasses.field(default="", compare=False)

    @classmethod
    def from_fields(cls, fields: codec.NodeFields) -> "NodeInfo":
        return cls(fields.id, fields.cluster, fields.locality, fields.metadata, fields.user_agent)


def resource_name(message: betterproto2.Message) -> str:
    """The xDS name of a resource message (ClusterLoadAssignment is named by cluster_name)."""
    name = getattr(message, "name", None)
    if name is None:
        name = getattr(message, "cluster_name", "")
    return name


def _eds_service_names(cluster: Any) -> list[str]:
    from envoy_data_plane.envoy.config.cluster.v3 import ClusterDiscoveryType

    if cluster.type != ClusterDiscoveryType.EDS:
        return []
    eds = cluster.eds_cluster_config
    return [(eds.service_name if eds is not None and eds.service_name else cluster.name)]


def _rds_names_in_hcm(hcm_bytes: bytes) -> list[str]:
    # HttpConnectionManager.rds (3) → Rds.route_config_name (2); read straight off the wire.
    names = []
    for number, _, value in codec.iter_fields(hcm_bytes):
        if number == 3:
            for rds_number, _, rds_value in codec.iter_fields(value):
                if rds_number == 2:
                    names.append(rds_value.decode())
    return names


def _rds_names(listener: Any) -> list[str]:
    chains = list(listener.filter_chains)
    if listener.default_filter_chain is not None:
        chains.append(listener.default_filter_chain)
    configs = [f.typed_config for chain in chains for f in chain.filters if f.typed_config is not None]
    if listener.api_listener is not None and listener.api_listener.api_listener is not None:
        configs.append(listener.api_listener.api_listener)
    return [name for config in configs if config.type_url == HCM_TYPE for name in _rds_names_in_hcm(config.value)]


@dataclasses.dataclass(frozen=True)
class XdsSnapshot:
    """A set of resources for one node: type URL → name → message, labelled with the caller's version.

    `identities` optionally maps (type_url, name) to a hashable the pack cache keys on (e.g. a hash of
    the model a resource came from); without it a message object is its own identity.
    """

    version: str
    resources: Mapping[str, Mapping[str, betterproto2.Message]]
    identities: Mapping[tuple[str, str], Hashable] | None = None

    @classmethod
    def from_messages(
        cls,
        version: str,
        clusters: Iterable[Any] = (),
        endpoints: Iterable[Any] = (),
        listeners: Iterable[Any] = (),
        routes: Iterable[Any] = (),
    ) -> "XdsSnapshot":
        """Build from lists of messages, naming each by its own name field."""
        by_type = {CLUSTER_TYPE: clusters, ENDPOINT_TYPE: endpoints, LISTENER_TYPE: listeners, ROUTE_TYPE: routes}
        return cls(version, {t: {resource_name(m): m for m in msgs} for t, msgs in by_type.items()})

    def inconsistencies(self) -> list[str]:
        """What makes this snapshot unsafe to publish (empty when consistent)."""
        problems: list[str] = []
        endpoints = self.resources.get(ENDPOINT_TYPE, {})
        for name, cluster in self.resources.get(CLUSTER_TYPE, {}).items():
            for service in _eds_service_names(cluster):
                if service not in endpoints:
                    problems.append(f"cluster {name!r} uses EDS {service!r}, which has no ClusterLoadAssignment")
        routes = self.resources.get(ROUTE_TYPE, {})
        for name, listener in self.resources.get(LISTENER_TYPE, {}).items():
            for route_name in _rds_names(listener):
                if route_name not in routes:
                    problems.append(f"listener {name!r} uses RDS {route_name!r}, which has no RouteConfiguration")
        for name, scope in self.resources.get(SCOPED_ROUTE_TYPE, {}).items():
            if scope.route_configuration_name not in routes:
                problems.append(f"scope {name!r} uses RDS {scope.route_configuration_name!r}, which has no "
                                "RouteConfiguration")
        for type_url, named in self.resources.items():
            for name, message in named.items():
                if resource_name(message) != name:
                    problems.append(f"{codec.short_name(type_url)} resource keyed {name!r} is named {resource_name(message)!r}")
        return problems

    def consistent(self) -> bool:
        return not self.inconsistencies()


class InconsistentSnapshot(ValueError):
    """Raised when a builder returns a snapshot whose references do not resolve."""


class TypeResources:
    """One type's packed resources in a prepared snapshot, with its wire version."""

    __slots__ = ("type_url", "version", "resources", "_blobs", "_lock")

    def __init__(self, type_url: str, version: str, resources: Mapping[str, PackedResource]):
        self.type_url = type_url
        self.version = version
        self.resources = resources
        self._blobs: dict[frozenset[str] | None, bytes] = {}
        self._lock = threading.Lock()

    def select(self, names: frozenset[str] | None) -> list[PackedResource]:
        """Resources for a subscription: all for a wildcard (None), else the named ones that exist."""
        if names is None:
            return list(self.resources.values())
        return [self.resources[name] for name in sorted(names) if name in self.resources]

    def resources_blob(self, names: frozenset[str] | None) -> bytes:
        """Encoded `resources` field for a subscription, shared by every stream asking for the same names."""
        blob = self._blobs.get(names)
        if blob is None:
            blob = codec.encode_resources_blob(self.select(names))
            with self._lock:
                if len(self._blobs) > 64:  # bound memory when many distinct subsets are requested
                    self._blobs.clear()
                self._blobs[names] = blob
        return blob


@dataclasses.dataclass(frozen=True)
class PreparedSnapshot:
    """A consistent snapshot with every resource packed, ready to send."""

    label: str
    types: Mapping[str, TypeResources]
    built_at: float
    eds_service_of: Mapping[str, str] = dataclasses.field(default_factory=dict)  # EDS cluster → its CLA name

    def version_of(self, type_url: str) -> str | None:
        resources = self.types.get(type_url)
        return resources.version if resources is not None else None

    def resource_versions(self, type_url: str) -> dict[str, str]:
        """Per-resource versions (content hashes), as delta xDS needs them."""
        resources = self.types.get(type_url)
        return {name: packed.version for name, packed in resources.resources.items()} if resources else {}


def type_version(prefix: str, resources: Mapping[str, PackedResource]) -> str:
    digest = hashlib.blake2b(digest_size=6)
    for name in sorted(resources):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(resources[name].version.encode())
        digest.update(b"\n")
    return f"{prefix}{digest.hexdigest()}"


def prepare(snapshot: XdsSnapshot, packer: codec.ResourcePacker, version_prefix: str = "") -> PreparedSnapshot:
    """Check consistency and pack every resource (reusing cached packings)."""
    problems = snapshot.inconsistencies()
    if problems:
        raise InconsistentSnapshot("; ".join(problems))
    identities = snapshot.identities or {}
    types: dict[str, TypeResources] = {}
    # The core types and scopes always exist (possibly empty) so wildcard subscriptions always get an answer (an
    # empty set of scopes is not pushed to a client that has some, though: see server.py _retired_scopes).
    for type_url in set(codec.STREAM_ORDER) | set(snapshot.resources):
        named = snapshot.resources.get(type_url, {})
        packed = {
            name: packer.pack(message, name, type_url, identities.get((type_url, name)))
            for name, message in sorted(named.items())
        }
        types[type_url] = TypeResources(type_url, type_version(version_prefix, packed), packed)
    eds_service_of = {
        name: service
        for name, cluster in snapshot.resources.get(CLUSTER_TYPE, {}).items()
        for service in _eds_service_names(cluster)
    }
    return PreparedSnapshot(snapshot.version, types, time.time(), eds_service_of)


def group_by_cluster_and_locality(node: NodeInfo) -> Hashable:
    """Default sharing rule: nodes of the same service cluster and locality get the same snapshot."""
    return (node.cluster, node.locality)


@dataclasses.dataclass
class RefreshResult:
    changed: set[Hashable]  # groups whose prepared snapshot changed
    errors: dict[Hashable, str]  # groups whose builder failed or returned an inconsistent snapshot


class SnapshotCache:
    """Builds and keeps a prepared snapshot per node group, for the groups that have connected nodes.

    The builder is called once per group (see `group_by`); a failing builder or inconsistent snapshot
    never replaces the last good one. Thread-safe: builds are serialized by a lock.
    """

    def __init__(
        self,
        builder: Callable[[NodeInfo], XdsSnapshot],
        *,
        group_by: Callable[[NodeInfo], Hashable] = group_by_cluster_and_locality,
        version_prefix: str = "",
        packer: codec.ResourcePacker | None = None,
    ):
        self.builder = builder
        self.group_by = group_by
        self.version_prefix = version_prefix
        self.packer = packer or codec.ResourcePacker()
        self._build_lock = threading.Lock()  # one build at a time
        self._state_lock = threading.Lock()  # short sections guarding the dicts below
        self._prepared: dict[Hashable, PreparedSnapshot] = {}
        self._representative: dict[Hashable, NodeInfo] = {}  # a node to call the builder with
        self._attached: dict[Hashable, int] = {}
        self.errors: dict[Hashable, str] = {}

    def group_of(self, node: NodeInfo) -> Hashable:
        return self.group_by(node)

    def attach(self, node: NodeInfo) -> Hashable:
        """Register a connected node; returns its group key."""
        key = self.group_by(node)
        with self._state_lock:
            self._attached[key] = self._attached.get(key, 0) + 1
            self._representative.setdefault(key, node)
        return key

    def detach(self, node: NodeInfo) -> None:
        """Forget a disconnected node; a group's snapshot is dropped with its last node."""
        key = self.group_by(node)
        with self._state_lock:
            count = self._attached.get(key, 0) - 1
            if count > 0:
                self._attached[key] = count
                return
            self._attached.pop(key, None)
            self._representative.pop(key, None)
            dropped = self._prepared.pop(key, None)
            self.errors.pop(key, None)
            live = {id(packed) for prepared in self._prepared.values() for resources in prepared.types.values()
                    for packed in resources.resources.values()} if dropped is not None else None
        if live is not None:
            self.packer.retain(live)  # what only the departed group used goes with it

    def get(self, key: Hashable) -> PreparedSnapshot | None:
        """The current prepared snapshot of a group, without building."""
        return self._prepared.get(key)

    def prepared_for(self, node: NodeInfo) -> PreparedSnapshot | None:
        """The group's snapshot, building it on first use; None if the builder has not produced a good one."""
        key = self.group_by(node)
        prepared = self._prepared.get(key)
        if prepared is not None:
            return prepared
        with self._build_lock:
            prepared = self._prepared.get(key)
            if prepared is None:
                self._build(key, node)
                prepared = self._prepared.get(key)
        return prepared

    def _build(self, key: Hashable, node: NodeInfo) -> bool:
        """Rebuild one group (build lock held); True if its prepared snapshot changed."""
        try:
            prepared = prepare(self.builder(node), self.packer, self.version_prefix)
        except Exception as error:  # keep serving the last good snapshot
            with self._state_lock:
                self.errors[key] = f"{type(error).__name__}: {error}"
            return False
        with self._state_lock:
            self.errors.pop(key, None)
            previous = self._prepared.get(key)
            if key in self._attached:  # its last node may have left while we were building
                self._prepared[key] = prepared
        if previous is None:
            return True
        return any(previous.version_of(t) != prepared.version_of(t) for t in set(previous.types) | set(prepared.types))

    def refresh(self) -> RefreshResult:
        """Call the builder again for every attached group; report which groups changed."""
        with self._build_lock:
            changed: set[Hashable] = set()
            with self._state_lock:
                groups = list(self._representative.items())
            for key, node in groups:
                if self._build(key, node):
                    changed.add(key)
            self.packer.sweep()
            with self._state_lock:
                return RefreshResult(changed, dict(self.errors))

    @property
    def groups(self) -> list[Hashable]:
        return list(self._attached)
