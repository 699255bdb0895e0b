"""Semantic validation: each check fires where it should and stays quiet on valid look-alikes."""

from __future__ import annotations

import textwrap

import pytest

from meshctl.model.snapshot import snapshot_from_text
from meshctl.model.validate import validate

GLOO = "networking.enterprise.mesh.gloo.solo.io/v1beta1"


def doc(kind: str, name: str, spec: str, namespace: str = "web", api: str = GLOO, labels: str = "{}") -> str:
    body = textwrap.indent(textwrap.dedent(spec).strip("\n"), "  ")
    return (f"---\napiVersion: {api}\nkind: {kind}\nmetadata: {{name: {name}, namespace: {namespace}, "
            f"labels: {labels}}}\nspec:\n{body}\n")


def gateway(name: str = "gw", namespace: str = "web", selector: str = "{}", inline: str = "") -> str:
    config = f"- virtualHostSelector: {selector}\n"
    if inline:
        config += "- virtualHost:\n" + textwrap.indent(textwrap.dedent(inline).strip("\n"), "    ") + "\n"
    return doc("VirtualGateway", name, "connectionHandlers:\n- http:\n    routeConfig:\n"
               + textwrap.indent(config, "    "), namespace)


def vhost(name: str, domains: str, routes: str = "[{name: r, directResponseAction: {status: 200}}]",
          namespace: str = "web", labels: str = "{}") -> str:
    return doc("VirtualHost", name, f"domains: {domains}\nroutes: {routes}", namespace, labels=labels)


def route_table(name: str, routes: str, namespace: str = "web", labels: str = "{}") -> str:
    return doc("RouteTable", name, f"routes: {routes}", namespace, labels=labels)


OK_ROUTES = "[{name: r, directResponseAction: {status: 200}}]"

# (text, expected [(severity, code, resource, path)] in report order); [] means: no finding at all
CASES = [
    pytest.param(vhost("a", "[a.com]", "[{name: d, matchers: [{uri: {prefix: /x}}], delegateAction: {refs: [{name: t}]}}]")
                 + route_table("t", OK_ROUTES), [], id="prefix-delegation-to-existing-table"),
    pytest.param(vhost("a", "[a.com]", "[{name: d, delegateAction: {refs: [{name: t, namespace: other}]}}]")
                 + route_table("t", OK_ROUTES, namespace="other"), [], id="ref-with-explicit-namespace"),
    pytest.param(vhost("a", "[a.com]", "[{name: d, delegateAction: {refs: [{name: t}]}}]")
                 + route_table("t", OK_ROUTES, namespace="other"),
                 [("error", "dangling-delegate-ref", "VirtualHost web/a", "spec.routes[0].delegateAction.refs[0]")],
                 id="ref-namespace-defaults-to-the-owners"),
    pytest.param(vhost("a", "[a.com]", "[{name: d, delegateAction: {selector: {labels: {x: y}}}}]"), [],
                 id="selector-delegation-needs-no-existing-table"),
    pytest.param(vhost("a", "[a.com]", "[{name: d, delegateAction: {sortMethod: TABLE_WEIGHT}}]"),
                 [("error", "delegate-no-target", "VirtualHost web/a", "spec.routes[0].delegateAction")],
                 id="delegation-without-target"),
    pytest.param(vhost("a", "[a.com]", "[{name: d, matchers: [{uri: {prefix: /x, regex: /y}}], "
                                       "delegateAction: {selector: {}}}]"),
                 [("error", "delegate-not-prefix", "VirtualHost web/a", "spec.routes[0].matchers[0].uri"),
                  ("error", "exclusive-fields", "VirtualHost web/a", "spec.routes[0].matchers[0].uri")],
                 id="prefix-and-regex-together"),
    pytest.param(route_table("t", "[{name: n, matchers: [{uri: {exact: /n}}], delegateAction: {selector: {}}}]"),
                 [("error", "delegate-not-prefix", "RouteTable web/t", "spec.routes[0].matchers[0].uri")],
                 id="nested-delegation-is-checked-too"),
    pytest.param(gateway() + vhost("a", "[a.com]") + vhost("b", "[b.com]"), [], id="distinct-domains"),
    pytest.param(gateway(selector="{namespaces: [web]}") + vhost("a", "[a.com]") + vhost("b", "[a.com]", namespace="other"),
                 [], id="same-domain-but-only-one-host-selected"),
    pytest.param(gateway("gw1", selector="{labels: {g: one}}") + gateway("gw2", selector="{labels: {g: two}}")
                 + vhost("a", "[a.com]", labels="{g: one}") + vhost("b", "[a.com]", labels="{g: two}"),
                 [], id="same-domain-on-two-different-gateways"),
    pytest.param(doc("VirtualGateway", "gw", """\
        connectionHandlers:
        - http:
            routeConfig:
            - virtualHostSelector: {}
            - virtualHostSelector: {namespaces: [web]}
        """) + vhost("a", "[a.com]"), [], id="host-selected-twice-is-not-its-own-duplicate"),
    pytest.param(gateway(inline=f"domains: ['*']\nroutes: {OK_ROUTES}") + vhost("a", "['*']"),
                 [("error", "duplicate-domain", "VirtualGateway web/gw",
                   "spec.connectionHandlers[0].http.routeConfig[1].virtualHost.domains[0]")],
                 id="inline-host-clashes-with-earlier-selected-host"),
    pytest.param(gateway(inline="domains: [i.com]\nroutes: [{name: bad}]"),
                 [("error", "route-no-action", "VirtualGateway web/gw",
                   "spec.connectionHandlers[0].http.routeConfig[1].virtualHost.routes[0]")],
                 id="inline-host-routes-are-checked"),
    pytest.param(vhost("a", "[]"), [("warning", "no-domains", "VirtualHost web/a", "spec.domains")],
                 id="host-without-domains"),
    pytest.param(vhost("a", "[a.com]", "[{name: r, matchers: [{uri: {prefix: api}}, {uri: {exact: x}}], "
                                       "directResponseAction: {status: 200}}]"),
                 [("warning", "path-no-slash", "VirtualHost web/a", "spec.routes[0].matchers[0].uri.prefix"),
                  ("warning", "path-no-slash", "VirtualHost web/a", "spec.routes[0].matchers[1].uri.exact")],
                 id="paths-without-leading-slash"),
    pytest.param(vhost("a", "[a.com]", "[{name: r, directResponseAction: {status: 700}}]"),
                 [("error", "bad-status", "VirtualHost web/a", "spec.routes[0].directResponseAction.status")],
                 id="status-out-of-range"),
    pytest.param(vhost("a", "[a.com]", "[{name: r, directResponseAction: {body: hi}}]"),
                 [("error", "missing-field", "VirtualHost web/a", "spec.routes[0].directResponseAction")],
                 id="direct-response-without-status"),
    pytest.param(vhost("a", "[a.com]", "[{name: r, redirectAction: {pathRedirect: /a, prefixRewrite: /b}}]"),
                 [("error", "exclusive-fields", "VirtualHost web/a", "spec.routes[0].redirectAction")],
                 id="redirect-with-path-and-prefix"),
    pytest.param(vhost("a", "[a.com]", "[{name: r, routeAction: {destinations: [{weight: 1}, "
                                       "{kubeService: {name: s}, staticDestination: {name: t}}]}}]"),
                 [("error", "destination-no-target", "VirtualHost web/a", "spec.routes[0].routeAction.destinations[0]"),
                  ("error", "destination-multiple-targets", "VirtualHost web/a",
                   "spec.routes[0].routeAction.destinations[1]")],
                 id="destinations-without-and-with-two-targets"),
    pytest.param(vhost("a", "[a.com]", "[{name: r, matchers: [{headers: [{value: x}], queryParameters: "
                                       "[{name: q, value: '(', regex: true}, {value: y}]}], "
                                       "directResponseAction: {status: 200}}]"),
                 [("error", "missing-field", "VirtualHost web/a", "spec.routes[0].matchers[0].headers[0]"),
                  ("error", "bad-regex", "VirtualHost web/a", "spec.routes[0].matchers[0].queryParameters[0].value"),
                  ("error", "missing-field", "VirtualHost web/a", "spec.routes[0].matchers[0].queryParameters[1]")],
                 id="header-and-query-matchers"),
    pytest.param(vhost("a", "[a.com]", "[{name: r, matchers: [{headers: [{name: h, value: '('}]}], "
                                       "directResponseAction: {status: 200}}]"), [],
                 id="non-regex-header-value-is-not-compiled"),
    pytest.param(doc("TrafficPolicy", "tp", "httpRequestMatchers: [{uri: {regex: '*x'}}]",
                     api="networking.mesh.gloo.solo.io/v1"),
                 [("error", "bad-regex", "TrafficPolicy web/tp", "spec.httpRequestMatchers[0].uri.regex")],
                 id="traffic-policy-matchers"),
    pytest.param(doc("ExternalService", "es", "hosts: [db.external]\naddresses: [192.0.2.1]",
                     api="networking.gloo.solo.io/v2"),
                 [("error", "exclusive-fields", "ExternalService web/es", "spec.addresses")],
                 id="external-service-hosts-and-addresses"),
    pytest.param(doc("VirtualGateway", "gw", "connectionHandlers: [{http: {routeConfig: []}}, {http: {routeConfig: []}}]"),
                 [("warning", "multiple-connection-handlers", "VirtualGateway web/gw", "spec.connectionHandlers[1]")],
                 id="second-connection-handler-ignored"),
    pytest.param(vhost("a", "[a.com]", "[{name: r, routeAction: 5}, {name: s, delegateAction: {refs: x}}, "
                                       "{name: t, routeAction: {destinations: [{kubeService: 1}]}}]"),
                 [("error", "wrong-type", "VirtualHost web/a", "spec.routes[0].routeAction"),
                  ("error", "wrong-type", "VirtualHost web/a", "spec.routes[1].delegateAction.refs"),
                  ("error", "wrong-type", "VirtualHost web/a", "spec.routes[2].routeAction.destinations[0].kubeService")],
                 id="wrong-types-are-not-also-reported-as-missing"),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_semantic_check(text: str, expected: list[tuple[str, str, str, str]]) -> None:
    findings = validate(snapshot_from_text(text, "mesh.yaml"))
    got = [(f.severity.value, f.code, f.resource, f.path) for f in findings]
    assert got == expected, [f.render() for f in findings]
    for f in findings:  # each points into the text, at the line of the field it names
        assert f.file == "mesh.yaml" and f.line and f.column
