"""Random Envoy RouteConfigurations written directly (no meshctl translation), and requests aimed at them.

Every route adds the response header x-route: VHOST/ROUTE, so the route Envoy took is visible on every answer
(proxied, redirect or direct response). Vocabularies are small on purpose: routes overlap and shadow each other.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

CLUSTERS = ("c0", "c1", "c2")
SEGMENTS = ("a", "b", "api", "v1", "A", "x.y", "Api")
HOSTS = ("www.example.com", "api.example.com", "foo.bar.org", "shop.example.net", "WWW.Example.com", "api.local",
         "x-a.example.com")
HEADER_NAMES = ("x-a", "x-b", "x-num", ":method", ":authority", ":path", "host", "x-forwarded-proto")
VALUES = ("1", "2", "abc", "ABC", "10", "x-1", "", "a,b")
QUERY_NAMES = ("q", "r")
QUERY_VALUES = ("1", "x", "X", "", "a%20b")
METHODS = ("GET", "POST", "PUT")
REDIRECT_CODES = ("MOVED_PERMANENTLY", "FOUND", "SEE_OTHER", "TEMPORARY_REDIRECT", "PERMANENT_REDIRECT")
TEMPLATE = "type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig"
TEMPLATE_REWRITE = "type.googleapis.com/envoy.extensions.path.rewrite.uri_template.v3.UriTemplateRewriteConfig"


@dataclass
class GeneratedRequest:
    method: str
    host: str
    path: str
    headers: list[tuple[str, str]] = field(default_factory=list)

    def describe(self) -> str:
        extra = "".join(f" -H '{k}: {v}'" for k, v in self.headers)
        return f"{self.method} http://{self.host}{self.path}{extra}"


class ConfigGenerator:
    def __init__(self, seed: int, listener_port: int) -> None:
        self.rnd = random.Random(seed)
        self.seed = seed
        self.listener_port = listener_port
        self.hcm: dict[str, Any] = {}
        self.config: dict[str, Any] = {}

    # -- pieces -------------------------------------------------------------------------------------
    def _path(self, depth: int | None = None) -> str:
        r = self.rnd
        return "/" + "/".join(r.choice(SEGMENTS) for _ in range(depth or r.randint(1, 3)))

    def _string_match(self) -> dict[str, Any]:
        r = self.rnd
        kind = r.choice(("exact", "prefix", "suffix", "contains", "safe_regex"))
        if kind == "safe_regex":
            out: dict[str, Any] = {"safe_regex": {"regex": r.choice(("[a-z]+", "[0-9]+", "a.*", "(abc|1)", ".*"))}}
        else:
            out = {kind: r.choice([v for v in VALUES if v] + ["x", "b"])}
        if r.random() < 0.3 and kind != "safe_regex":  # Envoy rejects ignore_case on safe_regex
            out["ignore_case"] = True
        return out

    def _header(self) -> dict[str, Any]:
        r = self.rnd
        name = r.choice(HEADER_NAMES)
        hm: dict[str, Any] = {"name": name}
        kind = r.random()
        if name == ":method":
            hm["string_match"] = {"exact": r.choice(METHODS)}
        elif kind < 0.5:
            hm["string_match"] = self._string_match()
        elif kind < 0.65:
            hm["present_match"] = r.random() < 0.7
        elif kind < 0.8:
            start = r.randint(0, 12)
            hm["range_match"] = {"start": start, "end": start + r.randint(1, 8)}
        elif kind < 0.9:
            hm["exact_match"] = r.choice([v for v in VALUES if v])
        else:
            pass  # name only: present
        if r.random() < 0.2:
            hm["invert_match"] = True
        if r.random() < 0.2 and "present_match" not in hm:
            hm["treat_missing_header_as_empty"] = True
        return hm

    def _query(self) -> dict[str, Any]:
        r = self.rnd
        qm: dict[str, Any] = {"name": r.choice(QUERY_NAMES)}
        if r.random() < 0.6:
            qm["string_match"] = self._string_match()
        else:
            qm["present_match"] = r.random() < 0.7
        return qm

    def _match(self) -> tuple[dict[str, Any], str]:
        r = self.rnd
        kind = r.choices(("prefix", "path", "safe_regex", "path_separated_prefix", "template"),
                         (5, 3, 2, 2, 1))[0]
        m: dict[str, Any]
        if kind == "prefix":
            m = {"prefix": r.choice(("/", self._path(), self._path() + "/", self._path()[:3]))}
        elif kind == "path":
            m = {"path": self._path()}
        elif kind == "safe_regex":
            m = {"safe_regex": {"regex": r.choice((self._path() + "/[0-9]+", "/api/.*", "/(a|b)/v1", self._path(),
                                                   "/[A-Za-z]+"))}}
        elif kind == "path_separated_prefix":
            m = {"path_separated_prefix": self._path()}
        else:
            m = {"path_match_policy": {"name": "envoy.path.match.uri_template.uri_template_matcher",
                                       "typed_config": {"@type": TEMPLATE, "path_template": r.choice(
                                           ("/{x}/v1", "/api/{name}", "/{a}/{b=**}", "/a/*/b", "/api/**"))}}}
        if kind != "safe_regex" and kind != "template" and r.random() < 0.25:
            m["case_sensitive"] = False
        if r.random() < 0.35:
            m["headers"] = [self._header() for _ in range(r.randint(1, 2))]
        if r.random() < 0.25:
            m["query_parameters"] = [self._query() for _ in range(r.randint(1, 2))]
        if r.random() < 0.08:
            m["grpc"] = {}
        if r.random() < 0.1:
            m["runtime_fraction"] = {"default_value": {"numerator": r.choice((0, 100, 50)), "denominator": "HUNDRED"},
                                     "runtime_key": f"diff.r{self.rnd.randint(0, 999)}"}
        return m, kind

    def _action(self, route: dict[str, Any], kind: str) -> None:
        r = self.rnd
        roll = r.random()
        if roll < 0.55:
            action: dict[str, Any] = {}
            if r.random() < 0.2:
                action["weighted_clusters"] = {"clusters": [{"name": c, "weight": r.randint(0, 5)} for c in
                                                            r.sample(CLUSTERS, 2)]}
                if all(c["weight"] == 0 for c in action["weighted_clusters"]["clusters"]):
                    action["weighted_clusters"]["clusters"][0]["weight"] = 1
            elif r.random() < 0.1:
                action["cluster_header"] = "x-cluster"
            elif r.random() < 0.05:
                action["cluster"] = "c-missing"  # Envoy answers cluster_not_found_response_code
            else:
                action["cluster"] = r.choice(CLUSTERS)
            rewrite = r.random()
            if kind == "template" and rewrite < 0.4:
                template = route["match"]["path_match_policy"]["typed_config"]["path_template"]
                names = [p[1:].split("=")[0].rstrip("}") for p in template.split("/") if p.startswith("{")]
                if names:
                    action["path_rewrite_policy"] = {
                        "name": "envoy.path.rewrite.uri_template.uri_template_rewriter",
                        "typed_config": {"@type": TEMPLATE_REWRITE,
                                         "path_template_rewrite": "/r/" + "/".join("{" + n + "}" for n in names)}}
            elif kind != "template" and rewrite < 0.3:
                action["prefix_rewrite"] = r.choice(("/", "/new", "/new/", ""))
                if action["prefix_rewrite"] == "":
                    del action["prefix_rewrite"]
            elif kind != "template" and rewrite < 0.45:
                action["regex_rewrite"] = {"pattern": {"regex": r.choice(("a", "^/(\\w+)", "[0-9]+", "/v1"))},
                                           "substitution": r.choice(("X", "/\\1/z", "\\0\\0", ""))}
            host = r.random()
            if host < 0.15:
                action["host_rewrite_literal"] = r.choice(("upstream.local", "rewritten.example.com"))
            elif host < 0.25:
                action["host_rewrite_header"] = "x-host"
            elif host < 0.3:
                action["host_rewrite_path_regex"] = {"pattern": {"regex": "^/(\\w+).*$"}, "substitution": "\\1.svc"}
            route["route"] = action
            if r.random() < 0.25:
                route["request_headers_to_add"] = [self._added("route")]
        elif roll < 0.8:
            redirect: dict[str, Any] = {}
            if r.random() < 0.3:
                redirect["https_redirect"] = True
            elif r.random() < 0.15:
                redirect["scheme_redirect"] = r.choice(("http", "https", "ftp"))
            if r.random() < 0.3:
                redirect["host_redirect"] = r.choice(("other.example.com", "moved.local"))
            if r.random() < 0.2:
                redirect["port_redirect"] = r.choice((8443, 80, 9000))
            p = r.random()
            if p < 0.3:
                redirect["path_redirect"] = r.choice(("/moved", "/moved?x=1", "moved", "/"))
            elif p < 0.45 and kind != "template":
                redirect["prefix_rewrite"] = r.choice(("/p", "/p/", "/"))
            elif p < 0.55:
                redirect["regex_rewrite"] = {"pattern": {"regex": "a"}, "substitution": "B"}
            if r.random() < 0.7:
                redirect["response_code"] = r.choice(REDIRECT_CODES)
            if r.random() < 0.3:
                redirect["strip_query"] = True
            route["redirect"] = redirect
        else:
            status = r.choice((200, 201, 302, 403, 418, 503))
            dr: dict[str, Any] = {"status": status}
            if r.random() < 0.7:
                dr["body"] = {"inline_string": r.choice(("hello", "nope", "teapot", "{}"))}
            route["direct_response"] = dr

    def _added(self, level: str) -> dict[str, Any]:
        return {"header": {"key": "x-added", "value": level},
                "append_action": self.rnd.choice(("APPEND_IF_EXISTS_OR_ADD", "ADD_IF_ABSENT",
                                                  "OVERWRITE_IF_EXISTS_OR_ADD", "OVERWRITE_IF_EXISTS"))}

    def route_config(self) -> dict[str, Any]:
        r = self.rnd
        domains_left = ["www.example.com", "api.example.com", "foo.bar.org", "api.local", "*.example.com",
                        "*-a.example.com", "api.*", "www.*", "*.org", "shop.example.net", "*"]
        r.shuffle(domains_left)
        vhosts = []
        for j in range(r.randint(1, 3)):
            take = [domains_left.pop() for _ in range(min(len(domains_left), r.randint(1, 3)))]
            if not take:
                break
            if r.random() < 0.3:
                take.append(f"{take[0].replace('*', 'wild')}:{self.listener_port}")
            routes = []
            for i in range(r.randint(2, 10)):
                match, kind = self._match()
                route: dict[str, Any] = {"name": f"r{i}", "match": match,
                                         "response_headers_to_add": [{"header": {"key": "x-route",
                                                                                 "value": f"v{j}/r{i}"}}]}
                self._action(route, kind)
                routes.append(route)
            vhost: dict[str, Any] = {"name": f"v{j}", "domains": take, "routes": routes}
            if r.random() < 0.1:
                vhost["require_tls"] = "ALL"
            if r.random() < 0.25:
                vhost["request_headers_to_add"] = [self._added("vhost")]
            vhosts.append(vhost)
        # validate_clusters off: a route to a missing cluster must reach Envoy (answered 503), not be refused
        rc: dict[str, Any] = {"name": f"rc{self.seed}", "virtual_hosts": vhosts, "validate_clusters": False}
        if r.random() < 0.25:
            rc["request_headers_to_add"] = [self._added("config")]
        if r.random() < 0.2:
            rc["most_specific_header_mutations_wins"] = True
        if r.random() < 0.3:
            rc["ignore_port_in_host_matching"] = True
        if r.random() < 0.3:
            rc["ignore_path_parameters_in_path_matching"] = True
        hcm: dict[str, Any] = {}
        roll = r.random()
        if roll < 0.3:
            hcm["strip_any_host_port"] = True
        elif roll < 0.5:
            hcm["strip_matching_host_port"] = True
        if r.random() < 0.3:
            hcm["merge_slashes"] = True
        self.hcm, self.config = hcm, rc
        return rc

    # -- requests ------------------------------------------------------------------------------------
    def _host(self) -> str:
        r = self.rnd
        vh = r.choice(self.config["virtual_hosts"])
        domain = r.choice(vh["domains"]).split(":")[0]
        if domain == "*":
            host = r.choice(HOSTS)
        elif domain.startswith("*"):
            host = r.choice(("x", "deep.y", "", "b-a")) + domain[1:]
            host = host if not host.startswith(".") and host != domain[1:] else "z" + host
        elif domain.endswith("*"):
            host = domain[:-1] + r.choice(("com", "x.y", "local"))
        else:
            host = domain
        if r.random() < 0.15:
            host = host.upper()
        if r.random() < 0.1:
            host = r.choice(HOSTS)
        if r.random() < 0.25:
            host += f":{r.choice((self.listener_port, 8080, 80))}"
        return host

    def _path_for(self, match: dict[str, Any]) -> str:
        r = self.rnd
        if "prefix" in match:
            base = match["prefix"] + r.choice(("", "x", "/b", "/1"))
        elif "path" in match:
            base = match["path"]
        elif "path_separated_prefix" in match:
            base = match["path_separated_prefix"] + r.choice(("", "/", "/x", "x"))
        elif "safe_regex" in match:
            base = r.choice(("/a/v1", "/api/x", "/b/v1", "/A/12", "/api/v1/3", self._path() + "/7"))
        else:
            template = match["path_match_policy"]["typed_config"]["path_template"]
            base = "/" + "/".join(r.choice(SEGMENTS) if "{" in s or "*" in s else s for s in template.split("/")[1:])
        if match.get("case_sensitive") is False or r.random() < 0.1:
            base = "".join(c.upper() if r.random() < 0.5 else c for c in base)
        if r.random() < 0.1:
            base = base.replace("/", "//", 1)
        if r.random() < 0.08:
            base += ";p=1"
        if r.random() < 0.1:
            base = self._path()
        return base or "/"

    def request(self) -> GeneratedRequest:
        r = self.rnd
        vh = r.choice(self.config["virtual_hosts"])
        route = r.choice(vh["routes"])
        match = route["match"]
        method = r.choice(METHODS)
        path = self._path_for(match)
        headers: list[tuple[str, str]] = []
        query: list[str] = []
        for hm in match.get("headers", []):
            name = hm["name"]
            if name == ":method":
                if r.random() < 0.7:
                    method = hm["string_match"]["exact"]
                continue
            if name.startswith(":") or name == "host":
                continue
            if r.random() < 0.75:
                value = self._value_for(hm)
                if value or name != "x-forwarded-proto":  # empty: not modelled (see answer.unmodelled)
                    headers.append((name, value))
        for qm in match.get("query_parameters", []):
            if r.random() < 0.75:
                value = r.choice(QUERY_VALUES)
                sm = qm.get("string_match", {})
                for k in ("exact", "prefix", "suffix", "contains"):
                    if k in sm and r.random() < 0.6:
                        value = sm[k]
                query.append(f"{qm['name']}={value}" if r.random() < 0.9 else qm["name"])
        if r.random() < 0.2:
            query.append(f"{r.choice(QUERY_NAMES)}={r.choice(QUERY_VALUES)}")
        if query:
            path += "?" + "&".join(query)
        if match.get("grpc") is not None and r.random() < 0.7:
            headers.append(("content-type", r.choice(("application/grpc", "application/grpc+proto"))))
        if r.random() < 0.15:
            headers.append(("x-cluster", r.choice(CLUSTERS)))
        if r.random() < 0.15:
            headers.append(("x-host", "from-header.local"))
        if r.random() < 0.1:
            headers.append(("x-forwarded-proto", "https"))
        if r.random() < 0.2:
            headers.append(("x-added", "client"))
        if r.random() < 0.1:
            headers.append((r.choice(("x-a", "x-b", "x-num")), r.choice([v for v in VALUES if v])))
        names = set()
        unique = []
        for k, v in headers:
            if k not in names:
                names.add(k)
                unique.append((k, v))
        return GeneratedRequest(method, self._host(), path, unique)

    def _value_for(self, hm: dict[str, Any]) -> str:
        r = self.rnd
        if "range_match" in hm:
            return str(r.randint(hm["range_match"]["start"] - 1, hm["range_match"]["end"]))
        sm = hm.get("string_match") or {}
        for k in ("exact", "prefix", "suffix", "contains"):
            if k in sm and r.random() < 0.7:
                v = sm[k]
                return v.upper() if sm.get("ignore_case") and r.random() < 0.5 else v
        if "exact_match" in hm and r.random() < 0.7:
            return hm["exact_match"]
        return r.choice(VALUES)
