"""The one place the console asks "where does this request go": what the operator typed, into the sandbox.

Parsing, matching, the trace and test cases are the request sandbox's own (`meshctl.sandbox`: the engine, request
parser and router_check case writer that `meshctl test-route` and its REPL use); this module only keeps the
console's form of a request (as typed, for the recent/saved lists) and shapes the answer for the drawer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..mesh.index import Backend, Locality, MeshIndex
from ..model.common import RouteAction
from ..model.snapshot import Snapshot
from ..routing.diff import Outcome, TraceStep
from ..routing.evaluate import Request
from ..routing.types import RoutingView
from ..sandbox.casefile import append_case
from ..sandbox.engine import Sandbox, SandboxResult
from ..sandbox.request import KNOWN_METHODS, RequestError, looks_like_schemeless_url, parse_request
from ..sandbox.runner import case_from_result

__all__ = ["KNOWN_METHODS", "Explanation", "RequestError", "RequestStore", "SandboxRequest", "append_test_case",
           "explain", "make_engine", "parse_command", "parse_headers", "test_case"]


@dataclass
class SandboxRequest:
    """A request as the operator wrote it (kept as text for the recent/saved lists and test files)."""

    method: str = "GET"
    url: str = "/"
    headers: dict[str, str] = field(default_factory=dict)
    locality: str = ""
    name: str = ""

    def to_request(self, default_authority: str = "") -> Request:
        """The checked request, parsed by the sandbox as `meshctl test-route` parses it. A bare "/path" takes its
        host from a Host header or `default_authority`; "host/path" without a scheme means http."""
        method = self.method.strip().upper() or "GET"
        url = self.url.strip() or "/"
        if looks_like_schemeless_url(url):
            url = "http://" + url
        host = next((v.strip() for k, v in self.headers.items() if k.strip().lower() == "host"), "")
        if url.startswith("/") and not (host or default_authority):
            raise RequestError("no host: write a full URL (http://host/path) or add a Host header")
        headers = [f"{k.strip()}: {v.strip()}" for k, v in self.headers.items() if k.strip()]
        return parse_request([method, url], headers, host or default_authority)

    def client_locality(self) -> Locality | None:
        try:
            return Locality.parse(self.locality)
        except ValueError as exc:
            raise RequestError(str(exc)) from exc

    def label(self) -> str:
        extra = f" +{len(self.headers)}h" if self.headers else ""
        where = f" @{self.locality}" if self.locality else ""
        return f"{self.name + ': ' if self.name else ''}{self.method} {self.url}{extra}{where}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "url": self.url}
        if self.headers:
            out["headers"] = dict(self.headers)
        if self.locality:
            out["locality"] = self.locality
        if self.name:
            out["name"] = self.name
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SandboxRequest":
        return cls(str(data.get("method", "GET")), str(data.get("url", "/")),
                   {str(k): str(v) for k, v in (data.get("headers") or {}).items()},
                   str(data.get("locality", "") or ""), str(data.get("name", "") or ""))


def parse_headers(text: str) -> dict[str, str]:
    """"name: value" pairs separated by newlines or ";"."""
    out: dict[str, str] = {}
    for part in text.replace(";", "\n").splitlines():
        if not part.strip():
            continue
        name, sep, value = part.partition(":")
        if not sep or not name.strip():
            raise RequestError(f"header {part.strip()!r} is not 'name: value'")
        out[name.strip()] = value.strip()
    return out


def parse_command(args: list[str]) -> SandboxRequest:
    """`:test [METHOD] URL [-H 'name: value']... [@region/zone]`."""
    method = "GET"
    if args and args[0].upper() in KNOWN_METHODS:
        method = args.pop(0).upper()
    if not args:
        raise RequestError("usage: test [METHOD] URL [-H 'name: value'] [@region/zone]")
    url = args.pop(0)
    headers: dict[str, str] = {}
    locality = ""
    while args:
        item = args.pop(0)
        if item == "-H" and args:
            headers.update(parse_headers(args.pop(0)))
        elif item.startswith("@"):
            locality = item[1:]
        else:
            raise RequestError(f"unexpected {item!r}")
    return SandboxRequest(method, url, headers, locality)


@dataclass
class Destination:
    text: str
    backend: Backend | None
    priorities: list[list[Any]]  # endpoints per locality priority for the client


@dataclass
class Explanation:
    request: Request
    gateway: str
    outcome: Outcome
    destinations: list[Destination]
    result: SandboxResult  # the sandbox's own answer: test cases are written from it


def make_engine(view: RoutingView, snapshot: Snapshot) -> Sandbox:
    """A sandbox engine for one snapshot (its compiled indexes are reused across requests)."""
    return Sandbox(snapshot, view)


def _outcome(result: SandboxResult) -> Outcome:
    vh = result.virtual_host
    steps = [TraceStep(entry.route, None if entry.matched else entry.reason, entry.position)
             for entry in result.trace]
    reason = "" if vh is not None else f"no domain takes {result.request.authority}"
    return Outcome(result.gateway.name, vh.name if vh is not None else None, result.route, steps,
                   reason or ("no route matched" if result.route is None else ""))


def explain(view: RoutingView, snapshot: Snapshot, gateway: str | None, sreq: SandboxRequest,
            default_authority: str, engine: Sandbox) -> Explanation:
    """Match the request on one gateway (the first that has a virtual host for it when None)."""
    req = sreq.to_request(default_authority)
    client = sreq.client_locality()
    candidates = [g for g in view.gateways if gateway is None or g.name == gateway]
    if not candidates:
        raise RequestError(f"no gateway {gateway}" if gateway else "no VirtualGateway loaded")
    result = None
    for g in candidates:
        result = engine.evaluate(req, g.name, client)
        if result.virtual_host is not None:
            break
    assert result is not None
    outcome = _outcome(result)
    return Explanation(req, outcome.gateway, outcome, _destinations(outcome, snapshot, client), result)


def _destinations(result: Outcome, snapshot: Snapshot, client: Locality | None) -> list[Destination]:
    route = result.route
    if route is None or not isinstance(route.action, RouteAction):
        return []
    index = MeshIndex(snapshot)
    out = []
    for d in route.action.destinations:
        try:
            backend = index.resolve(d, route.owner.namespace)
        except Exception as exc:  # a resolution bug must not hide the match itself
            out.append(Destination(f"cannot resolve: {exc}", None, []))
            continue
        out.append(Destination(backend.display, backend, backend.priorities(client)))
    return out


# --- saved requests and test cases ------------------------------------------------------------------

class RequestStore:
    """Recent (in memory, newest first) and saved (YAML file) requests."""

    def __init__(self, path: Path | None = None, recent_limit: int = 30, samples: list[Request] | None = None) -> None:
        self.path = path
        self.recent: list[SandboxRequest] = []
        self.saved: list[SandboxRequest] = []
        self.samples: list[Request] = list(samples or [])  # config `sampleRequests`: replayed in edit previews
        self.recent_limit = recent_limit
        if path is not None and path.exists():
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            self.saved = [SandboxRequest.from_dict(x) for x in data.get("requests", []) if isinstance(x, dict)]

    def remember(self, req: SandboxRequest) -> None:
        self.recent = [r for r in self.recent if r.to_dict() != req.to_dict()]
        self.recent.insert(0, req)
        del self.recent[self.recent_limit:]

    def save(self, req: SandboxRequest) -> None:
        if all(r.to_dict() != req.to_dict() for r in self.saved):
            self.saved.append(req)
        if self.path is not None:
            from .editing import atomic_write
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, yaml.safe_dump({"requests": [r.to_dict() for r in self.saved]},
                                                   sort_keys=False), keep_backup=False)

    def all_requests(self, default_authority: str = "") -> list[Request]:
        out = []
        for r in [*self.saved, *self.recent]:
            try:
                out.append(r.to_request(default_authority))
            except RequestError:
                continue
        return out + self.samples


def test_case(explanation: Explanation, name: str) -> dict[str, Any]:
    """The router_check case the REPL's `:save` writes for the same answer (route, cluster, rewrite, destination,
    ssl, ...); the gateway is pinned when the configuration has more than one."""
    result = explanation.result
    return case_from_result(result, name, with_gateway=len(result.sandbox.gateways) > 1)


def append_test_case(path: Path, case: dict[str, Any]) -> int:
    """Add a case to a test file (created when missing; comments kept); returns how many cases it holds."""
    return append_case(path, case)
