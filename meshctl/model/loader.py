"""Turning YAML documents into typed resources, with every type problem reported at its file:line:column."""

from __future__ import annotations

from typing import Any

from .findings import Finding, Severity, format_path
from .resources import KINDS, KNOWN_KIND_NAMES, Resource, UnknownResource
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
    if cls is None:
        cls = UnknownResource
        if kind in KNOWN_KIND_NAMES:
            findings.append(doc.finding(
                Severity.WARNING, "unknown-api-version",
                f"{kind} is known as apiVersion {KNOWN_KIND_NAMES[kind]}; {api!r} is not understood, "
                "so this resource is kept but not used for routing", ("apiVersion",)))
        else:
            findings.append(doc.finding(
                Severity.WARNING, "unknown-kind",
                f"kind {kind!r} (apiVersion {api!r}) is not one meshctl models; it is kept but not used",
                ("kind",)))

    resource, problems = parse(cls, data)
    resource.doc = doc
    resource.raw = data
    label = _label(kind, data)
    for path, message in problems.items:
        findings.append(doc.finding(Severity.ERROR, "wrong-type", message, path, resource=label))

    meta = resource.metadata
    if not meta.name:
        if "metadata" not in data or (isinstance(data.get("metadata"), dict) and "name" not in data["metadata"]):
            findings.append(doc.finding(Severity.ERROR, "missing-field", "metadata.name is required",
                                        ("metadata",), resource=label, path_text="metadata.name"))
    if resource.NAMESPACED and not meta.namespace:
        meta.namespace = DEFAULT_NAMESPACE  # what kubectl apply would do
    return resource, findings


def _label(kind: str, data: dict[str, Any]) -> str:
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    name = meta.get("name") if isinstance(meta.get("name"), str) else "?"
    ns = meta.get("namespace") if isinstance(meta.get("namespace"), str) else None
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"


def path_of(*parts: Any) -> str:
    return format_path(tuple(parts))
