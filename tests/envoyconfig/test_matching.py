"""The Envoy matcher, table-tested: virtual hosts, header/query semantics, runtime fractions, rewrites and
redirects; and the route index gives the same answer as a scan of every route (random configurations)."""

from __future__ import annotations

from typing import Any

import pytest

from meshctl.envoyconfig.answer import answer, regex_replace_all
from meshctl.envoyconfig.matching import Matcher, routed_request, scan
from meshctl.envoyconfig.select import envoy_config_from_data
from meshctl.sandbox.request import build_request

from .generator import ConfigGenerator


def matcher_for(rc: dict[str, Any], hcm: dict[str, Any] | None = None, port: int = 8080) -> Matcher:
    if hcm is None:
        return Matcher(envoy_config_from_data(rc, "rc").select().route_config)
    listener = {"name": "l", "address": {"socket_address": {"port_value": port}}, "filter_chains": [{"filters": [
        {"name": "envoy.filters.network.http_connection_manager", "typed_config": {**hcm, "route_config": rc}}]}]}
    return Matcher(envoy_config_from_data({"static_resources": {"listeners": [listener]}}, "b").select().route_config)


def ask(m: Matcher, url_host: str, path: str = "/", method: str = "GET", headers: tuple = (),
        random_value: int | None = None) -> Any:
    return answer(m, build_request(method, "http", url_host, path, list(headers)), "t", random_value)


def one_route(match: dict[str, Any], **action: Any) -> dict[str, Any]:
    action = action or {"route": {"cluster": "c"}}
    return {"virtual_hosts": [{"name": "v", "domains": ["*"], "routes": [
        {"name": "r", "match": match, **action}, {"name": "fallback", "match": {"prefix": "/"},
                                                  "direct_response": {"status": 299}}]}]}


DOMAINS = {"virtual_hosts": [
    {"name": "any", "domains": ["*"], "routes": []},
    {"name": "suffix-long", "domains": ["*-bar.example.com"], "routes": []},
    {"name": "suffix", "domains": ["*.example.com"], "routes": []},
    {"name": "prefix", "domains": ["api.*"], "routes": []},
    {"name": "exact", "domains": ["www.example.com", "with.port:8080"], "routes": []},
]}


@pytest.mark.parametrize("host, vhost", [
    ("www.example.com", "exact"), ("WWW.Example.COM", "exact"), ("foo-bar.example.com", "suffix-long"),
    ("x.example.com", "suffix"), (".example.com", "any"), ("api.example.com", "suffix"), ("api.local", "prefix"),
    ("other", "any"), ("www.example.com:8080", "any"), ("with.port:8080", "exact"),
])
def test_virtual_host_selection(host: str, vhost: str) -> None:
    assert ask(matcher_for(DOMAINS), host).host.virtual_host.name == vhost


def test_ports_strip_as_configured() -> None:
    rc = {**DOMAINS, "ignore_port_in_host_matching": True}
    assert ask(matcher_for(rc), "www.example.com:9").host.virtual_host.name == "exact"
    strip = matcher_for(DOMAINS, {"strip_matching_host_port": True}, port=8080)
    assert ask(strip, "www.example.com:8080").host.virtual_host.name == "exact"
    assert ask(strip, "www.example.com:9").host.virtual_host.name == "any"
    assert ask(matcher_for(DOMAINS, {"strip_any_host_port": True}), "www.example.com:9").host.virtual_host.name == \
        "exact"


@pytest.mark.parametrize("header, headers, taken", [
    ({"name": "x", "string_match": {"exact": "a"}, "invert_match": True}, (), False),  # missing fails, inverted too
    ({"name": "x", "string_match": {"exact": "a"}, "invert_match": True}, (("x", "b"),), True),
    ({"name": "x", "string_match": {"exact": ""}, "treat_missing_header_as_empty": True}, (), True),
    ({"name": "x", "present_match": False}, (), True),
    ({"name": "x", "present_match": True, "invert_match": True}, (("x", "1"),), False),
    ({"name": "x", "range_match": {"start": "-5", "end": "10"}}, (("x", "-5"),), True),
    ({"name": "x", "range_match": {"start": 0, "end": 10}}, (("x", "10"),), False),
    ({"name": "x", "range_match": {"start": 0, "end": 10}}, (("x", "1.5"),), False),
    ({"name": "x", "string_match": {"prefix": "AB", "ignore_case": True}}, (("x", "abc"),), True),
    ({"name": "x", "string_match": {"safe_regex": {"regex": "a+"}}}, (("x", "aab"),), False),  # full match
    ({"name": "x"}, (("x", ""),), True),
    ({"name": ":method", "string_match": {"exact": "POST"}}, (), False),
    ({"name": ":authority", "string_match": {"suffix": ".com"}}, (), True),
])
def test_header_matchers(header: dict, headers: tuple, taken: bool) -> None:
    a = ask(matcher_for(one_route({"prefix": "/", "headers": [header]})), "h.com", "/", headers=headers)
    assert (a.route.name == "r") is taken


@pytest.mark.parametrize("query, path, taken", [
    ({"name": "q", "present_match": False}, "/", True),
    ({"name": "q", "present_match": False}, "/?q", False),
    ({"name": "q", "string_match": {"exact": "a%20b"}}, "/?q=a%20b", True),  # undecoded
    ({"name": "q", "string_match": {"exact": "1"}}, "/?q=2&q=1", False),  # first value only
    ({"name": "q"}, "/?q", True),
])
def test_query_matchers(query: dict, path: str, taken: bool) -> None:
    a = ask(matcher_for(one_route({"prefix": "/", "query_parameters": [query]})), "h", path)
    assert (a.route.name == "r") is taken


@pytest.mark.parametrize("match, path, taken", [
    ({"path_separated_prefix": "/api"}, "/api/x", True),
    ({"path_separated_prefix": "/api"}, "/apix", False),
    ({"path_separated_prefix": "/api"}, "/api?x", True),
    ({"path": "/a", "case_sensitive": False}, "/A?x=1", True),
    ({"safe_regex": {"regex": "/a/[0-9]+"}}, "/a/12?b", True),
    ({"path_match_policy": {"name": "t", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig",
        "path_template": "/{x}/v1/**"}}}, "/shop/v1/a/b", True),
])
def test_path_matchers(match: dict, path: str, taken: bool) -> None:
    assert (ask(matcher_for(one_route(match)), "h", path).route.name == "r") is taken


def test_runtime_fraction_depends_on_runtime_unless_random_value_given() -> None:
    m = matcher_for(one_route({"prefix": "/", "runtime_fraction": {"default_value": {"numerator": 30}}}))
    a = ask(m, "h")
    assert a.route.name == "fallback" and "depends on runtime" in a.decision.uncertain[0][1]
    assert ask(m, "h", random_value=29).route.name == "r"
    assert ask(m, "h", random_value=30).route.name == "fallback"


def test_rewrites_and_clusters() -> None:
    m = matcher_for(one_route({"prefix": "/api/"}, route={"cluster": "c", "prefix_rewrite": "/v2/",
                                                         "host_rewrite_literal": "up"}))
    a = ask(m, "h", "/api/x?y")
    assert (a.upstream_path, a.upstream_host, a.cluster) == ("/v2/x?y", "up", "c")
    m = matcher_for(one_route({"prefix": "/"}, route={"weighted_clusters": {"clusters": [
        {"name": "a", "weight": 1}, {"name": "b", "weight": 3}]}}))
    assert [ask(m, "h", random_value=v).cluster for v in (0, 1, 4)] == ["a", "b", "a"]
    assert regex_replace_all("^/(\\w+)/", "/\\1-x/", "/ab/c") == "/ab-x/c"


@pytest.mark.parametrize("redirect, url, location", [
    ({"https_redirect": True}, ("h:80", "/p?q"), "https://h/p?q"),
    ({"host_redirect": "o", "port_redirect": 9, "strip_query": True}, ("h", "/p?q"), "http://o:9/p"),
    ({"path_redirect": "/n?z=1", "strip_query": True}, ("h", "/p?q"), "http://h/n?z=1"),
    ({"prefix_rewrite": "/new"}, ("h:8080", "/old/x?q"), "http://h:8080/new/x?q"),
    ({"scheme_redirect": "https", "response_code": "PERMANENT_REDIRECT"}, ("h:443", "/"), "https://h:443/"),
])
def test_redirect_location(redirect: dict, url: tuple, location: str) -> None:
    m = matcher_for(one_route({"prefix": "/old"} if "prefix_rewrite" in redirect else {"prefix": "/"},
                              redirect=redirect))
    a = ask(m, *url)
    assert a.location == location


def test_direct_response_with_3xx_gets_a_location() -> None:
    a = ask(matcher_for(one_route({"prefix": "/"}, direct_response={"status": 302})), "h", "/x")
    assert (a.status, a.location, a.body) == (302, "http://h/x", "")


@pytest.mark.parametrize("seed", range(1, 31))
def test_index_answers_like_a_scan(seed: int) -> None:
    gen = ConfigGenerator(seed, 8080)
    m = matcher_for(gen.route_config(), gen.hcm)
    for _ in range(60):
        g = gen.request()
        req = build_request(g.method, "http", g.host, g.path, g.headers)
        a = answer(m, req)
        if a.host is None:
            continue
        r = routed_request(m.rc, req)
        if not a.decision.uncertain:
            assert a.decision.position == scan(a.host.virtual_host.routes, r), g.describe()


def test_an_unmodelled_path_policy_is_uncertain_not_a_miss() -> None:
    m = matcher_for(one_route({"path_match_policy": {"name": "custom", "typed_config": {"@type": "x.Custom"}}}))
    a = ask(m, "h", "/anything")
    assert a.route.name == "fallback"
    assert a.decision.uncertain and "unmodelled: match.path_match_policy custom" in a.decision.uncertain[0][1]


def test_route_table_names_full_and_partial_shadowing() -> None:
    from meshctl.envoyconfig.shadow import route_table

    rc = {"virtual_hosts": [{"name": "v", "domains": ["www.example.com"], "routes": [
        {"name": "api", "match": {"prefix": "/api"}, "route": {"cluster": "a"}},
        {"name": "api-v1", "match": {"prefix": "/api/v1"}, "route": {"cluster": "b"}},
        {"name": "canary", "match": {"prefix": "/x", "headers": [{"name": "x-c", "string_match": {"exact": "1"}}]},
         "route": {"cluster": "b"}},
        {"name": "x", "match": {"prefix": "/x/"}, "route": {"cluster": "a"}},
        {"name": "other", "match": {"path": "/o"}, "route": {"cluster": "a"}},
    ]}]}
    rows = {row.route.name: row for row in route_table(matcher_for(rc).rc)}
    assert rows["api-v1"].shadowed and rows["api-v1"].full and rows["api-v1"].taker.name == "api"
    assert rows["x"].shadowed and not rows["x"].full and rows["x"].taker.name == "canary"
    assert rows["x"].witness.describe() == "GET http://www.example.com/x/ -H 'x-c: 1'"
    assert not rows["other"].shadowed and rows["other"].witness is not None
