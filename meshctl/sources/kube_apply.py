"""Writing an edited resource back to a cluster safely: dry run first, resourceVersion precondition, conflict diffs.

On a conflict the operator sees base / live / yours (unified diffs) and nothing is overwritten.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..model.resources import CLUSTER_ANNOTATION
from .kube_client import JSON, KindInfo, KubeClient, KubeConfigError, KubeError, KubeUnreachable
from .kube_manifest import LAST_APPLIED, clean_manifest

MERGE_PATCH = "application/merge-patch+json"
READ_ONLY_MESSAGE = "read-only mode (--read-only): meshctl makes no changes; nothing was sent to the cluster"


@dataclass
class ApplyResult:
    """What happened to one manifest. `ok` is False for conflicts, denials, invalid objects and errors."""

    ok: bool
    action: str  # created | configured | unchanged | dry-run | conflict | denied | invalid | error | read-only
    resource: str = ""
    context: str = ""
    message: str = ""
    code: int | None = None
    reason: str = ""
    stage: str = ""  # where it stopped or finished: read | dry-run | write
    resource_version: str = ""
    live: JSON | None = field(default=None, repr=False)
    diff: str = ""
    causes: list[JSON] = field(default_factory=list)

    def render(self) -> str:
        where = f" (context {self.context})" if self.context else ""
        head = f"{self.resource}: {self.action}{where}"
        if self.resource_version and self.ok:
            head += f", resourceVersion {self.resource_version}"
        lines = [head]
        if self.message:
            lines.append(f"  {self.message}")
        for cause in self.causes:
            lines.append(f"  - {cause.get('field', '')}: {cause.get('message', '')}".rstrip())
        if self.diff:
            lines.append(self.diff.rstrip("\n"))
        return "\n".join(lines)

    def to_dict(self) -> JSON:
        return {"ok": self.ok, "action": self.action, "resource": self.resource, "context": self.context,
                "message": self.message, "code": self.code, "reason": self.reason, "stage": self.stage,
                "resourceVersion": self.resource_version, "diff": self.diff, "causes": self.causes}


# --- manifest hygiene -----------------------------------------------------------------------------

def _editable_view(obj: JSON) -> JSON:
    """The parts a merge patch may change: everything but apiVersion/kind/status, and only labels and
    annotations of metadata."""
    view: JSON = {k: copy.deepcopy(v) for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}
    meta = obj.get("metadata") or {}
    meta_view = {k: copy.deepcopy(meta[k]) for k in ("labels", "annotations") if k in meta}
    if LAST_APPLIED in (meta_view.get("annotations") or {}):
        meta_view["annotations"] = {k: v for k, v in meta_view["annotations"].items() if k != LAST_APPLIED}
    view["metadata"] = meta_view
    return view


def merge_patch_between(source: Any, target: Any) -> Any:
    """The RFC 7386 merge patch that turns `source` into `target` (null deletes a key)."""
    if not isinstance(source, dict) or not isinstance(target, dict):
        return copy.deepcopy(target)
    patch: JSON = {}
    for key in source:
        if key not in target:
            patch[key] = None
    for key, value in target.items():
        if key not in source:
            patch[key] = copy.deepcopy(value)
        elif source[key] != value:
            patch[key] = merge_patch_between(source[key], value) if isinstance(value, dict) and isinstance(
                source[key], dict) else copy.deepcopy(value)
    return patch


def _as_yaml(obj: JSON | None) -> list[str]:
    if obj is None:
        return []
    return yaml.safe_dump(clean_manifest(obj), sort_keys=False, default_flow_style=False).splitlines(keepends=True)


def unified(a: JSON | None, b: JSON | None, a_name: str, b_name: str) -> str:
    return "".join(difflib.unified_diff(_as_yaml(a), _as_yaml(b), fromfile=a_name, tofile=b_name))


def three_way_diff(base: JSON | None, live: JSON | None, yours: JSON, base_rv: str | None) -> str:
    """base → live (what changed on the server since the edit began) and live → yours (what you would write)."""
    live_rv = ((live or {}).get("metadata") or {}).get("resourceVersion", "")
    live_name = f"live (resourceVersion {live_rv})" if live is not None else "live (deleted)"
    parts = []
    if base is not None:
        parts.append(unified(base, live, f"base (resourceVersion {base_rv or '?'})", live_name)
                     or "(base and live differ only in server-managed fields)\n")
    else:
        parts.append(f"# base: resourceVersion {base_rv or '?'} (its content is not known here; "
                     "compare live and yours)\n")
    parts.append(unified(live, yours, live_name, "yours") or "# yours equals live\n")
    return "".join(parts)


def _describe(manifest: JSON) -> str:
    meta = manifest.get("metadata") or {}
    ns = meta.get("namespace")
    name = meta.get("name", "?")
    return f"{manifest.get('kind', '?')} {ns + '/' if ns else ''}{name}"


# --- the operation --------------------------------------------------------------------------------

def apply_resource(context: str | None, manifest: JSON, base_resource_version: str | None = None,
                   dry_run_first: bool = True, *, base: JSON | None = None, kubeconfig: str | None = None,
                   client: KubeClient | None = None, read_only: bool = False, dry_run_only: bool = False,
                   namespace: str | None = None, field_manager: str = "meshctl") -> ApplyResult:
    """Create or patch one object. The patch carries `base_resource_version` (default: the manifest's own
    metadata.resourceVersion) so the server refuses it with 409 if someone changed the object meanwhile;
    that conflict comes back as a three-way diff and nothing is overwritten. A server-side dry run
    (dryRun=All) goes first; if it fails, nothing is written."""
    resource = _describe(manifest)
    if read_only:
        return ApplyResult(False, "read-only", resource, context or "", READ_ONLY_MESSAGE, stage="read")
    api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
    meta = manifest.get("metadata") if isinstance(manifest.get("metadata"), dict) else {}
    if not isinstance(api_version, str) or not isinstance(kind, str) or not meta.get("name"):
        return ApplyResult(False, "invalid", resource, context or "",
                           "a manifest needs apiVersion, kind and metadata.name", stage="read")
    try:
        kube = client or KubeClient(context, kubeconfig)
    except KubeConfigError as exc:
        return ApplyResult(False, "error", resource, context or "", str(exc), stage="read")
    context = kube.context
    owned = client is None
    try:
        return _apply(kube, manifest, base_resource_version, dry_run_first, base, dry_run_only, namespace,
                      field_manager)
    finally:
        if owned:
            kube.close()


def _apply(kube: KubeClient, manifest: JSON, base_rv: str | None, dry_run_first: bool, base: JSON | None,
           dry_run_only: bool, namespace: str | None, field_manager: str) -> ApplyResult:
    yours = copy.deepcopy(manifest)
    meta = yours.setdefault("metadata", {})
    if base_rv is None:
        base_rv = meta.get("resourceVersion") or None
    resource = _describe(yours)
    result = ApplyResult(False, "error", resource, kube.context)
    stage = "read"
    try:
        info: KindInfo = kube.discover_kind(yours["apiVersion"], yours["kind"])
        if info.namespaced:
            meta["namespace"] = meta.get("namespace") or namespace or "default"
        else:
            meta.pop("namespace", None)
        result.resource = resource = _describe(yours)
        path = info.object_path(meta.get("namespace"), meta["name"])
        live = _get_or_none(kube, path)
        result.live = live
        if live is None or CLUSTER_ANNOTATION not in ((live.get("metadata") or {}).get("annotations") or {}):
            _drop_cluster_stamp(yours)  # meshctl's own stamp on discovery objects is not the user's edit
        clean = clean_manifest(yours)

        if live is None:
            if base_rv:  # the object the edit started from is gone
                result.action, result.stage, result.code = "conflict", "read", 404
                result.message = (f"{resource} was deleted on the server after your edit began (from "
                                  f"resourceVersion {base_rv}); nothing was written")
                result.diff = three_way_diff(base, None, clean, base_rv)
                return result
            stage = "dry-run"
            query = [("fieldManager", field_manager)]
            if dry_run_first or dry_run_only:
                preview = kube.request("POST", info.collection_path(meta.get("namespace")),
                                       query + [("dryRun", "All")], body=clean)
                if dry_run_only:
                    return _done(result, "dry-run", "dry-run", preview,
                                 "server-side dry run passed (would create); nothing was written",
                                 unified(None, clean, "live (absent)", "yours"))
            stage = "write"
            created = kube.request("POST", info.collection_path(meta.get("namespace")), query, body=clean)
            return _done(result, "created", "write", created, "", "")

        source = base if base is not None else (live if not base_rv or _rv(live) == base_rv else None)
        if source is not None:
            patch = merge_patch_between(_editable_view(source), _editable_view(clean))
        else:  # we cannot tell what the user removed; the precondition makes the server refuse it anyway
            patch = _editable_view(clean)
        if not patch.get("metadata"):
            patch.pop("metadata", None)
        if not patch and (not base_rv or _rv(live) == base_rv):
            return _done(result, "unchanged", "read", live, "no change from the live object; nothing was sent", "")
        if base_rv:
            patch.setdefault("metadata", {})["resourceVersion"] = base_rv
        query = [("fieldManager", field_manager)]
        stage = "dry-run"
        if dry_run_first or dry_run_only:
            preview = kube.request("PATCH", path, query + [("dryRun", "All")], body=patch, content_type=MERGE_PATCH)
            if dry_run_only:
                return _done(result, "dry-run", "dry-run", preview,
                             "server-side dry run passed; nothing was written",
                             unified(live, preview, "live", "after apply"))
        stage = "write"
        updated = kube.request("PATCH", path, query, body=patch, content_type=MERGE_PATCH)
        return _done(result, "configured", "write", updated, "", unified(live, updated, "live (before)", "live (now)"))
    except KubeError as exc:
        return _failure(kube, result, exc, stage, yours, base, base_rv)
    except KubeUnreachable as exc:
        result.stage, result.message = stage, f"{exc}; nothing was written" if stage != "write" else str(exc)
        return result


def _done(result: ApplyResult, action: str, stage: str, obj: JSON | None, message: str, diff: str) -> ApplyResult:
    result.ok, result.action, result.stage, result.message, result.diff = True, action, stage, message, diff
    result.resource_version = _rv(obj) if obj is not None and action != "dry-run" else result.resource_version
    if obj is not None and action != "dry-run":
        result.live = obj
    return result


def _failure(kube: KubeClient, result: ApplyResult, exc: KubeError, stage: str, yours: JSON, base: JSON | None,
             base_rv: str | None) -> ApplyResult:
    result.code, result.reason, result.stage, result.causes = exc.code, exc.reason, stage, exc.causes
    nothing = "nothing was written"
    where = {"dry-run": "server-side dry run", "write": "the API server", "read": "reading the live object"}[stage]
    if exc.code == 409:
        result.action = "conflict"
        live = None
        try:
            info = kube.discover_kind(yours["apiVersion"], yours["kind"])
            meta = yours.get("metadata") or {}
            live = _get_or_none(kube, info.object_path(meta.get("namespace"), meta["name"]))
        except (KubeError, KubeUnreachable):
            pass
        result.live = live
        live_rv = _rv(live) if live is not None else "?"
        if exc.reason == "AlreadyExists":
            result.message = f"{result.resource} was created by someone else meanwhile; {nothing}. {exc.message}"
        else:
            result.message = (f"conflict: {result.resource} changed on the server since your edit began "
                              f"(your base resourceVersion {base_rv or '?'}, live {live_rv}); {nothing}. "
                              "Re-apply your change on top of the live object.")
        result.diff = three_way_diff(base, live, clean_manifest(yours), base_rv)
    elif exc.code in (401, 403):
        result.action = "denied"
        result.message = f"{'not authenticated' if exc.code == 401 else 'denied'} by {where}: {exc.message}; {nothing}"
    elif exc.code in (400, 422):
        result.action = "invalid"
        result.message = f"rejected by {where}: {exc.message}; {nothing}"
    elif exc.code == 404:
        result.action = "error"
        result.message = f"not found ({where}): {exc.message}; {nothing}"
    else:
        result.action = "error"
        result.message = f"{where} failed: HTTP {exc.code} {exc.reason}: {exc.message}; {nothing}"
    return result


def _get_or_none(kube: KubeClient, path: str) -> JSON | None:
    try:
        return kube.request("GET", path)
    except KubeError as exc:
        if exc.code == 404 and exc.reason == "NotFound" and (exc.status.get("details") or {}).get("name"):
            return None  # the object is absent (a missing *type* has no details.name and is an error)
        raise


def _rv(obj: JSON | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")


def _drop_cluster_stamp(obj: JSON) -> None:
    annotations = (obj.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(CLUSTER_ANNOTATION, None)
        if not annotations:
            obj["metadata"].pop("annotations", None)
