"""Shared end-to-end fixtures for translation tests: real HTTP upstreams, example copies pointed at them, an
xDS service fed by a workspace, real Envoys, a keep-alive HTTP client and Envoy's virtual-host selection."""

from __future__ import annotations

import dataclasses
import http.client
import http.server
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshctl.envoy.ports import free_port
from meshctl.envoy.process import EnvoyProcess
from meshctl.sources.base import Source
from meshctl.sources.files import FileSource
from meshctl.sources.workspace import Workspace
from meshctl.xds.service import XdsService
from meshctl.xds.translate import TranslateOptions

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


# ------------------------------------------------------------------------------------------ upstreams


@dataclasses.dataclass
class Hit:
    upstream: str
    method: str
    path: str
    headers: dict[str, str]


class HttpUpstream:
    """A real HTTP/1.1 server on 127.0.0.1 answering 200 "<name> <path>" with header x-upstream: <name>;
    optionally after `delay` seconds, and with 503 for its first `fail_first` requests."""

    def __init__(self, name: str, hits: list[Hit], delay: float = 0.0, fail_first: int = 0):
        self.name = name
        self.hits = hits
        self.delay = delay
        self.failures_left = fail_first
        self._lock = threading.Lock()
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # else ~40 ms per proxied request
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                upstream.hits.append(Hit(upstream.name, self.command, self.path,
                                         {k.lower(): v for k, v in self.headers.items()}))
                if upstream.delay:
                    time.sleep(upstream.delay)
                with upstream._lock:
                    fail = upstream.failures_left > 0
                    upstream.failures_left -= 1 if fail else 0
                body = f"{upstream.name} {self.path}".encode()
                self.send_response(503 if fail else 200)
                self.send_header("content-length", str(len(body)))
                self.send_header("x-upstream", upstream.name)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name=f"upstream-{name}", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class Upstreams:
    """Named upstreams sharing one hit log."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.by_name: dict[str, HttpUpstream] = {}

    def start(self, name: str, delay: float = 0.0, fail_first: int = 0) -> HttpUpstream:
        upstream = self.by_name[name] = HttpUpstream(name, self.hits, delay, fail_first)
        return upstream

    def port(self, name: str) -> int:
        return self.by_name[name].port

    def hits_of(self, name: str) -> list[Hit]:
        return [h for h in list(self.hits) if h.upstream == name]

    def stop(self) -> None:
        for upstream in self.by_name.values():
            upstream.stop()


@pytest.fixture
def upstreams() -> Iterator[Upstreams]:
    fleet = Upstreams()
    try:
        yield fleet
    finally:
        fleet.stop()


# ------------------------------------------------------------------------------------------ example copies


def localize_discovery(text: str, ports_by_address: Mapping[str, int]) -> str:
    """Rewrite meshctl Cluster endpoints: an address in `ports_by_address` becomes 127.0.0.1:<port>."""
    docs = list(yaml.safe_load_all(text))
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("kind") != "Cluster":
            continue
        for svc in doc.get("spec", {}).get("services", []) or []:
            for ep in svc.get("endpoints", []) or []:
                port = ports_by_address.get(ep.get("address"))
                if port is not None:
                    ep["address"], ep["port"] = "127.0.0.1", port
    return yaml.safe_dump_all(docs, sort_keys=False)


def local_copy(example: Path, target: Path, ports_by_address: Mapping[str, int]) -> Path:
    """A copy of an example directory whose discovery points the given addresses at local upstreams."""
    target.mkdir(parents=True, exist_ok=True)
    for f in sorted(example.glob("*.yaml")):
        text = f.read_text()
        if f.name == "mesh.yaml":
            text = localize_discovery(text, ports_by_address)
        (target / f.name).write_text(text)
    return target


# ------------------------------------------------------------------------------------------ HTTP client


class HttpClient:
    """Keep-alive HTTP/1.1 client to one 127.0.0.1 port (reconnects when Envoy closes the connection)."""

    def __init__(self, port: int, timeout: float = 5.0):
        self.port = port
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(self, path: str, host: str = "www.example.com", method: str = "GET",
                headers: Mapping[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
        for attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self._conn.request(method, path, headers={"Host": host, **(headers or {})},
                                   body=b"" if method in ("POST", "PUT", "PATCH") else None)
                response = self._conn.getresponse()
                body = response.read().decode("utf-8", "replace")
                answer = response.status, body, {k.lower(): v for k, v in response.getheaders()}
                if response.will_close:
                    self.close()
                return answer
            except (ConnectionError, http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def get(self, path: str, host: str = "www.example.com", **kwargs: Any) -> tuple[int, str]:
        status, body, _ = self.request(path, host, **kwargs)
        return status, body

    def until(self, path: str, expected: Callable[[tuple[int, str]], bool], host: str = "www.example.com",
              timeout: float = 5.0, **kwargs: Any) -> tuple[int, str]:
        """Poll until `expected(answer)` (a new listener or route starts asynchronously); the last answer."""
        deadline = time.monotonic() + timeout
        answer: tuple[int, str] = (0, "")
        while time.monotonic() < deadline:
            try:
                answer = self.get(path, host, **kwargs)
            except OSError as error:
                answer = (0, str(error))
            if expected(answer):
                return answer
            time.sleep(0.01)
        return answer

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# ------------------------------------------------------------------------------------------ xDS + Envoy


class MeshHarness:
    """A workspace over files, an XdsService on a free port, and Envoys connected to it."""

    def __init__(self, sources: Iterable[Source], options: TranslateOptions, coalesce: float = 0.005):
        self.workspace = Workspace(list(sources), coalesce_seconds=coalesce).load()
        self.service = XdsService(self.workspace, options, listen="127.0.0.1:0").start()
        self.envoys: list[EnvoyProcess] = []
        self.clients: list[HttpClient] = []

    def envoy(self, node_id: str = "gateway-1", node_cluster: str = "gateway",
              locality: tuple[str, str, str] | None = None, **kwargs: Any) -> EnvoyProcess:
        process = EnvoyProcess(node_id, self.service.bound_port, node_cluster=node_cluster, locality=locality, **kwargs)
        self.envoys.append(process)
        process.start().wait_live(15)
        return process

    def client(self, port: int) -> HttpClient:
        client = HttpClient(port)
        self.clients.append(client)
        return client

    def watch(self) -> "MeshHarness":
        """Start the sources' file watchers: an edit on disk then reaches Envoy by itself."""
        self.workspace.start()
        return self

    def reload(self, timeout: float = 10.0) -> None:
        """Re-read the sources now (instead of waiting for the poller), push, and wait for every ACK."""
        for source in self.workspace.sources:
            apply_edit(self.workspace, source, timeout)
        self.service.refresh_and_wait(timeout)

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        for process in self.envoys:
            process.send_term()
        for process in self.envoys:
            process.stop()
        self.service.stop()
        self.workspace.stop()


def apply_edit(workspace: Workspace, source: Source, timeout: float = 10.0) -> None:
    """Re-read one source now, as an editor that saved a file would, and wait for the workspace's (one,
    coalesced) rebuild. Calling workspace.rebuild() as well would build and translate everything twice."""
    before = workspace.version
    source.load()
    deadline = time.monotonic() + timeout
    while workspace.version == before:
        if time.monotonic() > deadline:
            raise TimeoutError("the workspace did not rebuild")
        time.sleep(0.0005)


@pytest.fixture
def mesh_harness() -> Iterator[Callable[..., MeshHarness]]:
    """Factory: mesh_harness(paths, listener_ports=...) → a started MeshHarness; all stopped at teardown."""
    started: list[MeshHarness] = []

    def make(paths: Iterable[str | Path], listener_ports: Mapping[str, int] | None = None,
             sidecar_port: int | None = None, **kwargs: Any) -> MeshHarness:
        options = TranslateOptions(listener_ports=dict(listener_ports or {}),
                                   sidecar_port=sidecar_port or free_port())
        harness = MeshHarness([FileSource([str(p) for p in paths], interval=0.01)], options, **kwargs)
        started.append(harness)
        return harness

    try:
        yield make
    finally:
        for harness in started:
            harness.stop()


def copy_tree(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


# ------------------------------------------------------------------------------------------ Envoy semantics


def envoy_virtual_host(domains_by_host: list[tuple[str, list[str]]], authority: str) -> str | None:
    """Which virtual host Envoy picks for a Host header: exact domain, then the longest `*suffix`, then the
    longest `prefix*`, then `*` (case-insensitive, port stripped as with strip_any_host_port)."""
    host = authority.lower()
    if host.startswith("["):
        host = host.split("]", 1)[0] + "]"
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    exact = suffix = prefix = star = None
    best_suffix = best_prefix = -1
    for name, domains in domains_by_host:
        for d in (d.lower() for d in domains):
            if d == "*":
                star = star or name
            elif d.startswith("*"):
                if host.endswith(d[1:]) and len(host) > len(d) - 1 and len(d) > best_suffix:
                    suffix, best_suffix = name, len(d)
            elif d.endswith("*"):
                if host.startswith(d[:-1]) and len(host) > len(d) - 1 and len(d) > best_prefix:
                    prefix, best_prefix = name, len(d)
            elif d == host:
                exact = exact or name
    return exact or suffix or prefix or star


# ------------------------------------------------------------------------------------------ differential


ONE_ROUTE_CONFIG = """
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualGateway
metadata: {name: gw, namespace: app}
spec:
  connectionHandlers:
  - http:
      routeConfig:
      - virtualHostSelector: {namespaces: [app]}
---
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualHost
metadata: {name: vh, namespace: app}
spec:
  domains: ["*"]
  routes:
  - name: NAME
    matchers: [{uri: {prefix: /NAME}}]
    directResponseAction: {status: 200, body: BODY}
EXTRA"""

# RE2 compiles it (so meshctl's validation passes) but its program is larger than Envoy's default limit (100).
BIG_REGEX = """  - name: big-regex
    matchers: [{uri: {regex: "/[a-z]{200}"}}]
    directResponseAction: {status: 200, body: big}
"""


def one_route_config(body: str, name: str = "probe", extra: str = "") -> str:
    """A gateway answering GET /<name> with 200 `body`; `extra` appends routes (e.g. BIG_REGEX)."""
    return ONE_ROUTE_CONFIG.replace("NAME", name).replace("BODY", body).replace("EXTRA", extra)


DIFF_NS = "diff"
_SEGMENTS = ["a", "b", "api", "v1", "v2", "x"]
# regexes the generator writes, with strings each one matches (for requests aimed at them)
_REGEXES = {"/a/[0-9]+": ["/a/7", "/a/42"], "/(a|b)/.*": ["/a/x", "/b/"], "/x/[a-z]{1,3}": ["/x/ab", "/x/abcd"],
            "/v[12]/.*": ["/v1/a", "/v2/"], "/[ab]": ["/a", "/b"], "/api/.+/x": ["/api/v1/x", "/api//x"]}
_SUFFIXES = ["/x", ".json", "b"]
_DOMAINS = ["a.test", "b.test", "*.w.test", "p.*", "*"]
_HOST_FOR = {"a.test": ["a.test", "A.Test", "a.test:8080"], "b.test": ["b.test"], "*.w.test": ["x.w.test", "deep.x.w.test"],
             "p.*": ["p.other", "p.w.test"], "*": ["other.test"], "c.test": ["c.test"]}


@dataclasses.dataclass
class DiffRequest:
    method: str
    host: str
    path: str
    headers: dict[str, str]

    def describe(self) -> str:
        extra = "".join(f" -H '{k}: {v}'" for k, v in self.headers.items())
        return f"{self.method} http://{self.host}{self.path}{extra}"


class RouteTreeGenerator:
    """Random Gloo route trees (delegation by refs and selectors over two tiers of RouteTables, table weights,
    both sort methods, exact/prefix/regex/suffix/header/query/method matchers, invalid-route policies);
    every leaf is a direct response whose body is its own id. Also requests aimed at the flattened routes."""

    def __init__(self, seed: int):
        import random

        self.rng = random.Random(seed)
        self.next_id = 0

    def _uid(self) -> str:
        self.next_id += 1
        return f"R{self.next_id}"

    def _path(self, depth: int) -> str:
        n = self.rng.randint(1, 2 if depth else 3)
        path = "/" + "/".join(self.rng.choice(_SEGMENTS) for _ in range(n))
        return path + ("/" if self.rng.random() < 0.2 else "")

    def _matcher(self, delegating: bool, top: bool, depth: int) -> dict[str, Any]:
        rng = self.rng
        m: dict[str, Any] = {}
        roll = rng.random()
        if delegating or roll < 0.5:
            uri: dict[str, Any] = {"prefix": self._path(depth)}
        elif roll < 0.72:
            uri = {"exact": self._path(depth)}
        elif roll < 0.92 or not top:
            uri = {"regex": rng.choice(list(_REGEXES))}
        else:
            uri = {"suffix": rng.choice(_SUFFIXES)}
        if not uri.get("regex") and rng.random() < 0.15:
            uri["ignoreCase"] = True
        if rng.random() < 0.92:
            m["uri"] = uri
        headers = []
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2] if not delegating else [0, 0, 0, 0, 1])):
            name = rng.choice(["x-a", "x-b"])
            kind = rng.choice(["exact", "regex", "present", "absent", "not"])
            h: dict[str, Any] = {"name": name}
            if kind == "exact":
                h["value"] = rng.choice(["1", "2"])
            elif kind == "regex":
                h.update(value=rng.choice(["[12]", "[0-9]+", "2|3"]), regex=True)
            elif kind == "absent":
                h["invertMatch"] = True
            elif kind == "not":
                h.update(value=rng.choice(["1", "2"]), invertMatch=True)
            headers.append(h)
        if headers:
            m["headers"] = headers
        if rng.random() < 0.2:
            q: dict[str, Any] = {"name": rng.choice(["q", "r"])}
            kind = rng.choice(["exact", "regex", "present"])
            if kind == "exact":
                q["value"] = rng.choice(["1", "abc"])
            elif kind == "regex":
                q.update(value="[0-9]+", regex=True)
            m["queryParameters"] = [q]
        if rng.random() < (0.15 if not delegating else 0.05):
            m["method"] = rng.choice(["GET", "POST"])
        return m

    def _routes(self, count: int, top: bool, depth: int, targets: list[dict[str, Any]], tier: int
                ) -> list[dict[str, Any]]:
        rng = self.rng
        routes = []
        for _ in range(count):
            uid = self._uid()
            delegate = bool(targets) and rng.random() < (0.45 if top else 0.3)
            route: dict[str, Any] = {"name": uid.lower(),
                                     "matchers": [self._matcher(delegate, top, depth) for _ in range(rng.choice([1, 1, 2]))]}
            if delegate:
                action: dict[str, Any] = {}
                if rng.random() < 0.6:
                    picked = rng.sample(targets, k=min(len(targets), rng.choice([1, 2])))
                    action["refs"] = [{"name": t["metadata"]["name"], "namespace": DIFF_NS} for t in picked]
                else:
                    action["selector"] = {"labels": {"tier": str(tier), "group": rng.choice(["g1", "g2"])},
                                          "namespaces": [DIFF_NS]}
                sort = rng.choice([None, "TABLE_WEIGHT", "ROUTE_SPECIFICITY"])
                if sort:
                    action["sortMethod"] = sort
                route["delegateAction"] = action
                for m in route["matchers"]:
                    m.setdefault("uri", {"prefix": self._path(depth)})
            else:
                route["directResponseAction"] = {"status": 200, "body": uid}
            routes.append(route)
        return routes

    def config(self) -> list[dict[str, Any]]:
        """The YAML documents of one random configuration."""
        rng = self.rng
        api = "networking.enterprise.mesh.gloo.solo.io/v1beta1"

        def table(name: str, tier: int) -> dict[str, Any]:
            return {"apiVersion": api, "kind": "RouteTable",
                    "metadata": {"name": name, "namespace": DIFF_NS,
                                 "labels": {"tier": str(tier), "group": rng.choice(["g1", "g2"])}},
                    "spec": {"weight": rng.choice([0, 0, 5, 10])}}

        # tier-1 tables may delegate to tier-2 tables, which delegate no further: no cycles
        tier2 = [table(f"t2-{i}", 2) for i in range(rng.randint(1, 3))]
        tier1 = [table(f"t1-{i}", 1) for i in range(rng.randint(1, 3))]
        for t in tier2:
            t["spec"]["routes"] = self._routes(rng.randint(1, 4), False, 2, [], 0)
        for t in tier1:
            t["spec"]["routes"] = self._routes(rng.randint(1, 4), False, 1, tier2, 2)
        domains = rng.sample(_DOMAINS, k=rng.randint(1, 3))
        vhosts = []
        for i, domain in enumerate(domains):
            extra = ["c.test"] if i == 0 and rng.random() < 0.3 else []
            spec: dict[str, Any] = {"domains": [domain, *extra],
                                    "routes": self._routes(rng.randint(2, 6), True, 0, tier1, 1)}
            policy = rng.choice([None, "drop", "directResponse", "directResponse"])
            if policy == "drop":
                spec["options"] = {"invalidRoutePolicy": {"drop": {}}}
            elif policy:
                spec["options"] = {"invalidRoutePolicy": {"directResponse": {"code": 418, "body": f"invalid {i}"}}}
            vhosts.append({"apiVersion": api, "kind": "VirtualHost",
                           "metadata": {"name": f"vh{i}", "namespace": DIFF_NS}, "spec": spec})
        gateway = {"apiVersion": api, "kind": "VirtualGateway", "metadata": {"name": "gw", "namespace": DIFF_NS},
                   "spec": {"connectionHandlers": [{"http": {"routeConfig": [
                       {"virtualHostSelector": {"namespaces": [DIFF_NS]}}]}}]}}
        return [gateway, *vhosts, *tier1, *tier2]

    def _aimed_path(self, m: Any) -> str:
        rng = self.rng
        if m.path_kind == "regex":
            for pattern, samples in _REGEXES.items():
                for written in (f"(?:{pattern})", pattern):  # under a delegating prefix the child is grouped
                    if m.path.endswith(written):
                        return m.path[: -len(written)].replace("\\", "") + rng.choice(samples)
            return "/a"
        if m.path_kind == "suffix":
            return "/" + rng.choice(_SEGMENTS) + m.path
        path = m.path
        if m.path_kind == "prefix" and rng.random() < 0.6:
            path = path.rstrip("/") + "/" + rng.choice(_SEGMENTS + ["7", "b.json"])
        if m.ignore_case and rng.random() < 0.5:
            path = path.upper()
        return path or "/"

    def request(self, view: Any) -> DiffRequest:
        """A request aimed at a random flattened route (mostly), perturbed now and then."""
        rng = self.rng
        vhosts = [v for v in view.gateways[0].virtual_hosts if v.routes] if view.gateways else []
        headers: dict[str, str] = {}
        query = ""
        method = rng.choice(["GET", "GET", "POST", "PUT"])
        if vhosts and rng.random() < 0.85:
            vhost = rng.choice(vhosts)
            route = rng.choice(vhost.routes)
            m = rng.choice(route.matchers)
            host = rng.choice(_HOST_FOR.get(rng.choice(vhost.domains), ["other.test"]))
            path = self._aimed_path(m)
            for h in m.headers:
                if h.invert and not h.value:
                    continue
                if rng.random() < 0.85:
                    value = h.value if not h.regex else rng.choice(["1", "2", "3", "12"])
                    headers[h.name] = value if not h.invert else rng.choice(["1", "2", "3"])
            if m.method and rng.random() < 0.85:
                method = m.method
            params = [f"{q.name}={q.value if q.value and not q.regex else rng.choice(['1', '12', 'abc'])}"
                      for q in m.query if rng.random() < 0.85]
            query = "&".join(params)
        else:
            host = rng.choice([h for hosts in _HOST_FOR.values() for h in hosts])
            path = "/" + "/".join(rng.choice(_SEGMENTS) for _ in range(rng.randint(0, 3)))
        for name in ("x-a", "x-b"):
            if rng.random() < 0.15:
                headers[name] = rng.choice(["1", "2", "3"])
        if rng.random() < 0.15:
            query = "&".join(filter(None, [query, rng.choice(["q=1", "r", "q=abc&q=1", "x=1", "q=%31", "r=a%20b"])]))
        return DiffRequest(method, host, path + ("?" + query if query else ""), headers)


def first_match_answer(view: Any, request: DiffRequest) -> tuple[int, str, str | None]:
    """(status, body, flattened route id) by brute force: the virtual host by Envoy's domain rules, then the first
    flattened route with a matcher that `meshctl.routing.evaluate.first_failure` lets through."""
    from meshctl.model.common import DirectResponseAction
    from meshctl.routing.evaluate import Request, first_failure

    gateway = view.gateways[0]
    name = envoy_virtual_host([(v.name, v.domains) for v in gateway.virtual_hosts], request.host)
    if name is None:
        return 404, "", None
    vhost = next(v for v in gateway.virtual_hosts if v.name == name)
    req = Request(method=request.method, authority=request.host, path=request.path, headers=dict(request.headers))
    for route in vhost.routes:
        for m in route.matchers:
            if first_failure(m, req) is not None:
                continue
            action = route.action
            assert isinstance(action, DirectResponseAction), route.id
            return action.status, action.body or "", route.id
    return 404, "", None


def sandbox_answer(sandbox: Any, request: DiffRequest) -> tuple[int, str, str | None]:
    """(status, body, flattened route id) from meshctl's request sandbox (meshctl.sandbox.Sandbox)."""
    from meshctl.routing.evaluate import Request

    result = sandbox.evaluate(Request(method=request.method, authority=request.host, path=request.path,
                                      headers=dict(request.headers)))
    route = result.route
    return int(result.status or 0), result.body or "", route.id if route is not None else None


@dataclasses.dataclass
class Disagreement:
    config: int
    request: DiffRequest
    sandbox: tuple[int, str, str | None]
    other: tuple[int, str] | tuple[int, str, str | None]  # Envoy's answer, or the brute-force first match
    kind: str  # "envoy" (Envoy answered differently) or "sandbox-index" (sandbox vs brute-force first match)


def run_differential(harness: MeshHarness, config_file: Path, client: HttpClient, seeds: Iterable[int],
                     requests_per_config: int, generator: Callable[[int], Any] | None = None
                     ) -> tuple[int, list[Disagreement]]:
    """Push config after config through the running harness and compare every answer with the sandbox's (which
    must also equal the brute-force first match); (requests, disagreements)."""
    from meshctl.routing.flatten import build_routing_view
    from meshctl.sandbox import Sandbox

    total = 0
    found: list[Disagreement] = []
    for seed in seeds:
        gen = (generator or RouteTreeGenerator)(seed)  # the v2 form: fixtures_v2.RouteTreeGeneratorV2
        config_file.write_text(yaml.safe_dump_all(gen.config(), sort_keys=False))
        harness.reload()
        snapshot = harness.workspace.snapshot
        view = build_routing_view(snapshot)
        sandbox = Sandbox(snapshot, view)
        for _ in range(requests_per_config):
            req = gen.request(view)
            status, body, _ = client.request(req.path, req.host, req.method, req.headers)
            total += 1
            expected = sandbox_answer(sandbox, req)
            brute = first_match_answer(view, req)
            if expected != brute:
                found.append(Disagreement(seed, req, expected, brute, "sandbox-index"))
            if (status, body) != expected[:2]:
                found.append(Disagreement(seed, req, expected, (status, body), "envoy"))
    return total, found
