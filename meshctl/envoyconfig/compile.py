"""A RouteConfiguration (plain dict, snake_case) compiled into routes objects; what is not modelled is recorded.

Fields that change which route is taken or what it does are either modelled or named per route as
"unmodelled: ..."; fields that do not change the answer (timeouts, retries, hash policy, ...) are ignored.
"""

from __future__ import annotations

import base64
from typing import Any

from ..model.regex import regex_error
from .routes import (
    DirectTarget,
    EnvoyRoute,
    EnvoyRouteConfig,
    EnvoyVirtualHost,
    HeaderMatch,
    PathMatch,
    QueryMatch,
    RedirectTarget,
    RouteTarget,
    StringMatch,
    VirtualCluster,
    WeightedTarget,
)
from .source import EnvoyConfigError

REDIRECT_CODES = {"MOVED_PERMANENTLY": 301, "FOUND": 302, "SEE_OTHER": 303, "TEMPORARY_REDIRECT": 307,
                  "PERMANENT_REDIRECT": 308}
_REDIRECT_BY_NUMBER = {0: 301, 1: 302, 2: 303, 3: 307, 4: 308}
_DENOMINATORS = {"HUNDRED": 100, "TEN_THOUSAND": 10_000, "MILLION": 1_000_000, 0: 100, 1: 10_000, 2: 1_000_000}
_CLUSTER_NOT_FOUND = {"SERVICE_UNAVAILABLE": 503, "NOT_FOUND": 404, "INTERNAL_SERVER_ERROR": 500}

_PATH_KINDS = ("prefix", "path", "safe_regex", "path_separated_prefix", "path_match_policy", "connect_matcher")
_MATCH_KNOWN = {*_PATH_KINDS, "case_sensitive", "runtime_fraction", "headers", "query_parameters", "grpc"}
_MATCH_UNMODELLED = ("tls_context", "dynamic_metadata", "filter_state", "cookies")
# RouteAction fields that do not change which cluster is chosen or how the request is rewritten
_ACTION_IRRELEVANT = {
    "metadata_match", "timeout", "idle_timeout", "retry_policy", "retry_policy_typed_config", "request_mirror_policies",
    "priority", "rate_limits", "include_vh_rate_limits", "hash_policy", "cors", "max_grpc_timeout",
    "grpc_timeout_offset", "upgrade_configs", "internal_redirect_policy", "internal_redirect_action",
    "max_internal_redirects", "hedge_policy", "max_stream_duration", "append_x_forwarded_host",
    "early_data_policy", "request_mirror_policy", "grpc_timeout_header_max", "grpc_timeout_header_offset",
}
_ACTION_KNOWN = {"cluster", "cluster_header", "weighted_clusters", "prefix_rewrite", "regex_rewrite",
                 "path_rewrite_policy", "host_rewrite_literal", "host_rewrite_header", "host_rewrite_path_regex",
                 "auto_host_rewrite", "cluster_not_found_response_code"}
_ROUTE_KNOWN = {"name", "match", "route", "redirect", "direct_response", "non_forwarding_action", "filter_action",
                "request_headers_to_add", "request_headers_to_remove", "response_headers_to_add",
                "response_headers_to_remove", "@type"}
_ROUTE_IRRELEVANT = {"metadata", "decorator", "typed_per_filter_config", "tracing", "per_request_buffer_limit_bytes",
                     "stat_prefix", "request_body_buffer_limit"}


class Compiler:
    """Compiles one RouteConfiguration; `where` is the field path of the configuration inside its file."""

    def __init__(self, source: str, where: str) -> None:
        self.source = source
        self.where = where

    def fail(self, path: str, message: str) -> EnvoyConfigError:
        return EnvoyConfigError(f"{self.source}: {self.where}{path}: {message}")

    # -- small typed getters ------------------------------------------------------------------
    def mapping(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {type(value).__name__}")
        return value

    def listing(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(path, f"expected a list, got {type(value).__name__}")
        return value

    def text(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise self.fail(path, f"expected a string, got {type(value).__name__}")
        return value

    def integer(self, value: Any, path: str) -> int:
        if isinstance(value, bool):
            raise self.fail(path, "expected an integer, got a boolean")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.lstrip("-").isdigit():  # proto3 JSON writes 64-bit integers as text
            return int(value)
        if isinstance(value, dict) and "value" in value:  # a wrapper type written as {value: N}
            return self.integer(value["value"], path + ".value")
        raise self.fail(path, f"expected an integer, got {value!r:.40}")

    def boolean(self, value: Any, path: str, default: bool = False) -> bool:
        if value is None:
            return default
        if isinstance(value, dict) and "value" in value:  # BoolValue
            value = value["value"]
        if not isinstance(value, bool):
            raise self.fail(path, f"expected true or false, got {value!r:.40}")
        return value

    def regex(self, value: Any, path: str) -> str:
        spec = self.mapping(value, path)
        pattern = self.text(spec.get("regex"), path + ".regex")
        err = regex_error(pattern)
        if err:
            raise self.fail(path + ".regex", f"RE2 rejects {pattern!r}: {err}")
        return pattern

    # -- matchers -----------------------------------------------------------------------------
    def string_match(self, value: Any, path: str) -> StringMatch:
        spec = self.mapping(value, path)
        ignore = self.boolean(spec.get("ignore_case"), path + ".ignore_case")
        for kind in ("exact", "prefix", "suffix", "contains"):
            if kind in spec:
                return StringMatch(kind, self.text(spec[kind], f"{path}.{kind}"), ignore)
        if "safe_regex" in spec:
            if ignore:
                raise self.fail(path + ".ignore_case", "ignore_case has no effect for safe_regex (Envoy rejects it)")
            return StringMatch("regex", self.regex(spec["safe_regex"], path + ".safe_regex"), ignore)
        raise self.fail(path, "no match kind (expected exact, prefix, suffix, contains or safe_regex)")

    def header_match(self, value: Any, path: str) -> HeaderMatch:
        spec = self.mapping(value, path)
        name = self.text(spec.get("name"), path + ".name").lower()
        hm = HeaderMatch(name, invert=self.boolean(spec.get("invert_match"), path + ".invert_match"),
                         missing_as_empty=self.boolean(spec.get("treat_missing_header_as_empty"),
                                                       path + ".treat_missing_header_as_empty"))
        if "string_match" in spec:
            hm.string = self.string_match(spec["string_match"], path + ".string_match")
        elif "present_match" in spec:
            hm.present = self.boolean(spec["present_match"], path + ".present_match")
        elif "range_match" in spec:
            r = self.mapping(spec["range_match"], path + ".range_match")
            hm.range = (self.integer(r.get("start", 0), path + ".range_match.start"),
                        self.integer(r.get("end", 0), path + ".range_match.end"))
        elif "safe_regex_match" in spec:
            hm.string = StringMatch("regex", self.regex(spec["safe_regex_match"], path + ".safe_regex_match"))
        else:
            for old, kind in (("exact_match", "exact"), ("prefix_match", "prefix"), ("suffix_match", "suffix"),
                              ("contains_match", "contains")):
                if old in spec:
                    hm.string = StringMatch(kind, self.text(spec[old], f"{path}.{old}"))
                    break
            else:
                hm.present = True  # a name alone: the header must be present
        return hm

    def query_match(self, value: Any, path: str) -> QueryMatch:
        spec = self.mapping(value, path)
        qm = QueryMatch(self.text(spec.get("name"), path + ".name"))
        if "string_match" in spec:
            qm.string = self.string_match(spec["string_match"], path + ".string_match")
        elif "present_match" in spec:
            qm.present = self.boolean(spec["present_match"], path + ".present_match")
        return qm

    def path_match(self, spec: dict[str, Any], path: str, route: EnvoyRoute) -> PathMatch:
        ignore = not self.boolean(spec.get("case_sensitive"), path + ".case_sensitive", default=True)
        kinds = [k for k in _PATH_KINDS if k in spec]
        if len(kinds) != 1:
            raise self.fail(path, "give exactly one of " + ", ".join(_PATH_KINDS) +
                            (f" (got {', '.join(kinds)})" if kinds else ""))
        kind = kinds[0]
        if kind == "safe_regex":
            return PathMatch("safe_regex", self.regex(spec[kind], path + ".safe_regex"))
        if kind == "path_match_policy":
            policy = self.mapping(spec[kind], path + ".path_match_policy")
            config = policy.get("typed_config") or {}
            template = config.get("path_template") if isinstance(config, dict) else None
            if isinstance(template, str) and str(config.get("@type", "")).endswith("UriTemplateMatchConfig"):
                return PathMatch("uri_template", template)
            route.unmodelled_match.append(f"match.path_match_policy {policy.get('name', '')}".rstrip())
            return PathMatch("none", "")
        if kind == "connect_matcher":
            route.unmodelled_match.append("match.connect_matcher (CONNECT requests only)")
            return PathMatch("connect", "")
        return PathMatch(kind, self.text(spec[kind], f"{path}.{kind}"), ignore)

    def fraction(self, value: Any, path: str) -> tuple[int, int, str]:
        spec = self.mapping(value, path)
        default = self.mapping(spec.get("default_value") or {}, path + ".default_value")
        numerator = self.integer(default.get("numerator", 0), path + ".default_value.numerator")
        denominator = _DENOMINATORS.get(default.get("denominator", "HUNDRED"))
        if denominator is None:
            raise self.fail(path + ".default_value.denominator", f"unknown denominator {default.get('denominator')!r}")
        return numerator, denominator, str(spec.get("runtime_key", ""))

    # -- headers to add -----------------------------------------------------------------------
    def header_options(self, value: Any, path: str) -> list[tuple[str, str, str]]:
        out = []
        for i, item in enumerate(self.listing(value, path)):
            item = self.mapping(item, f"{path}[{i}]")
            header = self.mapping(item.get("header") or {}, f"{path}[{i}].header")
            action = item.get("append_action")
            if action is None:
                append = item.get("append")
                append = append.get("value") if isinstance(append, dict) else append
                action = "OVERWRITE_IF_EXISTS_OR_ADD" if append is False else "APPEND_IF_EXISTS_OR_ADD"
            out.append((str(header.get("key", "")).lower(), str(header.get("value", "")), str(action)))
        return out

    # -- actions ------------------------------------------------------------------------------
    def rewrite_regex(self, value: Any, path: str) -> tuple[str, str]:
        spec = self.mapping(value, path)
        return (self.regex(spec.get("pattern"), path + ".pattern"),
                self.text(spec.get("substitution", ""), path + ".substitution"))

    def route_action(self, spec: dict[str, Any], path: str, route: EnvoyRoute) -> RouteTarget:
        t = RouteTarget()
        if "cluster" in spec:
            t.cluster = self.text(spec["cluster"], path + ".cluster")
        elif "cluster_header" in spec:
            t.cluster_header = self.text(spec["cluster_header"], path + ".cluster_header").lower()
        elif "weighted_clusters" in spec:
            wc = self.mapping(spec["weighted_clusters"], path + ".weighted_clusters")
            for i, c in enumerate(self.listing(wc.get("clusters"), path + ".weighted_clusters.clusters")):
                cp = f"{path}.weighted_clusters.clusters[{i}]"
                c = self.mapping(c, cp)
                if "cluster_header" in c:
                    route.unmodelled.append("weighted_clusters cluster_header")
                t.weighted.append(WeightedTarget(str(c.get("name", "")), self.integer(c.get("weight", 0), cp + ".weight"),
                                                 c.get("host_rewrite_literal")))
            if "header_name" in wc:
                t.weighted_header = str(wc["header_name"]).lower()
            if "runtime_key_prefix" in wc:
                route.unmodelled.append("weighted_clusters.runtime_key_prefix (weights may be overridden at runtime)")
        else:
            plugin = next((k for k in spec if "cluster_specifier_plugin" in k), None)
            route.unmodelled.append(f"route.{plugin or 'cluster specifier'} (cluster chosen by a plugin)")
        if "prefix_rewrite" in spec:
            t.prefix_rewrite = self.text(spec["prefix_rewrite"], path + ".prefix_rewrite")
        if "regex_rewrite" in spec:
            t.regex_rewrite = self.rewrite_regex(spec["regex_rewrite"], path + ".regex_rewrite")
        if "path_rewrite_policy" in spec:
            policy = self.mapping(spec["path_rewrite_policy"], path + ".path_rewrite_policy")
            config = policy.get("typed_config") or {}
            template = config.get("path_template_rewrite") if isinstance(config, dict) else None
            if isinstance(template, str) and route.path.kind == "uri_template":
                t.template_rewrite = template
            else:
                route.unmodelled.append(f"route.path_rewrite_policy {policy.get('name', '')}".rstrip())
        if "host_rewrite_literal" in spec:
            t.host_rewrite_literal = self.text(spec["host_rewrite_literal"], path + ".host_rewrite_literal")
        if "host_rewrite_header" in spec:
            t.host_rewrite_header = self.text(spec["host_rewrite_header"], path + ".host_rewrite_header").lower()
        if "host_rewrite_path_regex" in spec:
            t.host_rewrite_path_regex = self.rewrite_regex(spec["host_rewrite_path_regex"],
                                                           path + ".host_rewrite_path_regex")
        if self.boolean(spec.get("auto_host_rewrite"), path + ".auto_host_rewrite"):
            t.auto_host_rewrite = True
            route.unmodelled.append("route.auto_host_rewrite (Host becomes the chosen endpoint's hostname)")
        code = spec.get("cluster_not_found_response_code")
        if code is not None:
            t.cluster_not_found_code = _CLUSTER_NOT_FOUND.get(code, {0: 503, 1: 404, 2: 500}.get(code, 503))
        for key in spec:
            if key not in _ACTION_KNOWN and key not in _ACTION_IRRELEVANT and "cluster_specifier_plugin" not in key:
                route.unmodelled.append(f"route.{key}")
        return t

    def redirect(self, spec: dict[str, Any], path: str) -> RedirectTarget:
        r = RedirectTarget()
        if "scheme_redirect" in spec:
            r.scheme = self.text(spec["scheme_redirect"], path + ".scheme_redirect").lower()
        elif self.boolean(spec.get("https_redirect"), path + ".https_redirect"):
            r.scheme = "https"
        if "host_redirect" in spec:
            r.host = self.text(spec["host_redirect"], path + ".host_redirect")
        if "port_redirect" in spec:
            r.port = self.integer(spec["port_redirect"], path + ".port_redirect") or None
        if "path_redirect" in spec:
            r.path = self.text(spec["path_redirect"], path + ".path_redirect")
        elif "prefix_rewrite" in spec:
            r.prefix_rewrite = self.text(spec["prefix_rewrite"], path + ".prefix_rewrite")
        elif "regex_rewrite" in spec:
            r.regex_rewrite = self.rewrite_regex(spec["regex_rewrite"], path + ".regex_rewrite")
        code = spec.get("response_code", "MOVED_PERMANENTLY")
        status = REDIRECT_CODES.get(code) if isinstance(code, str) else _REDIRECT_BY_NUMBER.get(code)
        if status is None:
            raise self.fail(path + ".response_code", f"unknown redirect code {code!r}")
        r.status = status
        r.strip_query = self.boolean(spec.get("strip_query"), path + ".strip_query")
        return r

    def direct(self, spec: dict[str, Any], path: str, route: EnvoyRoute) -> DirectTarget:
        status = self.integer(spec.get("status", 0), path + ".status")
        body: str | None = None
        source = spec.get("body")
        if isinstance(source, dict):
            if "inline_string" in source:
                body = str(source["inline_string"])
            elif "inline_bytes" in source:
                try:
                    body = base64.b64decode(source["inline_bytes"]).decode("utf-8", "replace")
                except (ValueError, TypeError):
                    raise self.fail(path + ".body.inline_bytes", "not base64") from None
            else:
                route.unmodelled.append("direct_response.body " + ", ".join(source) + " (body not read)")
        if "body_format" in spec:
            route.unmodelled.append("direct_response.body_format")
        return DirectTarget(status, body)

    # -- routes, virtual hosts, the configuration ---------------------------------------------
    def route(self, raw: Any, index: int, vhost: str, path: str) -> EnvoyRoute:
        spec = self.mapping(raw, path)
        match = self.mapping(spec.get("match") if spec.get("match") is not None else {}, path + ".match")
        route = EnvoyRoute(index, str(spec.get("name", "")), vhost, PathMatch("none", ""), raw=spec)
        route.path = self.path_match(match, path + ".match", route)
        route.headers = tuple(self.header_match(h, f"{path}.match.headers[{i}]")
                              for i, h in enumerate(self.listing(match.get("headers"), path + ".match.headers")))
        route.query = tuple(self.query_match(q, f"{path}.match.query_parameters[{i}]") for i, q in
                            enumerate(self.listing(match.get("query_parameters"), path + ".match.query_parameters")))
        route.grpc = "grpc" in match
        if "runtime_fraction" in match:
            route.runtime = self.fraction(match["runtime_fraction"], path + ".match.runtime_fraction")
        for key in match:
            if key in _MATCH_UNMODELLED or (key not in _MATCH_KNOWN):
                route.unmodelled_match.append(f"match.{key}")
        if "route" in spec:
            route.kind = "route"
            route.target = self.route_action(self.mapping(spec["route"], path + ".route"), path + ".route", route)
        elif "redirect" in spec:
            route.kind = "redirect"
            route.target = self.redirect(self.mapping(spec["redirect"], path + ".redirect"), path + ".redirect")
        elif "direct_response" in spec:
            route.kind = "direct_response"
            route.target = self.direct(self.mapping(spec["direct_response"], path + ".direct_response"),
                                       path + ".direct_response", route)
        elif "non_forwarding_action" in spec:
            route.kind = "non_forwarding"
            route.unmodelled.append("non_forwarding_action (a filter answers)")
        elif "filter_action" in spec:
            route.kind = "filter_action"
            route.unmodelled.append("filter_action (a filter answers)")
        else:
            raise self.fail(path, "no action (expected route, redirect, direct_response, ...)")
        for key in spec:
            if key not in _ROUTE_KNOWN and key not in _ROUTE_IRRELEVANT:
                route.unmodelled.append(key)
        route.request_headers_to_add = self.header_options(spec.get("request_headers_to_add"),
                                                           path + ".request_headers_to_add")
        route.request_headers_to_remove = [str(h).lower() for h in spec.get("request_headers_to_remove") or []]
        route.response_headers_to_add = self.header_options(spec.get("response_headers_to_add"),
                                                            path + ".response_headers_to_add")
        return route

    def virtual_host(self, raw: Any, path: str) -> EnvoyVirtualHost:
        spec = self.mapping(raw, path)
        name = str(spec.get("name", ""))
        domains = [self.text(d, f"{path}.domains[{i}]")
                   for i, d in enumerate(self.listing(spec.get("domains"), path + ".domains"))]
        routes = [self.route(r, i, name, f"{path}.routes[{i}]")
                  for i, r in enumerate(self.listing(spec.get("routes"), path + ".routes"))]
        vh = EnvoyVirtualHost(name, domains, routes)
        tls = spec.get("require_tls", "NONE")
        vh.require_tls = {0: "NONE", 1: "EXTERNAL_ONLY", 2: "ALL"}.get(tls, tls) if not isinstance(tls, str) else tls
        for i, vc in enumerate(self.listing(spec.get("virtual_clusters"), path + ".virtual_clusters")):
            vcp = f"{path}.virtual_clusters[{i}]"
            vc = self.mapping(vc, vcp)
            vh.virtual_clusters.append(VirtualCluster(
                str(vc.get("name", "")),
                tuple(self.header_match(h, f"{vcp}.headers[{j}]")
                      for j, h in enumerate(self.listing(vc.get("headers"), vcp + ".headers")))))
        vh.request_headers_to_add = self.header_options(spec.get("request_headers_to_add"),
                                                        path + ".request_headers_to_add")
        vh.request_headers_to_remove = [str(h).lower() for h in spec.get("request_headers_to_remove") or []]
        vh.response_headers_to_add = self.header_options(spec.get("response_headers_to_add"),
                                                         path + ".response_headers_to_add")
        if "matcher" in spec:
            vh.unmodelled.append("virtual host matcher (generic matching API): routes are chosen by it")
        return vh

    def route_config(self, raw: Any) -> EnvoyRouteConfig:
        spec = self.mapping(raw, "")
        vhosts = [self.virtual_host(v, f".virtual_hosts[{i}]")
                  for i, v in enumerate(self.listing(spec.get("virtual_hosts"), ".virtual_hosts"))]
        rc = EnvoyRouteConfig(str(spec.get("name", "")), vhosts)
        rc.ignore_port_in_host_matching = self.boolean(spec.get("ignore_port_in_host_matching"),
                                                       ".ignore_port_in_host_matching")
        rc.ignore_path_parameters = self.boolean(spec.get("ignore_path_parameters_in_path_matching"),
                                                 ".ignore_path_parameters_in_path_matching")
        rc.most_specific_header_mutations_wins = self.boolean(spec.get("most_specific_header_mutations_wins"),
                                                              ".most_specific_header_mutations_wins")
        rc.request_headers_to_add = self.header_options(spec.get("request_headers_to_add"), ".request_headers_to_add")
        rc.request_headers_to_remove = [str(h).lower() for h in spec.get("request_headers_to_remove") or []]
        rc.response_headers_to_add = self.header_options(spec.get("response_headers_to_add"),
                                                         ".response_headers_to_add")
        if spec.get("vhds"):
            rc.notes.append("virtual hosts delivered by VHDS are not in the dump's route configuration")
        return rc


def compile_route_config(raw: Any, source: str, where: str = "") -> EnvoyRouteConfig:
    return Compiler(source, where).route_config(raw)
