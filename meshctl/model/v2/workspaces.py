"""Gloo v2 workspaces: who owns each (cluster, namespace), which WorkspaceSettings bind, and what each workspace
sees (owned plus imported): rules W1-W8 and X1-X6 of the reference, decisions in docs/route-semantics.md."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..findings import Finding, Severity, format_path
from ..resources import Resource
from ..snapshot import Snapshot
from .resources import WorkspaceSettingsV2, WorkspaceV2

IMPLICIT = "default"
ADMIN_NAMESPACE = "gloo-mesh"
# X3: the kinds a workspace may export / import, by the name TypedObjectSelector.kind gives them
EXPORT_KINDS = {"RouteTable": "ROUTE_TABLE", "Service": "SERVICE", "VirtualDestination": "VIRTUAL_DESTINATION",
                "ExternalService": "EXTERNAL_SERVICE"}
# Gloo custom resources: read only from config-enabled namespaces of a workspace (W5); ignored outside any (W3)
CONFIG_KINDS = ("RouteTable", "VirtualGateway", "VirtualDestination", "ExternalService", "ExternalEndpoint",
                "WorkspaceSettings", "RetryTimeoutPolicy", "FaultInjectionPolicy", "HeaderManipulationPolicy",
                "MirrorPolicy", "CORSPolicy")
Place = tuple[str, str]  # (cluster, namespace); cluster "" = not stated


def glob_matches(pattern: str, value: str) -> bool:
    """The simple `*` globs of WorkspaceSelector / ClusterSelector / NamespaceSelector names."""
    if "*" not in pattern:
        return pattern == value
    parts = pattern.split("*")
    if not value.startswith(parts[0]) or not value.endswith(parts[-1]):
        return False
    pos, end = len(parts[0]), len(value) - len(parts[-1])
    for part in parts[1:-1]:
        found = value.find(part, pos, end)
        if found < 0:
            return False
        pos = found + len(part)
    return pos <= end


def _labels_match(wanted: Any, have: dict[str, str]) -> bool:
    return isinstance(wanted, dict) and all(have.get(str(k)) == str(v) for k, v in wanted.items())


def _list(value: Any) -> list[Any]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


@dataclass(frozen=True)
class SharedObject:
    """An object a workspace can own and share: a Gloo resource or a discovered Service (possibly inside a meshctl
    Cluster object, which has no Resource of its own)."""

    kind: str
    namespace: str
    name: str
    cluster: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    created: str = ""

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)

    @property
    def ref(self) -> str:
        where = f"@{self.cluster}" if self.cluster else ""
        return f"{self.kind}/{self.namespace}/{self.name}{where}"

    @staticmethod
    def of(resource: Resource) -> "SharedObject":
        return SharedObject(resource.kind, resource.namespace, resource.name, resource.cluster,
                            tuple(sorted(resource.labels.items())), resource.metadata.creation_timestamp)


@dataclass
class WorkspaceInfo:
    name: str
    resource: WorkspaceV2 | None
    labels: dict[str, str] = field(default_factory=dict)
    created: str = ""
    places: list[Place] = field(default_factory=list)  # owned (cluster, namespace), in order found
    config_places: set[Place] = field(default_factory=set)  # the config-enabled ones (W5)
    settings: WorkspaceSettingsV2 | None = None

    def entries(self, key: str) -> list[dict[str, Any]]:
        spec = self.settings.spec if self.settings is not None else {}
        return _list(spec.get(key)) if isinstance(spec, dict) else []


IMPLICIT_NOTE = f"no Workspace objects: one implicit workspace {IMPLICIT!r} holds every cluster and namespace"


class WorkspaceModel:
    """Ownership and visibility for one snapshot. Without Workspace objects: one implicit workspace `default`
    holding every cluster and namespace (`meshctl workspaces` says so once, as a note: IMPLICIT_NOTE)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.findings: list[Finding] = []
        self.workspaces: dict[str, WorkspaceInfo] = {}
        objects = [r for r in snapshot if isinstance(r, WorkspaceV2) and r.name]
        self.implicit = not objects
        self._owner: dict[Place, str] = {}
        self._namespace_labels = {r.name: dict(r.labels) for r in snapshot.of_kind("Namespace")}
        self.clusters = self._known_clusters(objects)
        if self.implicit:
            self.workspaces[IMPLICIT] = WorkspaceInfo(IMPLICIT, None)
            self.workspaces[IMPLICIT].places = sorted(self._known_places(objects))
            self.workspaces[IMPLICIT].config_places = set(self.workspaces[IMPLICIT].places)
            if any(isinstance(r, WorkspaceSettingsV2) for r in snapshot):
                self._note_settings_without_workspaces()
        else:
            order = sorted(objects, key=lambda w: (w.metadata.creation_timestamp, w.name))
            for ws in order:
                self.workspaces[ws.name] = WorkspaceInfo(ws.name, ws, dict(ws.labels), ws.metadata.creation_timestamp)
            self._assign(order, sorted(self._known_places(objects)))
            self._bind_settings()

    # -- W1, W2, W5 -------------------------------------------------------------------------------------------
    def _known_clusters(self, objects: list[WorkspaceV2]) -> list[str]:
        names = {r.name for r in self.snapshot.of_kind("Cluster")}
        names |= {r.cluster for r in self.snapshot if r.cluster}
        for ws in objects:
            for sel in _list(ws.spec.get("workloadClusters")):
                name = str(sel.get("name") or "")
                if name and "*" not in name:
                    names.add(name)
        return sorted(names)

    def _known_places(self, objects: list[WorkspaceV2]) -> set[Place]:
        """Every (cluster, namespace) the configuration mentions: resources, Services inside Cluster objects and
        literal names in the Workspaces' selectors. A resource with no cluster stays at cluster ""."""
        places: set[Place] = set()
        for r in self.snapshot:
            if r.NAMESPACED and r.namespace and not isinstance(r, WorkspaceV2):
                places.add((r.cluster, r.namespace))
        for c in self.snapshot.of_kind("Cluster"):
            for s in getattr(getattr(c, "spec", None), "services", []):
                if s.namespace:
                    places.add((c.name, s.namespace))
        for ws in objects:
            for sel in _list(ws.spec.get("workloadClusters")):
                cname = str(sel.get("name") or "")
                clusters = [cname] if cname and "*" not in cname else [c for c in self.clusters
                                                                       if glob_matches(cname or "*", c)]
                for ns in _list(sel.get("namespaces")):
                    nname = str(ns.get("name") or "")
                    if nname and "*" not in nname:
                        places.update((c, nname) for c in clusters or [""])
        # a namespace also known in a named cluster: the cluster-less mention is the same namespace
        named = {ns for c, ns in places if c}
        return {(c, ns) for c, ns in places if c or ns not in named}

    def _cluster_matches(self, sel: dict[str, Any], cluster: str) -> bool:
        name = str(sel.get("name") or "")
        labels = sel.get("selector") or {}
        if cluster == "":  # (our decision) a resource that names no cluster is matched by namespace only
            return True
        if name and not glob_matches(name, cluster):
            return False
        if labels:
            obj = self.snapshot.get("Cluster", "", cluster)
            return obj is not None and _labels_match(labels, obj.labels)
        return True

    def _namespace_matches(self, sel: dict[str, Any], namespace: str) -> bool:
        name = str(sel.get("name") or "")
        labels = sel.get("labels") or {}
        if not name and not labels:
            return False
        if name and not glob_matches(name, namespace):
            return False
        return not labels or _labels_match(labels, self._namespace_labels.get(namespace, {}))

    def _claims(self, ws: WorkspaceV2, place: Place) -> tuple[bool, bool] | None:
        """(claimed, config-enabled) when the workspace selects this place (W1, W5), else None."""
        selectors = _list(ws.spec.get("workloadClusters"))
        cluster_flag_set = any("configEnabled" in s for s in selectors)
        for sel in selectors:
            if not self._cluster_matches(sel, place[0]):
                continue
            namespaces = _list(sel.get("namespaces"))
            ns_flag_set = any("configEnabled" in n for n in namespaces)
            for ns in namespaces:
                if self._namespace_matches(ns, place[1]):
                    cluster_on = bool(sel.get("configEnabled")) if cluster_flag_set else True
                    ns_on = bool(ns.get("configEnabled")) if ns_flag_set else True
                    return True, cluster_on and ns_on
        return None

    def _assign(self, order: list[WorkspaceV2], places: list[Place]) -> None:
        for ws in order:
            if not _list(ws.spec.get("workloadClusters")):
                continue  # legal: a label-only workspace (§2)
            if not any(_list(s.get("namespaces")) for s in _list(ws.spec.get("workloadClusters"))):
                self._add(ws, Severity.ERROR, "workspace-empty",
                          "no namespace selector in workloadClusters: the workspace owns nothing",
                          ("spec", "workloadClusters"))
        for place in places:
            claimants = [(ws, c) for ws in order if (c := self._claims(ws, place)) is not None]
            if not claimants:
                continue
            (winner, (_, config_on)), losers = claimants[0], claimants[1:]
            self._owner[place] = winner.name
            info = self.workspaces[winner.name]
            info.places.append(place)
            if config_on:
                info.config_places.add(place)
            where = f"namespace {place[1]}" + (f" in cluster {place[0]}" if place[0] else "")
            for loser, _ in losers:
                self._add(loser, Severity.WARNING, "namespace-claimed-twice",
                          f"{where} is selected by workspaces {winner.name} and {loser.name}; a namespace belongs "
                          f"to one workspace: {winner.name} (created first) owns it, {loser.name} does not",
                          ("spec", "workloadClusters"))

    def state(self) -> tuple[Any, ...]:
        """What its answers (owner, config_counts, missing_for, visible) are computed from, comparable by value:
        two models with equal states answer alike about the same object (an incremental rebuild's test)."""
        if self.implicit:
            return (IMPLICIT,)
        return (tuple(sorted(self._owner.items())),
                tuple((info.name, tuple(sorted(info.labels.items())), tuple(sorted(info.config_places)), info.settings)
                      for info in self.workspaces.values()))

    # -- W3, W6, W7 -------------------------------------------------------------------------------------------
    def owner_at(self, cluster: str, namespace: str) -> str | None:
        if self.implicit:
            return IMPLICIT
        owner = self._owner.get((cluster, namespace))
        if owner is None and cluster == "":  # (our decision) no cluster stated: the first cluster that has an owner
            for (_c, ns), ws in sorted(self._owner.items()):
                if ns == namespace:
                    return ws
        if owner is None and cluster:
            owner = self._owner.get(("", namespace))
        return owner

    def owner(self, resource: Resource | SharedObject) -> str | None:
        """W3: the workspace owning the object's (cluster, namespace); None outside every workspace."""
        return self.owner_at(resource.cluster, resource.namespace)

    def config_counts(self, resource: Resource) -> bool:
        """Whether a Gloo custom resource is read at all (W3: owned by a workspace; W5: config-enabled there)."""
        if self.implicit:
            return True
        ws = self.owner(resource)
        if ws is None:
            return False
        info = self.workspaces[ws]
        return any(ns == resource.namespace and (c == resource.cluster or not c or not resource.cluster)
                   for c, ns in info.config_places)

    def _bind_settings(self) -> None:
        settings = sorted((r for r in self.snapshot if isinstance(r, WorkspaceSettingsV2)),
                          key=lambda s: (s.metadata.creation_timestamp, s.namespace, s.name))
        for s in settings:
            if s.name == "global" and s.namespace == ADMIN_NAMESPACE:
                self._add(s, Severity.INFO, "global-settings-not-merged",
                          "the global WorkspaceSettings overrides per-workspace settings in Gloo, but how is "
                          "undocumented (OQ5); meshctl reads each workspace's own settings only")
                continue
            ws = self.owner(s)
            if ws is None:
                self._add(s, Severity.WARNING, "not-in-workspace",
                          f"namespace {s.namespace} belongs to no workspace: this WorkspaceSettings is ignored",
                          ("metadata", "namespace"))
                continue
            info = self.workspaces[ws]
            if info.settings is not None:
                first = info.settings
                self._add(s, Severity.ERROR, "workspace-settings-duplicate",
                          f"workspace {ws} already has WorkspaceSettings {first.namespace}/{first.name} (accepted "
                          "first); a workspace has at most one, so this one is ignored", ("metadata", "name"))
                continue
            info.settings = s
        for r in self.snapshot:
            if r.kind in CONFIG_KINDS and r.kind != "WorkspaceSettings" and not self.config_counts(r):
                why = ("belongs to no workspace" if self.owner(r) is None
                       else f"is not config-enabled in workspace {self.owner(r)}")
                self._add(r, Severity.WARNING, "not-in-workspace",
                          f"namespace {r.namespace} {why}: this {r.kind} is ignored", ("metadata", "namespace"))

    def _note_settings_without_workspaces(self) -> None:
        for s in self.snapshot:
            if isinstance(s, WorkspaceSettingsV2):
                self._add(s, Severity.INFO, "settings-without-workspace",
                          "no Workspace objects are loaded: this WorkspaceSettings' imports and exports have "
                          "nothing to refer to and are not used")

    # -- X1-X6 ------------------------------------------------------------------------------------------------
    def _workspace_selected(self, selectors: list[dict[str, Any]], name: str) -> bool:
        info = self.workspaces.get(name)
        labels = info.labels if info is not None else {}
        for sel in selectors:
            pattern = str(sel.get("name") or "")
            wanted = sel.get("selector") or {}
            if not pattern and not wanted:
                continue  # (our decision) an empty WorkspaceSelector selects nothing
            if (not pattern or glob_matches(pattern, name)) and (not wanted or _labels_match(wanted, labels)):
                return True
        return False

    @staticmethod
    def _resource_selected(filters: list[dict[str, Any]], obj: SharedObject) -> bool:
        if not filters:
            return True  # X2: no resource filters = every exportable object
        for f in filters:
            kind = str(f.get("kind") or "ALL")
            if kind != "ALL" and EXPORT_KINDS.get(obj.kind) != kind:
                continue
            if f.get("name") and f["name"] != obj.name:
                continue
            if f.get("namespace") and f["namespace"] != obj.namespace:
                continue
            if f.get("cluster") and obj.cluster and f["cluster"] != obj.cluster:
                continue
            if _labels_match(f.get("labels") or {}, obj.label_map):
                return True
        return False

    def _shares(self, key: str, ws: str, other: str, obj: SharedObject) -> bool:
        return any(self._workspace_selected(_list(e.get("workspaces")), other)
                   and self._resource_selected(_list(e.get("resources")), obj)
                   for e in self.workspaces[ws].entries(key))

    def missing_for(self, obj: SharedObject | Resource, where: str) -> str | None:
        """None when the object is visible in workspace `where` (X6); else which export or import is missing."""
        shared = obj if isinstance(obj, SharedObject) else SharedObject.of(obj)
        owner = self.owner(shared)
        if owner is None:
            return f"{shared.ref} is in namespace {shared.namespace}, which belongs to no workspace"
        if owner == where:
            return None
        if shared.kind not in EXPORT_KINDS:
            return f"{shared.ref} is owned by workspace {owner}, and a {shared.kind} cannot be exported (X3)"
        missing = []
        kind = EXPORT_KINDS[shared.kind]
        if not self._shares("exportTo", owner, where, shared):
            missing.append(f"workspace {owner} does not export it ({kind}) to workspace {where}")
        if not self._shares("importFrom", where, owner, shared):
            missing.append(f"workspace {where} does not import it ({kind}) from workspace {owner}")
        if not missing:
            return None
        return f"{shared.ref} is owned by workspace {owner}: " + " and ".join(missing)

    def visible(self, obj: SharedObject | Resource, where: str) -> bool:
        return self.missing_for(obj, where) is None

    def visible_in(self, obj: SharedObject | Resource) -> list[str]:
        return [w for w in self.workspaces if self.visible(obj, w)]

    # -- what each workspace holds --------------------------------------------------------------------------------
    def shared_objects(self) -> list[SharedObject]:
        """The exportable objects of the configuration: Gloo resources that count, and discovered Services."""
        out: list[SharedObject] = []
        seen: set[tuple[str, str, str, str]] = set()
        for r in self.snapshot:
            if r.kind in EXPORT_KINDS and (r.kind == "Service" or self.config_counts(r)):
                obj = SharedObject.of(r)
                out.append(obj)
                seen.add((obj.kind, obj.namespace, obj.name, obj.cluster))
        for c in self.snapshot.of_kind("Cluster"):
            for s in getattr(getattr(c, "spec", None), "services", []):
                if ("Service", s.namespace, s.name, c.name) not in seen:
                    out.append(SharedObject("Service", s.namespace, s.name, c.name, tuple(sorted(s.labels.items()))))
        return out

    def describe(self) -> list[dict[str, Any]]:
        """One entry per workspace: the `meshctl workspaces -o json` shape."""
        objects = self.shared_objects()
        owned_kinds = [r for r in self.snapshot if r.kind in CONFIG_KINDS and self.config_counts(r)]
        out = []
        for name, info in self.workspaces.items():
            clusters: dict[str, list[str]] = {}
            for c, ns in info.places:
                clusters.setdefault(c, []).append(ns)
            owned = sorted({r.ref for r in owned_kinds if self.owner(r) == name} |
                           {o.ref for o in objects if self.owner(o) == name})
            imported = sorted(o.ref for o in objects if self.owner(o) not in (name, None) and self.visible(o, name))
            out.append({
                "name": name,
                "implicit": self.implicit,
                "labels": dict(info.labels),
                "settings": f"{info.settings.namespace}/{info.settings.name}" if info.settings else None,
                "clusters": [{"name": c, "namespaces": sorted(nss)} for c, nss in sorted(clusters.items())],
                "exportTo": [self._entry_text(e) for e in info.entries("exportTo")],
                "importFrom": [self._entry_text(e) for e in info.entries("importFrom")],
                "exportsTo": sorted(w for w in self.workspaces if w != name and self._peers(name, w)),
                "importsFrom": sorted(w for w in self.workspaces if w != name and self._peers(w, name)),
                "owned": owned,
                "imported": imported,
                "sees": sorted(set(o.ref for o in objects if self.visible(o, name))),
            })
        return out

    def _peers(self, exporter: str, importer: str) -> bool:
        """Whether both sides agree to share something from exporter to importer (X1), whatever the filters."""
        exp = any(self._workspace_selected(_list(e.get("workspaces")), importer)
                  for e in self.workspaces[exporter].entries("exportTo"))
        imp = any(self._workspace_selected(_list(e.get("workspaces")), exporter)
                  for e in self.workspaces[importer].entries("importFrom"))
        return exp and imp

    @staticmethod
    def _entry_text(entry: dict[str, Any]) -> dict[str, Any]:
        return {"workspaces": _list(entry.get("workspaces")), "resources": _list(entry.get("resources"))}

    def _add(self, resource: Resource, severity: Severity, code: str, message: str,
             path: tuple[Any, ...] = ()) -> None:
        file, line, col = resource.locate(path)
        self.findings.append(Finding(severity, code, message, file=file, line=line, column=col,
                                     resource=resource.display, path=format_path(path) or None))


_CACHE: "weakref.WeakKeyDictionary[Snapshot, WorkspaceModel]" = weakref.WeakKeyDictionary()


def workspaces_of(snapshot: Snapshot) -> WorkspaceModel:
    """The workspace model of a snapshot, computed once (snapshots never change)."""
    model = _CACHE.get(snapshot)
    if model is None:
        model = WorkspaceModel(snapshot)
        _CACHE[snapshot] = model
    return model


def has_workspace_kinds(resources: Iterable[Resource]) -> bool:
    return any(isinstance(r, (WorkspaceV2, WorkspaceSettingsV2)) for r in resources)
