"""The one place the console asks "where does this request go": parse what the operator typed, explain it.

Matching and the trace come from the request sandbox (`meshctl.sandbox.engine.Sandbox`, the same engine as
`meshctl test-route`); `meshctl.routing.diff.outcome` is the fallback when the sandbox package is absent.
Also: recent/saved requests and test cases in the sandbox's router_check file format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from ..mesh.index import Backend, Locality, MeshIndex
from ..model.common import RouteAction
from ..routing.diff import Outcome, TraceStep, outcome
from ..routing.evaluate import Request
from ..routing.types import RoutingView

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")


class RequestError(ValueError):
    """What the operator typed is not a request we can test."""


@dataclass
class SandboxRequest:
    """A request as the operator wrote it (kept as text for the recent/saved lists and test files)."""

    method: str = "GET"
    url: str = "/"
    headers: dict[str, str] = field(default_factory=dict)
    locality: str = ""
    name: str = ""

    def to_request(self, default_authority: str = "") -> Request:
        method = self.method.strip().upper() or "GET"
        if method not in METHODS and not method.isalpha():
            raise RequestError(f"not an HTTP method: {self.method!r}")
        url = self.url.strip() or "/"
        headers = {k.strip().lower(): v.strip() for k, v in self.headers.items() if k.strip()}
        if "://" in url:
            parts = urlsplit(url)
            authority = parts.netloc
            scheme = parts.scheme or "http"
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        elif url.startswith("/"):
            authority = headers.get("host", "") or default_authority
            scheme = "http"
            path = url
        else:  # "host/path" without a scheme
            host, _, rest = url.partition("/")
            authority, scheme, path = host, "http", "/" + rest
        authority = headers.pop("host", None) or authority
        if not authority:
            raise RequestError("no host: write a full URL (http://host/path) or add a Host header")
        return Request(method=method, authority=authority, path=path, headers=headers, scheme=scheme)

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
    if args and args[0].upper() in METHODS:
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


def make_engine(view: RoutingView, snapshot: Any) -> Any:
    """A sandbox engine for one snapshot (its compiled indexes are reused across requests); None if absent."""
    try:
        from ..sandbox.engine import Sandbox
    except ImportError:
        return None
    return Sandbox(snapshot, view)


def _from_engine(engine: Any, gateway: str, req: Request) -> Outcome:
    result = engine.evaluate(req, gateway)
    vh = result.virtual_host
    steps = [TraceStep(entry.route, None if entry.matched else entry.reason) for entry in result.trace]
    reason = "" if vh is not None else f"no domain takes {req.authority}"
    return Outcome(result.gateway.name, vh.name if vh is not None else None, result.route, steps,
                   reason or ("no route matched" if result.route is None else ""))


def explain(view: RoutingView, snapshot: Any, gateway: str | None, sreq: SandboxRequest,
            default_authority: str = "", engine: Any = None) -> Explanation:
    """Match the request on one gateway (the first that has a virtual host for it when None)."""
    req = sreq.to_request(default_authority)
    client = sreq.client_locality()
    candidates = [g for g in view.gateways if gateway is None or g.name == gateway]
    if not candidates:
        raise RequestError(f"no gateway {gateway}" if gateway else "no VirtualGateway loaded")
    result = None
    for g in candidates:
        result = _from_engine(engine, g.name, req) if engine is not None else outcome(g, req)
        if result.virtual_host is not None:
            break
    assert result is not None
    return Explanation(req, result.gateway, result, _destinations(result, snapshot, client))


def _destinations(result: Outcome, snapshot: Any, client: Locality | None) -> list[Destination]:
    route = result.route
    if route is None or snapshot is None or not isinstance(route.action, RouteAction):
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
    """A router_check-style case that pins today's outcome (runs with `meshctl test-route`)."""
    req = explanation.request
    case: dict[str, Any] = {
        "test_name": name,
        "input": {"authority": req.authority, "path": req.path, "method": req.method},
        "validate": {"gateway": explanation.gateway},
    }
    if req.headers:
        case["input"]["additional_request_headers"] = [{"key": k, "value": v} for k, v in req.headers.items()]
    route = explanation.outcome.route
    if route is None:
        case["validate"]["no_match"] = True
    else:
        case["validate"]["route_name"] = route.name or f"#{route.chain[-1].route_index}"
        case["validate"]["route_owner"] = route.owner_ref
        if explanation.outcome.virtual_host:
            case["validate"]["virtual_host_name"] = explanation.outcome.virtual_host
    return case


def append_test_case(path: Path, case: dict[str, Any]) -> int:
    """Add a case to a test file (created when missing; comments kept); returns how many cases it holds."""
    try:
        from ..sandbox.casefile import append_case
    except ImportError:
        append_case = None
    if append_case is not None:
        return int(append_case(path, case))
    from .editing import atomic_write  # fallback: plain rewrite

    data: dict[str, Any] = {}
    if path.exists():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        data = loaded if isinstance(loaded, dict) else {}
    tests = list(data.get("tests") or [])
    tests.append(case)
    data["tests"] = tests
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, yaml.safe_dump(data, sort_keys=False), keep_backup=False)
    return len(tests)
