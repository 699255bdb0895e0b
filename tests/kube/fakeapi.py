"""An in-process Kubernetes API server speaking the real wire protocol, so tests can drive the real client.

What it does like a real API server: discovery documents, lists with resourceVersion and limit/continue
(consistent pages), watches as a chunked stream of JSON-line events (ADDED / MODIFIED / DELETED / BOOKMARK /
ERROR), 410 Expired for a compacted resourceVersion, optimistic concurrency (409), bearer-token auth (401),
RBAC denials (403) with the real message shapes, 404 for an unserved resource, CRD OpenAPI validation (422),
admission denials, server-side dry run (dryRun=All), merge / strategic / JSON / apply patches, and stop/restart
on the same port with its state kept (like an API server restarting in front of etcd). Kinds with a status
subresource (CRDs declaring `subresources.status`) behave like the real thing: writes to the object ignore
`status`, writes to `.../status` change only `status`, and only spec changes bump `metadata.generation`.
`coordination.k8s.io/v1` Leases are served (optimistic concurrency as for every kind); `requests` records every
request (method, path, query), so tests can count writes.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import yaml

JSON = dict[str, Any]
GVR = tuple[str, str, str]  # group, version, plural
VERBS_BY_METHOD = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


@dataclass
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    singular: str = ""
    short_names: list[str] = field(default_factory=list)
    schema: JSON | None = None  # openAPIV3Schema (CRDs only)
    builtin: bool = True
    status_subresource: bool = False  # the CRD declares subresources.status

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def discovery(self) -> JSON:
        out: JSON = {"name": self.plural, "singularName": self.singular or self.kind.lower(),
                     "namespaced": self.namespaced, "kind": self.kind,
                     "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]}
        if self.short_names:
            out["shortNames"] = self.short_names
        if not self.builtin:
            out["storageVersionHash"] = base64.b64encode(self.resource.encode())[:11].decode()
        return out

    def status_discovery(self) -> JSON:
        return {"name": f"{self.plural}/status", "singularName": "", "namespaced": self.namespaced,
                "kind": self.kind, "verbs": ["get", "patch", "update"]}


BUILTIN_TYPES = [
    ResourceType("", "v1", "services", "Service", short_names=["svc"]),
    ResourceType("", "v1", "endpoints", "Endpoints", singular="endpoints", short_names=["ep"]),
    ResourceType("", "v1", "pods", "Pod", short_names=["po"]),
    ResourceType("", "v1", "nodes", "Node", namespaced=False, short_names=["no"]),
    ResourceType("", "v1", "namespaces", "Namespace", namespaced=False, short_names=["ns"]),
    ResourceType("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease"),
]


class ApiStatus(Exception):
    """A failure answered as a v1 Status object."""

    def __init__(self, code: int, reason: str, message: str, details: JSON | None = None,
                 extra_meta: JSON | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details
        self.extra_meta = extra_meta or {}

    def body(self) -> JSON:
        status: JSON = {"kind": "Status", "apiVersion": "v1", "metadata": dict(self.extra_meta),
                        "status": "Failure", "message": self.message, "reason": self.reason}
        if self.details is not None:
            status["details"] = self.details
        status["code"] = self.code
        return status


@dataclass
class _Event:
    rv: int
    gvr: GVR
    type: str
    namespace: str
    obj: JSON


class FakeApiServer:
    """State + HTTP front end. Change state over HTTP (real client) or directly (`create`, `update`, `delete`)."""

    def __init__(self, name: str = "fake", users: dict[str, str] | None = None, bookmark_interval: float = 0.5,
                 first_resource_version: int = 1000) -> None:
        self.name = name
        self.tokens: dict[str, str] = dict(users or {"token-admin": "admin"})
        self.bookmark_interval = bookmark_interval
        self.types: dict[GVR, ResourceType] = {}
        self.objects: dict[GVR, dict[tuple[str, str], JSON]] = {}
        self.events: list[_Event] = []
        self.rv = first_resource_version
        self.compacted_rv = 0
        self.denials: list[tuple[str, str, str | None, str | None]] = []  # verb, plural, namespace, user
        # RBAC allow-list (None: everything not denied is allowed): (rule, namespace or None for cluster-wide)
        self.rbac: list[tuple[JSON, str | None]] | None = None
        self.forbidden: list[str] = []  # messages of every 403 answered
        self.admission: Callable[[str, JSON], tuple[int, str] | None] | None = None
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self._cond = threading.Condition()
        self._list_pages: dict[tuple[GVR, str, int], list[JSON]] = {}
        self._watch_epoch = 0
        self._stopping = False
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self.port = 0
        for t in BUILTIN_TYPES:
            self._add_type(t)

    # -- lifecycle ----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FakeApiServer":
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.fake = self
        self.port = server.server_address[1]
        self._stopping = False
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fakeapi:{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Go away like a dead API server: refuse connections and cut open ones (state is kept)."""
        server = self._server
        if server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        server.shutdown()
        server.server_close()
        for conn in list(self._connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close_watches(self) -> None:
        """End every open watch (as an API server does at its watch timeout); clients reconnect."""
        with self._cond:
            self._watch_epoch += 1
            self._cond.notify_all()

    def compact(self) -> None:
        """Forget history up to now: watches and continue tokens from older resourceVersions get 410."""
        with self._cond:
            self.compacted_rv = self.rv
            self.events = [e for e in self.events if e.rv > self.compacted_rv]
            self._list_pages.clear()

    # -- types --------------------------------------------------------------------------------------
    def _add_type(self, t: ResourceType) -> None:
        key = (t.group, t.version, t.plural)
        self.types[key] = t
        self.objects.setdefault(key, {})

    def install_crd(self, crd: JSON) -> None:
        spec = crd["spec"]
        names = spec["names"]
        for version in spec["versions"]:
            if not version.get("served", True):
                continue
            schema = (version.get("schema") or {}).get("openAPIV3Schema")
            self._add_type(ResourceType(spec["group"], version["name"], names["plural"], names["kind"],
                                        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                                        singular=names.get("singular", ""),
                                        short_names=list(names.get("shortNames") or []), schema=schema,
                                        builtin=False,
                                        status_subresource="status" in (version.get("subresources") or {})))

    def remove_crd(self, resource: str) -> None:
        """Uninstall a CRD by "plural.group" (its objects go with it, as on a real cluster)."""
        with self._cond:
            for key, t in list(self.types.items()):
                if t.resource == resource:
                    del self.types[key]
                    self.objects.pop(key, None)
            self._watch_epoch += 1
            self._cond.notify_all()

    def type_for(self, api_version: str, kind: str) -> ResourceType:
        for t in self.types.values():
            if t.api_version == api_version and t.kind == kind:
                return t
        raise KeyError(f"{kind} {api_version} is not served by {self.name}")

    # -- RBAC and auth ------------------------------------------------------------------------------
    def deny(self, verb: str, plural: str, namespace: str | None = None, user: str | None = None) -> None:
        self.denials.append((verb, plural, namespace, user))

    def allow_all(self) -> None:
        self.denials.clear()
        self.rbac = None

    def grant(self, role: JSON, namespace: str | None = None) -> None:
        """Switch to allow-list RBAC and add a ClusterRole's (namespace None) or a Role's rules."""
        if self.rbac is None:
            self.rbac = []
        self.rbac.extend((rule, namespace) for rule in role.get("rules") or [])

    def _granted(self, verb: str, t: ResourceType, resource: str, namespace: str | None) -> bool:
        for rule, scope in self.rbac or []:
            if scope is not None and scope != namespace:
                continue
            if not {t.group, "*"} & set(rule.get("apiGroups") or []):
                continue
            if not {resource, "*"} & set(rule.get("resources") or []):
                continue
            if {verb, "*"} & set(rule.get("verbs") or []):
                return True
        return False

    # -- direct state changes (no HTTP), for setting up scenes --------------------------------------
    def create(self, obj: JSON) -> JSON:
        t = self.type_for(obj["apiVersion"], obj["kind"])
        with self._cond:
            return self._store(t, copy.deepcopy(obj), create=True)

    def update(self, obj: JSON) -> JSON:
        t = self.type_for(obj["apiVersion"], obj["kind"])
        with self._cond:
            return self._store(t, copy.deepcopy(obj), create=False)

    def delete(self, api_version: str, kind: str, namespace: str | None, name: str) -> None:
        t = self.type_for(api_version, kind)
        with self._cond:
            self._remove(t, (namespace or "") if t.namespaced else "", name)

    def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> JSON | None:
        t = self.type_for(api_version, kind)
        found = self.objects[(t.group, t.version, t.plural)].get(((namespace or "") if t.namespaced else "", name))
        return copy.deepcopy(found) if found is not None else None

    def _store(self, t: ResourceType, obj: JSON, create: bool, manager: str = "fake") -> JSON:
        key = (t.group, t.version, t.plural)
        meta = obj.setdefault("metadata", {})
        ns = (meta.get("namespace") or "default") if t.namespaced else ""
        if t.namespaced:
            meta["namespace"] = ns
        else:
            meta.pop("namespace", None)
        old = self.objects[key].get((ns, meta["name"]))
        self.rv += 1
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        obj["apiVersion"], obj["kind"] = t.api_version, t.kind
        if old is None:
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now
            meta["generation"] = 1
        else:
            meta["uid"] = old["metadata"]["uid"]
            meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            generation = old["metadata"].get("generation", 1)
            meta["generation"] = generation + 1 if old.get("spec") != obj.get("spec") else generation
        meta["resourceVersion"] = str(self.rv)
        meta["managedFields"] = [{"manager": manager, "operation": "Update" if old else "Create",
                                  "apiVersion": t.api_version, "time": now, "fieldsType": "FieldsV1",
                                  "fieldsV1": {"f:spec": {}}}]
        self.objects[key][(ns, meta["name"])] = obj
        self.events.append(_Event(self.rv, key, "MODIFIED" if old else "ADDED", ns, copy.deepcopy(obj)))
        self._cond.notify_all()
        return copy.deepcopy(obj)

    def _remove(self, t: ResourceType, ns: str, name: str) -> JSON:
        key = (t.group, t.version, t.plural)
        obj = self.objects[key].pop((ns, name))
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        self.events.append(_Event(self.rv, key, "DELETED", ns, copy.deepcopy(obj)))
        self._cond.notify_all()
        return copy.deepcopy(obj)

    # -- request handling (called from handler threads) ---------------------------------------------
    def authenticate(self, header: str | None) -> str:
        if header and header.startswith("Bearer "):
            user = self.tokens.get(header[len("Bearer "):].strip())
            if user:
                return user
        raise ApiStatus(401, "Unauthorized", "Unauthorized")

    def authorize(self, user: str, verb: str, t: ResourceType, namespace: str | None, name: str | None,
                  subresource: str | None = None) -> None:
        """Deny as `deny()` said; a denial of "plural/status" covers only the status subresource."""
        resource = f"{t.plural}/{subresource}" if subresource else t.plural
        denied = self.rbac is not None and not self._granted(verb, t, resource, namespace)
        for d_verb, d_plural, d_ns, d_user in self.denials:
            if denied:
                break
            if d_verb not in (verb, "*") or d_plural not in (resource, "*"):
                continue
            if d_ns is not None and d_ns != namespace:
                continue
            if d_user is not None and d_user != user:
                continue
            denied = True
        if denied:
            subject = f'{t.resource} "{name}"' if name else t.resource
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            details: JSON = {"group": t.group, "kind": t.plural}
            if name:
                details = {"name": name, **details}
            message = (f'{subject} is forbidden: User "{user}" cannot {verb} resource "{resource}" '
                       f'in API group "{t.group}" {scope}')
            self.forbidden.append(message)
            raise ApiStatus(403, "Forbidden", message, details)

    def not_found(self, t: ResourceType, name: str) -> ApiStatus:
        return ApiStatus(404, "NotFound", f'{t.resource} "{name}" not found',
                         {"name": name, "group": t.group, "kind": t.plural})

    def list_objects(self, t: ResourceType, namespace: str | None, query: dict[str, list[str]]) -> JSON:
        key = (t.group, t.version, t.plural)
        limit = int(_q(query, "limit") or 0)
        token = _q(query, "continue")
        with self._cond:
            if token:
                try:
                    state = json.loads(base64.urlsafe_b64decode(token.encode()))
                    rv, start = int(state["rv"]), str(state["start"])
                except (ValueError, KeyError, TypeError):
                    raise ApiStatus(400, "BadRequest", "continue key is not valid: incorrect encoded start "
                                                       "resourceVersion (version meta.k8s.io/v1)") from None
                items = self._list_pages.get((key, namespace or "", rv))
                if rv <= self.compacted_rv or items is None:
                    raise ApiStatus(410, "Expired",
                                    "The provided continue parameter is too old to display a consistent list "
                                    "result. You can start a new list without the continue parameter.")
                items = [o for o in items if _object_key(o) > start]
            else:
                rv = self.rv
                items = [copy.deepcopy(o) for (ns, _), o in sorted(self.objects[key].items())
                         if namespace is None or ns == namespace]
            page, rest = (items[:limit], items[limit:]) if limit else (items, [])
            meta: JSON = {"resourceVersion": str(rv)}
            if rest:
                self._list_pages[(key, namespace or "", rv)] = items
                meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                    {"v": "meta.k8s.io/v1", "rv": rv, "start": _object_key(page[-1])}).encode()).decode()
                meta["remainingItemCount"] = len(rest)
        if t.builtin:  # lists of built-in kinds omit each item's apiVersion/kind, like the real server
            page = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in page]
        return {"kind": f"{t.kind}List", "apiVersion": t.api_version, "metadata": meta, "items": page}

    def write(self, method: str, t: ResourceType, namespace: str | None, name: str | None, body: bytes,
              content_type: str, query: dict[str, list[str]], subresource: str | None = None) -> tuple[int, JSON]:
        dry_run = _q(query, "dryRun")
        if dry_run not in (None, "All"):
            raise ApiStatus(400, "BadRequest", f'Invalid dry run value "{dry_run}"; only "All" is supported')
        manager = _q(query, "fieldManager") or "kubectl"
        ns = (namespace or "") if t.namespaced else ""
        key = (t.group, t.version, t.plural)
        with self._cond:
            current = self.objects[key].get((ns, name)) if name else None
            if method == "DELETE":
                if current is None:
                    raise self.not_found(t, name or "")
                if dry_run:
                    return 200, copy.deepcopy(current)
                return 200, self._remove(t, ns, name or "")
            if method == "PATCH":
                if current is None:
                    raise self.not_found(t, name or "")
                obj = self._patched(t, current, body, content_type, query)
                precondition = (obj.get("metadata") or {}).get("resourceVersion")
            else:
                obj = _decode_body(body, content_type)
                precondition = (obj.get("metadata") or {}).get("resourceVersion") if method == "PUT" else None
            meta = obj.setdefault("metadata", {})
            if not isinstance(meta, dict):
                raise ApiStatus(400, "BadRequest", "metadata must be an object")
            if method == "POST":
                if meta.get("resourceVersion"):
                    raise ApiStatus(400, "BadRequest", "resourceVersion should not be set on objects to be created")
                name = meta.get("name")
                if not name:
                    raise self.invalid(t, "", [("metadata.name", "Required value",
                                                "name or generateName is required")])
                if name in {n for (n_ns, n) in self.objects[key] if n_ns == ns}:
                    raise ApiStatus(409, "AlreadyExists", f'{t.resource} "{name}" already exists',
                                    {"name": name, "group": t.group, "kind": t.plural})
            elif meta.get("name", name) != name:
                raise ApiStatus(400, "BadRequest", "the name of the object does not match the name on the URL")
            elif method == "PUT" and current is None:
                raise self.not_found(t, name or "")
            if t.namespaced and meta.get("namespace", ns) != ns:
                raise ApiStatus(400, "BadRequest", "the namespace of the provided object does not match the "
                                                   "namespace sent on the request")
            if obj.get("kind", t.kind) != t.kind or obj.get("apiVersion", t.api_version) != t.api_version:
                raise ApiStatus(400, "BadRequest", f"the API version in the data ({obj.get('apiVersion')}) does "
                                                   f"not match the expected API version ({t.api_version})")
            if precondition and current is not None and precondition != current["metadata"]["resourceVersion"]:
                raise ApiStatus(409, "Conflict",
                                f'Operation cannot be fulfilled on {t.resource} "{name}": the object has been '
                                "modified; please apply your changes to the latest version and try again",
                                {"name": name, "group": t.group, "kind": t.plural})
            obj["apiVersion"], obj["kind"] = t.api_version, t.kind
            meta["name"] = name
            if subresource == "status":
                # only status changes; spec and metadata stay as stored (so generation does not move)
                assert current is not None
                new_status = obj.get("status")
                obj = copy.deepcopy(current)
                if new_status is None:
                    obj.pop("status", None)
                else:
                    obj["status"] = new_status
                meta = obj["metadata"]
            elif t.status_subresource:
                # with a status subresource, writes to the object itself cannot change status
                if current is not None and "status" in current:
                    obj["status"] = copy.deepcopy(current["status"])
                else:
                    obj.pop("status", None)
            if t.schema is not None:
                causes = validate_schema(obj, t.schema)
                if causes:
                    raise self.invalid(t, str(name), causes)
            if self.admission is not None:
                denied = self.admission("CREATE" if method == "POST" else "UPDATE", copy.deepcopy(obj))
                if denied is not None:
                    code, message = denied
                    reason = {400: "BadRequest", 403: "Forbidden", 422: "Invalid"}.get(code, "BadRequest")
                    raise ApiStatus(code, reason, message)
            if dry_run:  # validated and admitted, but nothing is persisted and no resourceVersion is used
                preview = copy.deepcopy(obj)
                preview["metadata"].setdefault("uid", current["metadata"]["uid"] if current else str(uuid.uuid4()))
                if current is not None:
                    preview["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
                else:
                    preview["metadata"].pop("resourceVersion", None)
                return (201 if method == "POST" else 200), preview
            stored = self._store(t, obj, create=method == "POST", manager=manager)
            return (201 if method == "POST" else 200), stored

    def invalid(self, t: ResourceType, name: str, causes: list[tuple[str, str, str]]) -> ApiStatus:
        texts = [f"{f}: {kind}: {msg}" if kind != "Required value" else f"{f}: {kind}" for f, kind, msg in causes]
        joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
        reasons = {"Invalid value": "FieldValueInvalid", "Unsupported value": "FieldValueNotSupported",
                   "Required value": "FieldValueRequired"}
        group_kind = f"{t.kind}.{t.group}" if t.group else t.kind
        return ApiStatus(422, "Invalid", f'{group_kind} "{name}" is invalid: {joined}',
                         {"name": name, "group": t.group, "kind": t.kind,
                          "causes": [{"reason": reasons.get(kind, "FieldValueInvalid"),
                                      "message": f"{kind}: {msg}", "field": f} for f, kind, msg in causes]})

    def _patched(self, t: ResourceType, current: JSON, body: bytes, content_type: str,
                 query: dict[str, list[str]]) -> JSON:
        base = copy.deepcopy(current)
        ctype = content_type.split(";")[0].strip()
        if ctype == "application/merge-patch+json":
            return merge_patch(base, _decode_body(body, ctype))
        if ctype == "application/strategic-merge-patch+json":
            if not t.builtin:
                raise ApiStatus(415, "UnsupportedMediaType",
                                "the body of the request was in an unknown format - accepted media types include: "
                                "application/json-patch+json, application/merge-patch+json, "
                                "application/apply-patch+yaml, application/apply-patch+cbor")
            return merge_patch(base, _decode_body(body, ctype))  # lists replaced, not merged by key
        if ctype == "application/json-patch+json":
            return json_patch(base, json.loads(body or b"[]"))
        if ctype == "application/apply-patch+yaml":
            if not _q(query, "fieldManager"):
                raise ApiStatus(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
                                                "Required value: is required for apply patch")
            return merge_patch(base, _decode_body(body, ctype))  # ownership tracking is not modelled
        raise ApiStatus(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                                                     "accepted media types include: application/json-patch+json, "
                                                     "application/merge-patch+json, application/apply-patch+yaml")

    def watch(self, t: ResourceType, namespace: str | None, query: dict[str, list[str]],
              write: Callable[[JSON], None]) -> None:
        key = (t.group, t.version, t.plural)
        bookmarks = _q(query, "allowWatchBookmarks") in ("true", "1")
        timeout = float(_q(query, "timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        raw_rv = _q(query, "resourceVersion") or ""
        with self._cond:
            epoch = self._watch_epoch
            if raw_rv in ("", "0"):
                last = self.rv
                initial = [copy.deepcopy(o) for (ns, _), o in sorted(self.objects[key].items())
                           if namespace is None or ns == namespace]
            else:
                try:
                    last = int(raw_rv)
                except ValueError:
                    raise ApiStatus(400, "BadRequest", f'invalid resource version "{raw_rv}"') from None
                initial = []
                if last < self.compacted_rv:
                    too_old = ApiStatus(410, "Expired", f"too old resource version: {last} ({self.compacted_rv})")
                    initial = None
        if initial is None:
            write({"type": "ERROR", "object": too_old.body()})
            return
        for obj in initial:
            write({"type": "ADDED", "object": obj})
        next_bookmark = time.monotonic() + self.bookmark_interval
        while True:
            with self._cond:
                pending = [e for e in self.events if e.rv > last and e.gvr == key
                           and (namespace is None or e.namespace == namespace)]
                if not pending:
                    if self._stopping or self._watch_epoch != epoch or key not in self.types:
                        return
                    if time.monotonic() >= deadline:
                        return
                    self._cond.wait(timeout=min(0.1, max(0.0, next_bookmark - time.monotonic())) or 0.05)
                    pending = [e for e in self.events if e.rv > last and e.gvr == key
                               and (namespace is None or e.namespace == namespace)]
                progress = self.rv
            for e in pending:
                write({"type": e.type, "object": e.obj})
                last = e.rv
            if bookmarks and time.monotonic() >= next_bookmark:
                last = max(last, progress)
                write({"type": "BOOKMARK", "object": {"kind": t.kind, "apiVersion": t.api_version,
                                                      "metadata": {"resourceVersion": str(last)}}})
                next_bookmark = time.monotonic() + self.bookmark_interval

    # -- discovery ------------------------------------------------------------------------------------
    def discovery(self, parts: list[str]) -> JSON | None:
        if parts == ["api"]:
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}]}
        if parts == ["api", "v1"]:
            return self._resource_list("", "v1")
        groups: dict[str, list[str]] = {}
        for (g, v, _) in self.types:
            if g:
                groups.setdefault(g, [])
                if v not in groups[g]:
                    groups[g].append(v)

        def group_doc(g: str) -> JSON:
            versions = [{"groupVersion": f"{g}/{v}", "version": v} for v in groups[g]]
            return {"name": g, "versions": versions, "preferredVersion": versions[0]}

        if parts == ["apis"]:
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [group_doc(g) for g in sorted(groups)]}
        if len(parts) == 2 and parts[0] == "apis" and parts[1] in groups:
            return {"kind": "APIGroup", "apiVersion": "v1", **group_doc(parts[1])}
        if len(parts) == 3 and parts[0] == "apis" and parts[2] in groups.get(parts[1], []):
            return self._resource_list(parts[1], parts[2])
        return None

    def _resource_list(self, group: str, version: str) -> JSON:
        resources = []
        for (g, v, _), t in sorted(self.types.items()):
            if (g, v) == (group, version):
                resources.append(t.discovery())
                if t.status_subresource:
                    resources.append(t.status_discovery())
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version, "resources": resources}


# --- helpers shared with tests -----------------------------------------------------------------------

def _q(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _object_key(obj: JSON) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _decode_body(body: bytes, content_type: str) -> JSON:
    try:
        data = yaml.safe_load(body) if "yaml" in content_type else json.loads(body or b"{}")
    except (ValueError, yaml.YAMLError) as exc:
        raise ApiStatus(400, "BadRequest", f"the object provided is unrecognized (must be of type JSON): {exc}") from exc
    if not isinstance(data, dict):
        raise ApiStatus(400, "BadRequest", "the object provided is unrecognized (must be an object)")
    return data


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def json_patch(doc: JSON, ops: list[JSON]) -> JSON:
    """RFC 6902 JSON patch (add, remove, replace, test)."""
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent: Any = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent[p]
        last = parts[-1] if parts else ""
        kind = op["op"]
        try:
            if kind == "test":
                here = parent[int(last)] if isinstance(parent, list) else parent[last]
                if here != op["value"]:
                    raise ApiStatus(422, "Invalid", f"the server rejected our request due to an error in our request: "
                                                    f"testing value {op['path']} failed")
            elif kind == "remove":
                del parent[int(last) if isinstance(parent, list) else last]
            elif kind in ("add", "replace"):
                if isinstance(parent, list):
                    idx = len(parent) if last == "-" else int(last)
                    if kind == "add":
                        parent.insert(idx, op["value"])
                    else:
                        parent[idx] = op["value"]
                else:
                    parent[last] = op["value"]
        except (KeyError, IndexError, ValueError):
            raise ApiStatus(422, "Invalid", f"the server rejected our request due to an error in our request: "
                                            f"{kind} operation does not apply: doc is missing path: {op['path']}") from None
    return doc


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def validate_schema(value: Any, schema: JSON, path: str = "") -> list[tuple[str, str, str]]:
    """OpenAPI v3 (structural subset) validation with the API server's cause wording."""
    causes: list[tuple[str, str, str]] = []
    here = path or "<root>"
    expected = schema.get("type")
    if expected:
        ok = (isinstance(value, int) and not isinstance(value, bool)) if expected == "integer" else \
            (isinstance(value, (int, float)) and not isinstance(value, bool)) if expected == "number" else \
            isinstance(value, _TYPES[expected])
        if not ok:
            got = _json_type(value)
            return [(here, "Invalid value", f'"{got}": {here} in body must be of type {expected}: "{got}"')]
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        return [(here, "Unsupported value", f"{json.dumps(value)}: supported values: {allowed}")]
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        causes.append((here, "Invalid value", f"{json.dumps(value)}: {here} in body should match "
                                              f"'{schema['pattern']}'"))
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for name in schema.get("required") or []:
            if name not in value:
                causes.append((f"{path}.{name}".lstrip("."), "Required value", ""))
        for k, v in value.items():
            if v is None:
                continue  # nulls are pruned before validation for non-nullable fields
            sub = props.get(k)
            if sub is None and isinstance(schema.get("additionalProperties"), dict):
                sub = schema["additionalProperties"]
            if sub is not None:
                causes.extend(validate_schema(v, sub, f"{path}.{k}".lstrip(".")))
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            causes.extend(validate_schema(item, schema["items"], f"{path}[{i}]"))
    return causes


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return "object"


# --- HTTP front end --------------------------------------------------------------------------------

class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    fake: FakeApiServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small JSON answers must not wait for delayed ACKs
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.fake._connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _send_json(self, code: int, data: JSON) -> None:
        payload = json.dumps(data).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(payload)

    def _dispatch(self, method: str) -> None:
        fake = self.server.fake
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fake.requests.append((method, url.path, query))
        try:
            user = fake.authenticate(self.headers.get("Authorization"))
            parts = [p for p in url.path.split("/") if p]
            if parts == ["version"]:
                self._send_json(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0-meshctl-fake"})
                return
            doc = fake.discovery(parts) if method == "GET" else None
            if doc is not None:
                self._send_json(200, doc)
                return
            t, namespace, name, subresource = self._route(parts)
            if method == "GET" and name is None:
                watching = _q(query, "watch") in ("true", "1")
                fake.authorize(user, "watch" if watching else "list", t, namespace, None)
                if watching:
                    self._stream_watch(t, namespace, query)
                else:
                    self._send_json(200, fake.list_objects(t, namespace, query))
                return
            if method == "GET":
                fake.authorize(user, "get", t, namespace, name, subresource)
                found = fake.objects[(t.group, t.version, t.plural)].get((namespace or "", name or ""))
                if found is None:
                    raise fake.not_found(t, name or "")
                self._send_json(200, found)
                return
            if method == "POST" and name is not None:
                raise ApiStatus(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                                                         "resource")
            if method != "POST" and name is None:
                raise ApiStatus(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                                                         "resource")
            if subresource is not None and method not in ("PUT", "PATCH"):
                raise ApiStatus(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                                                         "resource")
            fake.authorize(user, VERBS_BY_METHOD[method], t, namespace, name, subresource)
            code, result = fake.write(method, t, namespace, name, body, self.headers.get("Content-Type", ""), query,
                                      subresource)
            self._send_json(code, result)
        except ApiStatus as status:
            self._send_json(status.code, status.body())
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _route(self, parts: list[str]) -> tuple[ResourceType, str | None, str | None, str | None]:
        fake = self.server.fake
        unknown = ApiStatus(404, "NotFound", "the server could not find the requested resource", {})
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise unknown
        namespace: str | None = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise unknown
        t = fake.types.get((group, version, rest[0]))
        if t is None or (namespace is not None and not t.namespaced):
            raise unknown
        name = rest[1] if len(rest) >= 2 else None
        subresource = rest[2] if len(rest) == 3 else None
        if subresource is not None and (subresource != "status" or not t.status_subresource):
            raise unknown
        if name is not None and t.namespaced and namespace is None:
            raise unknown
        return t, namespace, name, subresource

    def _stream_watch(self, t: ResourceType, namespace: str | None, query: dict[str, list[str]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.close_connection = True

        def write(event: JSON) -> None:
            line = (json.dumps(event) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()

        try:
            try:
                self.server.fake.watch(t, namespace, query, write)
            except ApiStatus as status:
                write({"type": "ERROR", "object": status.body()})
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass


def kubeconfig(servers: dict[str, tuple[FakeApiServer, str]], current: str | None = None) -> JSON:
    """A kubeconfig document: one cluster/user/context per entry {context: (server, token)}."""
    names = list(servers)
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "current-context": current or names[0],
        "clusters": [{"name": f"{n}-cluster", "cluster": {"server": s.url}} for n, (s, _) in servers.items()],
        "users": [{"name": f"{n}-user", "user": {"token": token}} for n, (_, token) in servers.items()],
        "contexts": [{"name": n, "context": {"cluster": f"{n}-cluster", "user": f"{n}-user"}} for n in names],
    }
