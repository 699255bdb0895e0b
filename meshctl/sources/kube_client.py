"""A thin JSON client for the Kubernetes API on the official `kubernetes` package: kubeconfig, paths, errors."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Iterator

import urllib3
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from ..model.kinds import KINDS
from ..model.resources import ROUTING_KINDS

JSON = dict[str, Any]


# --- errors -----------------------------------------------------------------------------------

class KubeConfigError(Exception):
    """The kubeconfig cannot be read or does not name the requested context."""


class KubeUnreachable(Exception):
    """No HTTP answer from the API server (refused, timed out, TLS failure...)."""


class KubeError(Exception):
    """The API server answered with a failure Status; `status` holds the Status object as sent."""

    def __init__(self, code: int, reason: str, message: str, status: JSON | None = None) -> None:
        super().__init__(message or reason or f"HTTP {code}")
        self.code = code
        self.reason = reason
        self.message = message or reason or f"HTTP {code}"
        self.status = status or {}

    @property
    def causes(self) -> list[JSON]:
        details = self.status.get("details") or {}
        return list(details.get("causes") or [])

    @classmethod
    def from_status(cls, status: JSON) -> "KubeError":
        return cls(int(status.get("code") or 0), str(status.get("reason") or ""), str(status.get("message") or ""),
                   status)

    @classmethod
    def from_response(cls, code: int, body: bytes | str | None) -> "KubeError":
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("kind") == "Status":
            err = cls.from_status(data)
            err.code = err.code or code
            return err
        return cls(code, "", text.strip()[:500] or f"HTTP {code}")


def describe_connection_error(exc: BaseException, host: str) -> str:
    """One line an operator understands, instead of urllib3's nested reprs."""
    inner = getattr(exc, "reason", None) or exc
    text = str(inner)
    lowered = text.lower()
    if "refused" in lowered:
        why = "connection refused"
    elif "reset" in lowered or "aborted" in lowered or "remote end closed" in lowered:
        why = "connection reset"
    elif isinstance(inner, urllib3.exceptions.ConnectTimeoutError) or "connect timeout" in lowered:
        why = "connection timed out"
    elif isinstance(inner, urllib3.exceptions.ReadTimeoutError) or "read timed out" in lowered:
        why = "no answer (read timed out)"
    elif isinstance(inner, urllib3.exceptions.NameResolutionError) or "name resolution" in lowered:
        why = "host name not found"
    elif isinstance(inner, urllib3.exceptions.SSLError) or "ssl" in lowered:
        why = f"TLS error: {text}"
    else:
        why = text
    return f"cannot reach API server {host}: {why}"


# --- kinds and paths --------------------------------------------------------------------------

@dataclass(frozen=True)
class KindInfo:
    """Where a kind lives in the API: group/version (from apiVersion), plural and scope."""

    kind: str
    api_version: str
    plural: str
    namespaced: bool = True

    @property
    def group(self) -> str:
        return self.api_version.split("/", 1)[0] if "/" in self.api_version else ""

    @property
    def version(self) -> str:
        return self.api_version.split("/", 1)[1] if "/" in self.api_version else self.api_version

    @property
    def resource(self) -> str:
        """"plural.group" — how the API server names the resource in messages and CRD names."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def _prefix(self) -> str:
        return f"/apis/{self.api_version}" if self.group else f"/api/{self.version}"

    def collection_path(self, namespace: str | None = None) -> str:
        if self.namespaced and namespace:
            return f"{self._prefix()}/namespaces/{namespace}/{self.plural}"
        return f"{self._prefix()}/{self.plural}"

    def object_path(self, namespace: str | None, name: str) -> str:
        return f"{self.collection_path(namespace if self.namespaced else None)}/{name}"


def plural_of(kind: str) -> str:
    lowered = kind.lower()
    if lowered.endswith("y") and lowered[-2:-1] not in ("a", "e", "i", "o", "u"):
        return lowered[:-1] + "ies"
    if lowered.endswith("s"):
        # Endpoints, ExternalEndpoints, WorkspaceSettings: already plural (Gloo's CRDs say so)
        return lowered if lowered.endswith(("points", "settings")) else lowered + "es"
    return lowered + "s"


_BUILTIN = {
    "Service": KindInfo("Service", "v1", "services"),
    "Endpoints": KindInfo("Endpoints", "v1", "endpoints"),
    "EndpointSlice": KindInfo("EndpointSlice", "discovery.k8s.io/v1", "endpointslices"),
    "Pod": KindInfo("Pod", "v1", "pods"),
    "Node": KindInfo("Node", "v1", "nodes", namespaced=False),
}
# Workspace and WorkspaceSettings: read too, since ownership and visibility decide what every v2 selector sees
GLOO_KIND_INFOS = tuple(KindInfo(kind, api, plural_of(kind)) for (api, kind) in KINDS
                        if kind in ROUTING_KINDS or kind in ("Workspace", "WorkspaceSettings"))
DISCOVERY_KIND_INFOS = tuple(_BUILTIN[k] for k in ("Service", "Endpoints", "EndpointSlice", "Pod", "Node"))
WATCHED_KINDS = GLOO_KIND_INFOS + DISCOVERY_KIND_INFOS
_BY_API_KIND = {(i.api_version, i.kind): i for i in WATCHED_KINDS}


def known_kind_info(api_version: str, kind: str) -> KindInfo | None:
    return _BY_API_KIND.get((api_version, kind))


# --- kubeconfig -------------------------------------------------------------------------------

def kubeconfig_path(explicit: str | None = None) -> str:
    """--kubeconfig, else KUBECONFIG (may list several files), else ~/.kube/config."""
    return explicit or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")


def list_contexts(kubeconfig: str | None = None) -> tuple[list[str], str | None]:
    """Context names in the kubeconfig and the current one."""
    path = kubeconfig_path(kubeconfig)
    try:
        contexts, current = k8s_config.list_kube_config_contexts(config_file=path)
    except (ConfigException, OSError, TypeError, KeyError) as exc:
        raise KubeConfigError(f"cannot read kubeconfig {path}: {exc}") from exc
    names = [c["name"] for c in contexts or []]
    return names, (current or {}).get("name") if current else None


def resolve_context(context: str | None, kubeconfig: str | None = None) -> str:
    names, current = list_contexts(kubeconfig)
    if context is None:
        if not current:
            raise KubeConfigError(f"kubeconfig {kubeconfig_path(kubeconfig)} has no current context; use --context")
        return current
    if context not in names:
        known = ", ".join(names) or "none"
        raise KubeConfigError(f"context {context!r} not found in {kubeconfig_path(kubeconfig)} (known: {known})")
    return context


# --- the client -------------------------------------------------------------------------------

@dataclass
class WatchStream:
    """An open watch response; `events()` yields decoded events, `close()` interrupts a blocked read."""

    response: Any
    _closed: bool = field(default=False)

    def events(self) -> Iterator[JSON]:
        buffer = b""
        try:
            for chunk in self.response.stream(64 * 1024, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
            if buffer.strip():
                yield json.loads(buffer)
        except (urllib3.exceptions.HTTPError, OSError, ValueError):
            if not self._closed:
                raise
        finally:
            self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.response.shutdown()  # wakes a thread blocked in read
        except Exception:
            pass
        try:
            self.response.release_conn()
        except Exception:
            pass


class KubeClient:
    """JSON in, JSON out, for one kubeconfig context. Thread-safe (urllib3 pool underneath)."""

    def __init__(self, context: str | None = None, kubeconfig: str | None = None,
                 connect_timeout: float = 5.0, read_timeout: float = 30.0) -> None:
        self.kubeconfig = kubeconfig
        self.context = resolve_context(context, kubeconfig)
        configuration = k8s_client.Configuration()
        try:
            k8s_config.load_kube_config(config_file=kubeconfig_path(kubeconfig), context=self.context,
                                        client_configuration=configuration, persist_config=False)
        except (ConfigException, OSError, TypeError, KeyError) as exc:
            raise KubeConfigError(f"context {self.context!r}: {exc}") from exc
        self._setup(configuration, connect_timeout, read_timeout)

    @classmethod
    def in_cluster(cls, connect_timeout: float = 5.0, read_timeout: float = 30.0) -> "KubeClient":
        """A client with the pod's service-account credentials (token, CA, KUBERNETES_SERVICE_HOST/PORT)."""
        configuration = k8s_client.Configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except ConfigException as exc:
            raise KubeConfigError(f"not running in a cluster (no service-account credentials): {exc}") from exc
        self = cls.__new__(cls)
        self.kubeconfig = None
        self.context = "in-cluster"
        self._setup(configuration, connect_timeout, read_timeout)
        return self

    def _setup(self, configuration: Any, connect_timeout: float, read_timeout: float) -> None:
        # one long-lived watch per kind runs in parallel with lists and writes
        configuration.connection_pool_maxsize = 32
        configuration.retries = 0  # our callers retry with backoff; urllib3's own retries only log noise
        self.host = configuration.host
        self.api = k8s_client.ApiClient(configuration)
        self.timeouts = (connect_timeout, read_timeout)

    def close(self) -> None:
        self.api.close()

    def _send(self, method: str, path: str, query: list[tuple[str, str]] | None, body: Any,
              content_type: str | None, accept: str, timeout: Any) -> Any:
        headers = {"Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        request = self.api.param_serialize(method=method, resource_path=path, query_params=query or [],
                                           header_params=headers, body=body, auth_settings=["BearerToken"])
        # Pooled keep-alive connections may have been cut by a restarting server: a read is retried on
        # another connection (a few times, the pool may hold several dead ones); a write is not (it may
        # have been received).
        attempts = 4 if method == "GET" else 1
        for attempt in range(attempts):
            try:
                return self.api.call_api(*request, _request_timeout=timeout)
            except ApiException as exc:
                if exc.status == 0:
                    raise KubeUnreachable(f"cannot reach API server {self.host}: {exc.reason}") from exc
                raise KubeError.from_response(exc.status or 0, exc.body) from exc
            except urllib3.exceptions.ProtocolError as exc:
                if attempt + 1 < attempts:
                    continue
                raise KubeUnreachable(describe_connection_error(exc, self.host)) from exc
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise KubeUnreachable(describe_connection_error(exc, self.host)) from exc
        raise AssertionError("unreachable")

    def request(self, method: str, path: str, query: list[tuple[str, str]] | None = None, body: Any = None,
                content_type: str | None = None) -> JSON:
        """One request; the decoded JSON body on 2xx, KubeError (with the server's Status) otherwise."""
        response = self._send(method, path, query, body, content_type, "application/json", self.timeouts)
        try:
            data = response.read()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise KubeUnreachable(describe_connection_error(exc, self.host)) from exc
        if not 200 <= response.status <= 299:
            raise KubeError.from_response(response.status, data)
        return json.loads(data) if data else {}

    def watch(self, path: str, query: list[tuple[str, str]], read_timeout: float) -> WatchStream:
        """Open a watch; returns once the server accepted it (HTTP 200), events arrive on the stream."""
        response = self._send("GET", path, query, None, None, "application/json",
                              (self.timeouts[0], read_timeout))
        if not 200 <= response.status <= 299:
            data = response.read()
            raise KubeError.from_response(response.status, data)
        return WatchStream(response.response)

    def discover_kind(self, api_version: str, kind: str) -> KindInfo:
        """Plural and scope of any kind, from the API server's discovery document."""
        known = known_kind_info(api_version, kind)
        if known is not None:
            return known
        path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        try:
            listing = self.request("GET", path)
        except KubeError as exc:
            if exc.code == 404:
                raise KubeError(404, "NotFound", f"the server does not serve apiVersion {api_version} "
                                                 f"(is its CustomResourceDefinition installed?)", exc.status) from exc
            raise
        for res in listing.get("resources") or []:
            if res.get("kind") == kind and "/" not in str(res.get("name", "")):
                return KindInfo(kind, api_version, str(res["name"]), bool(res.get("namespaced", True)))
        raise KubeError(404, "NotFound", f"the server does not serve kind {kind} in {api_version}")
