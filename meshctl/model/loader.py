"""Turning YAML documents into typed resources, with every type problem reported at its file:line:column."""

from __future__ import annotations

from typing import Any

from .findings import Finding, Severity
from .kinds import KINDS, KNOWN_KIND_NAMES
from .resources import Resource, UnknownResource
from .schema import parse
from .yamldoc import Document, describe_type

DEFAULT_NAMESPACE = "default"


def resource_from_document(doc: Document) -> tuple[Resource | None, list[Finding]]:
    data: dict[str, Any] = doc.data
    findings: list[Finding] = []
    api = data.get("apiVersion")
    kind = data.get("kind")
    for field_name, value in (("apiVersion", api), ("kind", kind)):
        if value is None:
            findings.append(doc.finding(Severity.ERROR, "missing-field", f"{field_name} is required", ()))
        elif not isinstance(value, str):
            findings.append(doc.finding(Severity.ERROR, "wrong-type",
                                        f"expected a string, got {describe_type(value)}", (field_name,)))
    if not isinstance(api, str) or not isinstance(kind, str):
        return None, findings

    cls = KINDS.get((api, kind))
    label = _label(kind, data, (cls or UnknownResource).NAMESPACED)
    if cls is None:
        cls = UnknownResource
        if kind in KNOWN_KIND_NAMES:
            findings.append(doc.finding(
                Severity.WARNING, "unknown-api-version",
                f"{kind} is known as apiVersion {KNOWN_KIND_NAMES[kind]}; {api!r} is not understood, "
                "so this resource is kept but not used for routing", ("apiVersion",), resource=label))
        else:
            findings.append(doc.finding(
                Severity.WARNING, "unknown-kind",
                f"kind {kind!r} (apiVersion {api!r}) is not one meshctl models; it is kept but not used",
                ("kind",), resource=label))

    resource, problems = parse(cls, data)
    resource.doc = doc
    resource.raw = data
    for path, message in problems.items:
        findings.append(doc.finding(Severity.ERROR, "wrong-type", message, path, resource=label))

    meta = resource.metadata
    raw_meta = data.get("metadata")
    raw_name = raw_meta.get("name") if isinstance(raw_meta, dict) else None
    # absent, null or "" (a wrong type was reported above as wrong-type)
    if not meta.name and (raw_meta is None or isinstance(raw_meta, dict)) and raw_name in (None, ""):
        findings.append(doc.finding(Severity.ERROR, "missing-field", "metadata.name is required",
                                    ("metadata", "name"), resource=label, path_text="metadata.name"))
    if resource.NAMESPACED and not meta.namespace:
        meta.namespace = DEFAULT_NAMESPACE  # what kubectl apply would do
    return resource, findings


def _label(kind: str, data: dict[str, Any], namespaced: bool) -> str:
    """ "Kind namespace/name" as Resource.display will say it (namespace defaulted) even when fields are broken."""
    meta: dict[str, Any] = data["metadata"] if isinstance(data.get("metadata"), dict) else {}
    name = meta.get("name") if isinstance(meta.get("name"), str) and meta.get("name") else "?"
    if not namespaced:
        return f"{kind} {name}"
    ns = meta.get("namespace") if isinstance(meta.get("namespace"), str) and meta.get("namespace") else None
    return f"{kind} {ns or DEFAULT_NAMESPACE}/{name}"
