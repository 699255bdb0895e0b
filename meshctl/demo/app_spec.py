"""What the demo apps process runs: its instances (kind, service, locality, upstreams) as a JSON spec."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..model.findings import Severity
from ..model.schema import Model
from ..model.schema import key as yaml_key
from ..yamlfile import load_file

KINDS = ("reviews", "ratings", "productpage", "database", "generic")
MODES = ("ok", "fail", "hang", "refuse")
SELECT_KEYS = ("id", "service", "namespace", "version", "cluster", "region", "zone", "kind")
HOST = "127.0.0.1"
DEFAULT_HANG_LIMIT_S = 120.0
DEFAULT_UPSTREAM_TIMEOUT_S = 2.0
IDLE_CONNECTION_TIMEOUT_S = 300.0
MAX_BODY_BYTES = 1 << 20
REVIEW_STARS = {"v1": None, "v2": "black", "v3": "red"}


class SpecError(ValueError):
    """The apps spec is malformed."""


# ----- spec ------------------------------------------------------------------------------------
@dataclass
class _UpstreamFile(Model):
    url: str | None = None
    host: str | None = None
    timeout: float | None = None


@dataclass
class _InstanceFile(Model):
    id: str | None = None
    service: str | None = None
    namespace: str | None = None
    version: str | None = None
    cluster: str | None = None
    region: str | None = None
    zone: str | None = None
    port: int | None = None
    kind: str | None = None
    upstreams: dict[str, Any] | None = None  # a URL string or an _UpstreamFile mapping each


@dataclass
class _AppsSpecFile(Model):
    """The spec file's shape, for the schema (the dataclasses below are what the process uses)."""

    instances: list[_InstanceFile] | None = None
    control_port: int | None = field(default=None, metadata=yaml_key("control_port"))
    hang_limit_s: float | None = field(default=None, metadata=yaml_key("hang_limit_s"))
    upstream_timeout: float | None = field(default=None, metadata=yaml_key("upstream_timeout"))


@dataclass(frozen=True)
class Upstream:
    """Where an instance sends its upstream call; `host` overrides the Host header."""

    url: str
    host: str | None = None
    timeout_s: float = DEFAULT_UPSTREAM_TIMEOUT_S

    @classmethod
    def from_json(cls, raw: object, default_timeout_s: float) -> Upstream:
        if isinstance(raw, str):
            raw = {"url": raw}
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
            raise SpecError(f"upstream must be a URL or {{'url': ..., 'host': ...}}, got {raw!r}")
        parts = urlsplit(raw["url"])
        if parts.scheme != "http" or not parts.hostname:
            raise SpecError(f"upstream URL must be http://host:port/..., got {raw['url']!r}")
        return cls(url=raw["url"], host=raw.get("host"),
                   timeout_s=float(raw.get("timeout", default_timeout_s)))

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "host": self.host, "timeout": self.timeout_s}


@dataclass(frozen=True)
class InstanceSpec:
    """One demo service instance: identity, locality, port (0 = any free) and behaviour kind."""

    id: str
    service: str
    namespace: str = "default"
    version: str = "v1"
    cluster: str = ""
    region: str = ""
    zone: str = ""
    port: int = 0
    kind: str = "generic"
    upstreams: Mapping[str, Upstream] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: object, default_timeout_s: float) -> InstanceSpec:
        if not isinstance(raw, dict):
            raise SpecError(f"instance must be an object, got {raw!r}")
        for key in ("id", "service"):
            if not isinstance(raw.get(key), str) or not raw[key]:
                raise SpecError(f"instance {raw.get('id', '?')!r}: {key!r} is required")
        kind = raw.get("kind", "generic")
        if kind not in KINDS:
            raise SpecError(f"instance {raw['id']!r}: kind {kind!r} is not one of {KINDS}")
        port = raw.get("port", 0)
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise SpecError(f"instance {raw['id']!r}: port {port!r} is not 0..65535")
        upstreams = raw.get("upstreams") or {}
        if not isinstance(upstreams, dict):
            raise SpecError(f"instance {raw['id']!r}: upstreams must be an object")
        return cls(
            id=raw["id"], service=raw["service"], namespace=str(raw.get("namespace", "default")),
            version=str(raw.get("version", "v1")), cluster=str(raw.get("cluster", "")),
            region=str(raw.get("region", "")), zone=str(raw.get("zone", "")), port=port, kind=kind,
            upstreams={str(name): Upstream.from_json(up, default_timeout_s)
                       for name, up in upstreams.items()})

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "service": self.service, "namespace": self.namespace,
                "version": self.version, "cluster": self.cluster, "region": self.region,
                "zone": self.zone, "port": self.port, "kind": self.kind,
                "upstreams": {name: up.to_json() for name, up in self.upstreams.items()}}


@dataclass(frozen=True)
class AppsSpec:
    """Everything one apps process hosts."""

    instances: tuple[InstanceSpec, ...]
    control_port: int = 0
    hang_limit_s: float = DEFAULT_HANG_LIMIT_S

    @classmethod
    def from_json(cls, raw: object) -> AppsSpec:
        if not isinstance(raw, dict) or not isinstance(raw.get("instances"), list):
            raise SpecError("spec must be an object with an 'instances' list")
        timeout = float(raw.get("upstream_timeout", DEFAULT_UPSTREAM_TIMEOUT_S))
        instances = tuple(InstanceSpec.from_json(i, timeout) for i in raw["instances"])
        ids = [i.id for i in instances]
        if len(set(ids)) != len(ids):
            raise SpecError(f"instance ids must be unique: {sorted(ids)}")
        ports = [i.port for i in instances if i.port]
        if len(set(ports)) != len(ports):
            raise SpecError(f"instance ports must be unique: {sorted(ports)}")
        return cls(instances=instances, control_port=int(raw.get("control_port", 0)),
                   hang_limit_s=float(raw.get("hang_limit_s", DEFAULT_HANG_LIMIT_S)))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AppsSpec:
        """The spec file, typed first by the model's schema (meshctl.yamlfile: wrong types reported with
        file:line:column and field path), then checked for what types cannot say (unique ids, URLs)."""
        typed, doc, findings = load_file(Path(path), _AppsSpecFile, "apps-spec", unknown=None)
        errors = [f for f in findings if f.severity is Severity.ERROR]
        if errors or typed is None or doc is None:
            raise SpecError("; ".join(f.render() for f in errors) or f"{path}: empty spec")
        return cls.from_json(doc.data)

    def to_json(self) -> dict[str, Any]:
        return {"control_port": self.control_port, "hang_limit_s": self.hang_limit_s,
                "instances": [i.to_json() for i in self.instances]}
