"""Translation to Envoy resources, table by table: matchers, actions, options, clusters, roles, ports, dump JSON."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from envoy_data_plane.envoy.config.cluster.v3 import ClusterDiscoveryType
from envoy_data_plane.envoy.config.core.v3 import HealthStatus
from fixtures_e2e import RouteTreeGenerator

from meshctl.model.snapshot import load_snapshot, snapshot_from_text
from meshctl.routing.matchers import EffectiveMatcher, HeaderCondition, QueryCondition
from meshctl.xds import codec
from meshctl.xds.cache import NodeInfo, prepare
from meshctl.xds.translate import NodeRole, TranslateOptions, Translator, translate
from meshctl.xds.translate_json import format_duration, json_name, to_json
from meshctl.xds.translate_proto import validating
from meshctl.xds.translate_routes import route_match

GATEWAY = """
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
  domains: [app.test]
  routes:
ROUTES
"""

DISCOVERY = """
---
apiVersion: meshctl.io/v1alpha1
kind: Cluster
metadata: {name: c1}
spec:
  locality: {region: r1, zone: z1}
  services:
  - name: web
    namespace: app
    labels: {app: web}
    ports: [{name: http, port: 80}]
    endpoints:
    - {address: 10.0.0.1, labels: {app: web, version: v1}}
    - {address: 10.0.0.2, labels: {app: web, version: v2}, healthy: false}
  - name: sink
    namespace: app
    ports: [{name: http, port: 81}]
    endpoints: [{address: 10.0.0.9}]
---
apiVersion: meshctl.io/v1alpha1
kind: Cluster
metadata: {name: c2}
spec:
  locality: {region: r2, zone: z2}
  services:
  - name: web
    namespace: app
    labels: {app: web}
    ports: [{name: http, port: 80}]
    endpoints: [{address: 10.0.1.1, labels: {app: web, version: v3}}]
"""

WEB_V1 = "{kubeService: {name: web, namespace: app, clusterName: c1, subset: {version: v1}}}"


def gateway_routes(routes_yaml: str, extra: str = "", node: NodeInfo | None = None, **options: object):
    text = GATEWAY.replace("ROUTES", routes_yaml) + DISCOVERY + extra
    resources = translate(snapshot_from_text(text), node or NodeInfo("n", "gateway"), TranslateOptions(**options))
    assert len(resources.routes) == 1
    return resources, [to_json(r) for vh in resources.routes[0].virtual_hosts for r in vh.routes]


# ------------------------------------------------------------------------------------------ matchers

M = EffectiveMatcher


@pytest.mark.parametrize("matcher, expected", [
    (M("prefix", "/a"), {"prefix": "/a"}),
    (M("exact", "/a/b", ignore_case=True), {"path": "/a/b", "caseSensitive": False}),
    # Envoy ignores case_sensitive for regexes (and so does the sandbox): the pattern stays as written
    (M("regex", "/a/[0-9]+", ignore_case=True), {"safeRegex": {"regex": "/a/[0-9]+"}, "caseSensitive": False}),
    (M("suffix", ".json"), {"safeRegex": {"regex": ".*\\.json"}}),
    (M("suffix", "/X", ignore_case=True), {"safeRegex": {"regex": "(?i).*/X"}}),
    (M("prefix", "/", method="POST"),
     {"prefix": "/", "headers": [{"name": ":method", "stringMatch": {"exact": "POST"}}]}),
    (M("prefix", "/", headers=(HeaderCondition("x-a", "1"), HeaderCondition("x-b", "[0-9]+", regex=True))),
     {"prefix": "/", "headers": [{"name": "x-a", "stringMatch": {"exact": "1"}},
                                 {"name": "x-b", "stringMatch": {"safeRegex": {"regex": "[0-9]+"}}}]}),
    (M("prefix", "/", headers=(HeaderCondition("x-a"),)), {"prefix": "/", "headers": [{"name": "x-a", "presentMatch": True}]}),
    # absent: a presence match that must fail, without invert_match
    (M("prefix", "/", headers=(HeaderCondition("x-a", invert=True),)),
     {"prefix": "/", "headers": [{"name": "x-a", "presentMatch": False}]}),
    (M("prefix", "/", headers=(HeaderCondition("x-a", "1", invert=True),)),
     {"prefix": "/", "headers": [{"name": "x-a", "stringMatch": {"exact": "1"}, "invertMatch": True}]}),
    (M("prefix", "/", query=(QueryCondition("q"), QueryCondition("r", "1"), QueryCondition("s", "[a-z]", True))),
     {"prefix": "/", "queryParameters": [{"name": "q", "presentMatch": True},
                                         {"name": "r", "stringMatch": {"exact": "1"}},
                                         {"name": "s", "stringMatch": {"safeRegex": {"regex": "[a-z]"}}}]}),
])
def test_route_match(matcher: EffectiveMatcher, expected: dict) -> None:
    fast = route_match(matcher)
    assert to_json(fast) == expected
    with validating():  # the same message through the validating constructors
        assert codec.encode(route_match(matcher)) == codec.encode(fast)


# ------------------------------------------------------------------------------------------ actions and options


def test_redirects_direct_responses_and_names() -> None:
    _, routes = gateway_routes("""
  - name: full
    matchers: [{uri: {exact: /old}}, {uri: {prefix: /older}}]
    redirectAction: {hostRedirect: new.test, pathRedirect: /new, responseCode: PERMANENT_REDIRECT,
                     httpsRedirect: true, stripQuery: true}
  - name: prefix
    matchers: [{uri: {prefix: /docs/}}]
    redirectAction: {prefixRewrite: /manual/, responseCode: SEE_OTHER}
  - matchers: [{uri: {prefix: /empty}}]
    directResponseAction: {status: 204}
""")
    full = {"hostRedirect": "new.test", "pathRedirect": "/new", "httpsRedirect": True,
            "responseCode": "PERMANENT_REDIRECT", "stripQuery": True}
    assert [r["name"] for r in routes] == ["VirtualHost/app/vh#full~1", "VirtualHost/app/vh#full~2",
                                           "VirtualHost/app/vh#prefix", "VirtualHost/app/vh#2"]
    assert routes[0]["redirect"] == full and routes[1]["redirect"] == full
    assert routes[2]["redirect"] == {"prefixRewrite": "/manual/", "responseCode": "SEE_OTHER"}
    assert routes[3]["directResponse"] == {"status": 204}  # no body at all, not an empty one


@pytest.mark.parametrize("uri, expected", [
    ("{prefix: /api}", {"prefixRewrite": "/v2"}),
    ("{exact: /api/status}", {"prefixRewrite": "/v2"}),  # Envoy swaps the whole (exact) path
    ("{regex: '/api/[0-9]+'}", {"regexRewrite": {"pattern": {"regex": "^.*$"}, "substitution": "/v2"}}),
])
def test_path_rewrite_by_matcher_kind(uri: str, expected: dict) -> None:
    _, [route] = gateway_routes(f"""
  - matchers: [{{uri: {uri}}}]
    routeAction: {{destinations: [{WEB_V1}], pathRewrite: /v2}}
""")
    action = route["route"]
    assert action.pop("cluster") == "outbound|80|version-v1|web.app.svc.c1"
    assert action == expected


def test_weighted_destinations_and_options() -> None:
    resources, [route, zero] = gateway_routes("""
  - matchers: [{uri: {prefix: /}}]
    routeAction:
      destinations:
      - {weight: 3, kubeService: {name: web, namespace: app, clusterName: c1, subset: {version: v1}},
         options: {headerManipulation: {appendRequestHeaders: {x-v: "1"}}}}
      - {weight: 1, kubeService: {name: web, namespace: app, clusterName: c1, subset: {version: v2}}}
      - {weight: 0, kubeService: {name: sink, namespace: app}}
    options:
      requestTimeout: 1.5s
      retries: {attempts: 2, perTryTimeout: 250ms}
      faultInjection: {fixedDelay: 2s, percentage: 12.5}
      mirror: {kubeService: {name: sink, namespace: app, clusterName: c1}, percentage: 50}
      headerManipulation: {removeResponseHeaders: [server], appendResponseHeaders: {x-r: "1"}}
  - matchers: [{uri: {prefix: /zero}}]
    routeAction: {destinations: [{weight: 0, kubeService: {name: web, namespace: app}}]}
""")
    action = route["route"]
    assert action["weightedClusters"]["clusters"] == [
        {"name": "outbound|80|version-v1|web.app.svc.c1", "weight": 3,
         "requestHeadersToAdd": [{"header": {"key": "x-v", "value": "1"}}]},
        {"name": "outbound|80|version-v2|web.app.svc.c1", "weight": 1}]  # weight 0 left out
    assert action["timeout"] == "1.500s"
    assert action["retryPolicy"] == {
        "retryOn": "5xx,connect-failure,reset", "numRetries": 2, "perTryTimeout": "0.250s",
        "retryHostPredicate": [{"name": "envoy.retry_host_predicates.previous_hosts", "typedConfig": {
            "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"}}],
        "hostSelectionRetryMaxAttempts": "5"}
    assert action["requestMirrorPolicies"] == [{"cluster": "outbound|81||sink.app.svc.c1", "runtimeFraction": {
        "defaultValue": {"numerator": 500000, "denominator": "MILLION"}}}]
    assert route["responseHeadersToAdd"] == [{"header": {"key": "x-r", "value": "1"}}]
    assert route["responseHeadersToRemove"] == ["server"]
    fault = route["typedPerFilterConfig"]["envoy.filters.http.fault"]
    assert fault["delay"] == {"fixedDelay": "2s", "percentage": {"numerator": 125000, "denominator": "MILLION"}}
    assert zero["directResponse"]["status"] == 503  # nothing to forward to
    assert any("no destination has a weight above 0" in n for n in resources.notes)
    # every cluster a route uses (the mirror's too) is served, and retries raise the retry circuit breaker
    clusters = {c.name: c for c in resources.clusters}
    assert set(clusters) == {"outbound|80|version-v1|web.app.svc.c1", "outbound|80|version-v2|web.app.svc.c1",
                             "outbound|81||sink.app.svc.c1"}
    assert all(c.circuit_breakers.thresholds[0].max_retries == 1024 for c in clusters.values())


def test_retry_remote_localities_adds_the_previous_priorities_retry_priority() -> None:
    _, [remote, plain] = gateway_routes(f"""
  - matchers: [{{uri: {{prefix: /remote}}}}]
    routeAction: {{destinations: [{WEB_V1}]}}
    options: {{retries: {{attempts: 3, retryRemoteLocalities: true}}}}
  - matchers: [{{uri: {{prefix: /}}}}]
    routeAction: {{destinations: [{WEB_V1}]}}
    options: {{retries: {{attempts: 3, retryRemoteLocalities: false}}}}
""")
    assert remote["route"]["retryPolicy"]["retryPriority"] == {
        "name": "envoy.retry_priorities.previous_priorities", "typedConfig": {
            "@type": "type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3."
                     "PreviousPrioritiesConfig", "updateFrequency": 2}}
    assert "retryPriority" not in plain["route"]["retryPolicy"]


def test_retries_without_attempts_and_cors() -> None:
    _, [route] = gateway_routes(f"""
  - matchers: [{{uri: {{prefix: /}}}}]
    routeAction: {{destinations: [{WEB_V1}]}}
    options:
      retries: {{attempts: 0}}
      corsPolicy: {{allowOrigins: [{{prefix: "https://", ignoreCase: true}}], allowMethods: [GET, POST],
                   exposeHeaders: [x-a], maxAge: 1m, allowCredentials: true}}
""")
    assert "retryPolicy" not in route["route"]
    assert route["typedPerFilterConfig"]["envoy.filters.http.cors"] == {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
        "allowOriginStringMatch": [{"prefix": "https://", "ignoreCase": True}], "allowMethods": "GET,POST",
        "exposeHeaders": "x-a", "maxAge": "60", "allowCredentials": True}


def test_invalid_route_policy_and_duplicate_domains() -> None:
    extra = """
---
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualHost
metadata: {name: vh2, namespace: app}
spec:
  domains: [APP.test, other.test]
  options: {invalidRoutePolicy: {directResponse: {code: 418, body: broken}}}
  routes:
  - matchers: [{uri: {prefix: /}}]
"""
    resources, routes = gateway_routes("""
  - matchers: [{uri: {prefix: /}}]
    directResponseAction: {status: 200, body: ok}
""", extra)
    vhosts = {v.name: v for v in resources.routes[0].virtual_hosts}
    assert vhosts["app/vh2"].domains == ["other.test"]  # app.test is vh's: Envoy would reject it twice
    assert any("'APP.test' is already served by app/vh" in n for n in resources.notes)
    assert to_json(vhosts["app/vh2"].routes[0])["directResponse"] == {"status": 418, "body": {"inlineString": "broken"}}


# ------------------------------------------------------------------------------------------ clusters


def test_endpoint_health_priorities_and_overrides() -> None:
    extra = """
---
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualDestination
metadata: {name: web-global, namespace: app}
spec:
  hostname: web.global
  port: {number: 80, protocol: http}
  localized:
    outlierDetection: {consecutiveErrors: 2, interval: 5s, baseEjectionTime: 30s, maxEjectionPercent: 50}
    destinationSelectors: [{kubeServiceMatcher: {labels: {app: web}}}]
"""
    routes = """
  - matchers: [{uri: {prefix: /vd}}]
    routeAction: {destinations: [{virtualDestination: {name: web-global, namespace: app}}]}
  - matchers: [{uri: {prefix: /}}]
    routeAction: {destinations: [{kubeService: {name: web, namespace: app, clusterName: c1}}]}
"""

    def assignments(locality: tuple[str, str, str], overrides=None) -> dict[str, list[tuple[int, str, list]]]:
        text = GATEWAY.replace("ROUTES", routes) + DISCOVERY + extra
        res = Translator(snapshot_from_text(text)).node_resources(NodeInfo("n", "gateway", locality), overrides)
        return {cla.cluster_name: [(lep.priority, lep.locality.region,
                                    [(e.endpoint.address.socket_address.address, e.health_status)
                                     for e in lep.lb_endpoints]) for lep in cla.endpoints]
                for cla in res.endpoints}

    east = assignments(("r1", "z1", ""))
    assert east["outbound|80||web.global"] == [
        (0, "r1", [("10.0.0.1", HealthStatus.UNKNOWN), ("10.0.0.2", HealthStatus.UNHEALTHY)]),
        (1, "r2", [("10.0.1.1", HealthStatus.UNKNOWN)])]
    west = assignments(("r2", "z2", ""))
    assert [(p, r) for p, r, _ in west["outbound|80||web.global"]] == [(0, "r2"), (1, "r1")]
    # a plain service without outlier detection: one priority, whatever the client's locality
    assert [(p, r) for p, r, _ in west["outbound|80||web.app.svc.c1"]] == [(0, "r1")]
    overridden = assignments(("r1", "z1", ""), {("10.0.0.1", 80): HealthStatus.UNHEALTHY,
                                                ("10.0.0.2", 80): HealthStatus.HEALTHY})
    assert overridden["outbound|80||web.global"][0][2] == [("10.0.0.1", HealthStatus.UNHEALTHY),
                                                           ("10.0.0.2", HealthStatus.HEALTHY)]


def test_external_services_dns_and_endpoint_clusters() -> None:
    extra = """
---
apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata: {name: api, namespace: app}
spec: {hosts: [api.example.com], ports: [{number: 443, name: https}]}
---
apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata: {name: db, namespace: app}
spec: {hosts: [db.external], ports: [{number: 80, name: http}], selector: {app: db}}
---
apiVersion: networking.gloo.solo.io/v2
kind: ExternalEndpoint
metadata: {name: db-host, namespace: app, labels: {app: db}}
spec: {address: db1.internal, ports: [{name: http, number: 5432}], locality: {region: r1}}
"""
    text = GATEWAY.replace("ROUTES", "  - matchers: [{uri: {prefix: /}}]\n    directResponseAction: {status: 200}") + \
        DISCOVERY + extra
    res = translate(snapshot_from_text(text), NodeInfo("n", "sidecar:app/client@c1"))
    clusters = {c.name: c for c in res.clusters}
    api = clusters["outbound|443||api.example.com"]
    assert api.type == ClusterDiscoveryType.STRICT_DNS  # no endpoints: resolve the host
    assert api.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address == "api.example.com"
    db = clusters["outbound|80||db.external"]  # an endpoint given by name needs DNS too, locality kept
    assert db.type == ClusterDiscoveryType.STRICT_DNS and db.load_assignment.endpoints[0].locality.region == "r1"
    assert "outbound|80||db.external" not in {e.cluster_name for e in res.endpoints}  # no EDS for DNS clusters
    snapshot = res.snapshot("v")
    assert snapshot.inconsistencies() == []


# ------------------------------------------------------------------------------------------ roles, ports, sidecars


@pytest.mark.parametrize("text, role", [
    ("gateway", NodeRole("gateway")), ("gateway:*", NodeRole("gateway")), ("", NodeRole("gateway")),
    ("meshctl", NodeRole("gateway")), ("gateway:ns/gw", NodeRole("gateway", "ns/gw")),
    ("sidecar:bookinfo/productpage@cluster-1", NodeRole("sidecar", "bookinfo/productpage", "cluster-1")),
    ("sidecar:bookinfo/productpage", NodeRole("sidecar", "bookinfo/productpage")),
])
def test_node_role(text: str, role: NodeRole) -> None:
    assert NodeRole.parse(text) == role
    assert NodeRole.parse(str(role)) == role


def _two_gateways(selected_port: bool) -> str:
    gw2 = GATEWAY.replace("name: gw,", "name: gw2,").replace("name: vh,", "name: vh2,").replace(
        "app.test", "two.test").replace("ROUTES", "  - matchers: [{uri: {prefix: /}}]\n    directResponseAction: {status: 200}")
    text = GATEWAY.replace("ROUTES", "  - matchers: [{uri: {prefix: /}}]\n    directResponseAction: {status: 200}")
    docs = list(yaml.safe_load_all(text + "---" + gw2))
    gateways = [d for d in docs if d["kind"] == "VirtualGateway"]
    gateways[0]["spec"]["connectionHandlers"][0]["http"]["routeConfig"][0]["virtualHostSelector"] = {
        "namespaces": ["app"], "labels": {"gw": "one"}}
    gateways[1]["spec"]["connectionHandlers"][0]["http"]["routeConfig"][0]["virtualHostSelector"] = {
        "namespaces": ["app"], "labels": {"gw": "two"}}
    for d in docs:
        if d["kind"] == "VirtualHost":
            d["metadata"]["labels"] = {"gw": "one" if d["metadata"]["name"] == "vh" else "two"}
    if selected_port:
        for g in gateways:
            g["spec"]["ingressGatewaySelectors"] = [{"portName": "http", "destinationSelectors": [
                {"kubeServiceMatcher": {"labels": {"app": "web"}, "clusters": ["c1"]}}]}]
    return yaml.safe_dump_all(docs) + DISCOVERY


def test_listener_ports_per_gateway() -> None:
    snapshot = snapshot_from_text(_two_gateways(selected_port=False))
    t = Translator(snapshot, TranslateOptions(listener_port=9000))
    assert t.gateway_ports() == {"app/gw": 9000, "app/gw2": 9001}  # no discovery: one port each, in order
    assert t.gateway_ports(base_port=7000) == {"app/gw": 7000, "app/gw2": 7001}  # node metadata
    res = t.node_resources(NodeInfo("n", "gateway:app/gw2"))
    assert [l.name for l in res.listeners] == ["gateway_9001"]
    # a node asking for a port (metadata) gets it for its first gateway, whichever that is
    res = t.node_resources(NodeInfo("n", "gateway:app/gw2", metadata={"listener_port": 7000.0}))
    assert [l.name for l in res.listeners] == ["gateway_7000"]
    assert [v.domains for v in res.routes[0].virtual_hosts] == [["two.test"]]
    t = Translator(snapshot, TranslateOptions(listener_ports={"app/gw": 1234}))
    assert t.gateway_ports() == {"app/gw": 1234, "app/gw2": 8081}


def test_gateways_on_one_discovered_port_share_a_listener() -> None:
    t = Translator(snapshot_from_text(_two_gateways(selected_port=True)))
    assert t.gateway_ports() == {"app/gw": 80, "app/gw2": 80}  # the web Service's port named http
    res = t.node_resources(NodeInfo("n", "gateway"))
    assert [l.name for l in res.listeners] == ["gateway_80"]
    assert sorted(d for v in res.routes[0].virtual_hosts for d in v.domains) == ["app.test", "two.test"]
    assert any("share port 80" in n for n in res.notes)
    assert res.locality is not None and res.locality.region == "r1"  # the ingress Service's cluster


def test_sidecar_hosts_shift_and_policies() -> None:
    extra = """
---
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualDestination
metadata: {name: web-global, namespace: app}
spec:
  hostname: web.global
  port: {number: 80, protocol: http}
  localized: {destinationSelectors: [{kubeServiceMatcher: {labels: {app: web}}}]}
---
apiVersion: networking.mesh.gloo.solo.io/v1
kind: TrafficPolicy
metadata: {name: shift, namespace: app}
spec:
  destinationSelector: [{kubeServiceRefs: {services: [{clusterName: c1, name: web, namespace: app}]}}]
  policy:
    trafficShift: {destinations: [{virtualDestination: {name: web-global, namespace: app}}]}
    retries: {attempts: 3}
"""
    text = GATEWAY.replace("ROUTES", "  - matchers: [{uri: {prefix: /}}]\n    directResponseAction: {status: 200}") + \
        DISCOVERY + extra
    for workload, short in (("app/client@c1", True), ("other/client@c1", False)):
        res = translate(snapshot_from_text(text), NodeInfo("n", f"sidecar:{workload}"))
        vhosts = {v.name: v for v in res.routes[0].virtual_hosts}
        web = vhosts["app/web@c1"]
        assert ("web" in web.domains) is short  # the short name only from the same namespace
        assert "web.app.svc.cluster.local" in web.domains
        route = to_json(web.routes[0])
        assert route["name"] == "TrafficPolicy/app/shift#trafficShift"
        assert route["route"]["cluster"] == "outbound|80||web.global" and route["route"]["retryPolicy"]["numRetries"] == 3
        assert vhosts["app/web@c2"].domains == ["web.app.svc.c2.global"]
        assert vhosts["app/web-global"].domains == ["web.global"]
        assert res.locality is not None and res.locality.region == "r1"
        assert [l.name for l in res.listeners] == ["sidecar_15001"]


# ------------------------------------------------------------------------------------------ encoding and reuse


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_fast_construction_equals_validated(seed: int) -> None:
    """Messages built without pydantic validation serialize exactly like validated ones."""
    gen = RouteTreeGenerator(seed)
    snapshots = [load_snapshot([], demo=True), snapshot_from_text(yaml.safe_dump_all(gen.config()))]
    nodes = [NodeInfo("n", "gateway", ("us-east-1", "us-east-1a", "")),
             NodeInfo("n", "sidecar:bookinfo/productpage@cluster-1")]
    for snapshot in snapshots:
        for node in nodes:
            fast = prepare(Translator(snapshot).snapshot_for(node), codec.ResourcePacker())
            with validating():
                slow = prepare(Translator(snapshot).snapshot_for(node), codec.ResourcePacker())
            for type_url in codec.PUSH_ORDER:
                assert {n: p.payload for n, p in fast.types[type_url].resources.items()} == \
                       {n: p.payload for n, p in slow.types[type_url].resources.items()}


def test_unchanged_clusters_are_reused_across_snapshots() -> None:
    from meshctl.xds.translate_clusters import ClusterMemo

    memo = ClusterMemo()
    packer = codec.ResourcePacker()
    node = NodeInfo("n", "gateway", ("us-east-1", "us-east-1a", ""))
    first = Translator(load_snapshot([], demo=True), memo=memo).node_resources(node)
    prepare(first.snapshot(), packer)
    packed = packer.packed_count
    memo.sweep()
    second = Translator(load_snapshot([], demo=True), memo=memo).node_resources(node)
    assert [id(c) for c in second.clusters] == [id(c) for c in first.clusters]
    assert [id(e) for e in second.endpoints] == [id(e) for e in first.endpoints]
    prepare(second.snapshot(), packer)
    # only the listener and route configuration were encoded again
    assert packer.packed_count - packed == len(second.listeners) + len(second.routes)


def test_demo_snapshots_are_consistent() -> None:
    t = Translator(load_snapshot([], demo=True))
    for cluster in ("gateway", "gateway:gloo-mesh/demo-gateway", "sidecar:bookinfo/productpage@cluster-1"):
        res = t.node_resources(NodeInfo("n", cluster, ("us-east-2", "us-east-2b", "")))
        assert res.snapshot().inconsistencies() == []
        assert res.listeners and res.routes and res.clusters


# ------------------------------------------------------------------------------------------ dump JSON and core rules


@pytest.mark.parametrize("name, expected", [("consecutive_5xx", "consecutive5xx"), ("per_try_timeout", "perTryTimeout"),
                                            ("name", "name"), ("typed_per_filter_config", "typedPerFilterConfig")])
def test_json_names_follow_protobuf(name: str, expected: str) -> None:
    assert json_name(name) == expected


def test_duration_format() -> None:
    import datetime

    assert [format_duration(datetime.timedelta(seconds=s)) for s in (1, 1.5, 0.000001, 120)] == \
        ["1s", "1.500s", "0.000001s", "120s"]


def test_translation_core_imports_no_grpc() -> None:
    code = ("import sys, meshctl.xds.translate, meshctl.xds.translate_json; "
            "bad = [m for m in sys.modules if m == 'grpc' or m.startswith(('grpc.', 'textual', 'prompt_toolkit'))]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
