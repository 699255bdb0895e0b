"""Manifest hygiene shared by export and apply: strip what the server owns so a person (or kubectl) can apply it."""

from __future__ import annotations

import copy
from typing import Any

SERVER_METADATA = ("resourceVersion", "uid", "managedFields", "creationTimestamp", "generation", "selfLink",
                   "deletionTimestamp", "deletionGracePeriodSeconds")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def clean_manifest(obj: dict[str, Any], keep_resource_version: bool = False) -> dict[str, Any]:
    """The object as a person edits it: no status, no server-managed metadata, no last-applied copy."""
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for key in SERVER_METADATA:
            if key == "resourceVersion" and keep_resource_version:
                continue
            meta.pop(key, None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED, None)
            if not annotations:
                meta.pop("annotations", None)
    return out
