"""Table-driven: each broken input gives its finding at the right file:line:column, resource and field path."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from meshctl.model.findings import Severity

GLOO = "networking.enterprise.mesh.gloo.solo.io/v1beta1"


def vhost(broken_route: str, extra_docs: str = "") -> str:
    """A VirtualHost whose routes[0] and routes[1] are fine and routes[2] (line 14, column 5) is `broken_route`."""
    head = textwrap.dedent(f"""\
        apiVersion: {GLOO}
        kind: VirtualHost
        metadata:
          name: shop
          namespace: web
        spec:
          domains: [shop.example.com]
          routes:
          - name: ok-0
            matchers: [{{uri: {{prefix: /a}}}}]
            directResponseAction: {{status: 200}}
          - name: ok-1
            directResponseAction: {{status: 200}}
        """)
    body = textwrap.indent(textwrap.dedent(broken_route), "  ")
    return head + body + (textwrap.dedent(extra_docs) if extra_docs else "")


ROUTE_TABLE_RT = f"""\
    ---
    apiVersion: {GLOO}
    kind: RouteTable
    metadata: {{name: rt, namespace: web}}
    spec:
      routes: [{{name: leaf, directResponseAction: {{status: 200}}}}]
    """

E, W = Severity.ERROR, Severity.WARNING
VH = "VirtualHost web/shop"

# content, code, severity, line, column (None: not meaningful), path, resource, what the message says
CASES: list[Any] = [
    pytest.param(vhost("""\
        - name: broken
          matchers:
          - uri: {prefix: /c}
        """), "route-no-action", E, 14, 5, "spec.routes[2]", VH, "expected exactly one of routeAction",
        id="route-without-action"),
    pytest.param(vhost("""\
        - name: broken
          directResponseAction: {status: 200}
          routeAction:
            destinations: [{kubeService: {name: reviews, namespace: bookinfo}}]
        """), "route-multiple-actions", E, 14, 5, "spec.routes[2]", VH, "takes exactly one",
        id="route-with-two-actions"),
    pytest.param(vhost("""\
        - name: broken
          matchers:
          - uri: {prefix: /x}
          - uri:
              regex: /v[0-9]+
          delegateAction:
            refs: [{name: rt}]
        """, ROUTE_TABLE_RT), "delegate-not-prefix", E, 18, 9, "spec.routes[2].matchers[1].uri", VH,
        "must be a prefix; got regex", id="delegating-route-with-regex-matcher"),
    pytest.param(vhost("""\
        - name: broken
          matchers: [{uri: {prefix: /x}}]
          delegateAction:
            refs:
            - name: rt
            - name: missing
              namespace: other
        """, ROUTE_TABLE_RT), "dangling-delegate-ref", E, 19, 9, "spec.routes[2].delegateAction.refs[1]", VH,
        "RouteTable other/missing, which does not exist", id="delegate-ref-to-missing-route-table"),
    pytest.param(textwrap.dedent(f"""\
        apiVersion: {GLOO}
        kind: RouteTable
        metadata: {{name: parent, namespace: web}}
        spec:
          routes:
          - name: nested
            delegateAction: {{refs: [{{name: child}}]}}
        """), "dangling-delegate-ref", E, 7, 29, "spec.routes[0].delegateAction.refs[0]", "RouteTable web/parent",
        "RouteTable web/child", id="route-table-delegating-to-missing-table"),
    pytest.param(textwrap.dedent(f"""\
        apiVersion: {GLOO}
        kind: VirtualGateway
        metadata: {{name: gw, namespace: web}}
        spec:
          connectionHandlers:
          - http:
              routeConfig:
              - virtualHostSelector: {{namespaces: [web]}}
        ---
        apiVersion: {GLOO}
        kind: VirtualHost
        metadata: {{name: a-first, namespace: web}}
        spec:
          domains: [shop.example.com]
          routes: [{{name: r, directResponseAction: {{status: 200}}}}]
        ---
        apiVersion: {GLOO}
        kind: VirtualHost
        metadata: {{name: b-second, namespace: web}}
        spec:
          domains:
          - other.example.com
          - Shop.Example.com
          routes: [{{name: r, directResponseAction: {{status: 200}}}}]
        """), "duplicate-domain", E, 23, 5, "spec.domains[1]", "VirtualHost web/b-second",
        "also claimed by VirtualHost web/a-first", id="same-domain-in-two-virtual-hosts-of-one-gateway"),
    pytest.param(vhost("""\
        - name: broken
          matchers:
          - uri:
              regex: "/api/(v1"
          directResponseAction: {status: 200}
        """), "bad-regex", E, 17, 16, "spec.routes[2].matchers[0].uri.regex", VH, "RE2 rejects",
        id="uri-regex-rejected-by-re2"),
    pytest.param(vhost("""\
        - name: broken
          matchers:
          - headers:
            - name: x-user
              value: '(a)\\1'
              regex: true
          directResponseAction: {status: 200}
        """), "bad-regex", E, 18, 16, "spec.routes[2].matchers[0].headers[0].value", VH, "RE2 rejects",
        id="header-backreference-rejected-by-re2"),
    pytest.param(textwrap.dedent("""\
        apiVersion: example.com/v1
        kind: Gizmo
        metadata: {name: g, namespace: web}
        """), "unknown-kind", W, 2, 7, "kind", "Gizmo web/g", "not one meshctl models", id="unknown-kind"),
    pytest.param(textwrap.dedent("""\
        apiVersion: networking.enterprise.mesh.gloo.solo.io/v9
        kind: VirtualHost
        metadata: {name: shop, namespace: web}
        """), "unknown-api-version", W, 1, 13, "apiVersion", VH, f"known as apiVersion {GLOO}",
        id="unknown-api-version"),
    pytest.param(vhost("""\
        - name: broken
          matchers: /c
          directResponseAction: {status: 200}
        """), "wrong-type", E, 15, 15, "spec.routes[2].matchers", VH, "expected a list, got string '/c'",
        id="string-where-a-list-belongs"),
    pytest.param(vhost("""\
        - name: broken
          directResponseAction:
            status: "200"
        """), "wrong-type", E, 16, 15, "spec.routes[2].directResponseAction.status", VH,
        "expected an integer, got string '200'", id="string-where-an-integer-belongs"),
    pytest.param(vhost("""\
        - name: broken
          delegateAction:
            refs: [{name: rt}]
            sortMethod: [TABLE_WEIGHT]
        """, ROUTE_TABLE_RT), "wrong-type", E, 17, 19, "spec.routes[2].delegateAction.sortMethod", VH,
        "expected one of TABLE_WEIGHT, ROUTE_SPECIFICITY", id="list-where-an-enum-belongs"),
    pytest.param(textwrap.dedent("""\
        apiVersion: v1
        kind: Service
        metadata:
          name: reviews
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: reviews
          namespace: default
        """), "duplicate-resource", E, 9, 9, "metadata.name", "Service default/reviews", "defined twice",
        id="duplicate-resource-after-namespace-defaulting"),
    pytest.param(textwrap.dedent("""\
        apiVersion: v1
        kind: Service
        metadata:
          name: reviews
         namespace: default
        """), "yaml-syntax", E, 5, 2, None, None, "YAML syntax error", id="yaml-bad-indentation"),
    pytest.param(textwrap.dedent("""\
        apiVersion: v1
        kind: Service
        metadata: {name: [reviews}
        """), "yaml-syntax", E, 3, 26, None, None, "YAML syntax error", id="yaml-unclosed-flow-sequence"),
    pytest.param("apiVersion: v1\nkind: Service\nmetadata:\n\tname: reviews\n", "yaml-syntax", E, 4, 1, None, None,
                 "cannot start any token", id="yaml-tab-indentation"),
    pytest.param("apiVersion: v1\nkind: Serv\x07ice\n", "yaml-syntax", E, 2, 11, None, None,
                 "control characters are not allowed", id="yaml-control-character"),
    pytest.param("", "empty-file", E, 1, 1, None, None, "no YAML documents", id="empty-file"),
    pytest.param("# only a comment\n---\n", "empty-file", E, 1, 1, None, None, "no YAML documents",
                 id="comments-only-file"),
    pytest.param(b"apiVersion: v1\nkind: \x00\x01\x02\x03", "binary-file", E, 2, None, None, None, "binary content",
                 id="binary-file"),
    pytest.param(b"apiVersion: v1\nkind: Service\nmetadata: {name: caf\xe9}\n", "not-utf8", E, 3, 21, None, None,
                 "not valid UTF-8 (byte 0xe9)", id="latin-1-file"),
    pytest.param("- a\n- b\n", "not-a-mapping", E, 1, 1, None, None, "got a list", id="document-is-a-list"),
    pytest.param("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\njust some text\n", "not-a-mapping",
                 E, 5, 1, None, None, "got string 'just some text'", id="second-document-is-a-string"),
    pytest.param(textwrap.dedent("""\
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Service
          metadata: {name: a}
        - 42
        """), "not-a-mapping", E, 7, 3, "items[1]", None, "got integer 42", id="list-item-is-not-a-mapping"),
    pytest.param(textwrap.dedent("""\
        apiVersion: v1
        kind: Service
        metadata:
          name: a
          labels: {app: a, app: b}
        """), "duplicate-key", E, 5, 20, "metadata.labels.app", None, "'app' appears more than once",
        id="duplicate-key"),
    pytest.param("apiVersion: v1\nkind: Service\nmetadata:\n  namespace: web\n", "missing-field", E, 4, 3,
                 "metadata.name", "Service web/?", "metadata.name is required", id="missing-name"),
    pytest.param("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: " + "[" * 300 + "]" * 300 + "\n",
                 "too-deep", E, 4, 206, None, None, "more than 200 levels", id="nesting-too-deep"),
    pytest.param("? [a]\n: b\n", "yaml-syntax", E, 1, 3, None, None, "unhashable key", id="unhashable-key"),
]


@pytest.mark.parametrize("content, code, severity, line, column, path, resource, says", CASES)
def test_bad_input_is_reported_precisely(check_file, content, code, severity, line, column, path, resource, says):
    file, _, findings = check_file(content)
    hits = [f for f in findings if f.code == code]
    assert len(hits) == 1, [f.render() for f in findings]
    hit = hits[0]
    assert hit.severity is severity
    assert hit.file == str(file)
    assert hit.line == line
    if column is not None:
        assert hit.column == column
    assert hit.path == path
    assert hit.resource == resource
    assert says in hit.message
    # each input has exactly one problem: nothing else is reported
    others = [f.render() for f in findings if f is not hit]
    assert others == []


def test_all_problems_are_reported_in_one_run(tmp_path):
    """Broken files do not hide each other: every file's problems come back from one load."""
    from meshctl.model.snapshot import load_snapshot
    from meshctl.model.validate import validate

    inputs = {case.id: case.values for case in CASES}
    for i, (case_id, (content, *_)) in enumerate(sorted(inputs.items())):
        path = tmp_path / f"{case_id}.yaml"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:  # a namespace per file, so the files do not redefine each other's resources
            path.write_text(content.replace("web", f"web{i}"), encoding="utf-8")
    findings = validate(load_snapshot([tmp_path]))
    assert {f.code for f in findings} == {code for _, code, *_ in inputs.values()}
    # every finding names the file it came from, and each file produced at least one
    by_file = {f.file for f in findings}
    assert by_file == {str(p) for p in tmp_path.iterdir()}


def test_many_problems_in_one_file_are_all_reported(check_file):
    text = vhost("""\
        - name: no-action
        - name: bad-regex
          matchers: [{uri: {regex: "(("}}]
          directResponseAction: {status: 200}
        - name: wrong-type
          matchers: /c
          directResponseAction: {status: 200}
        - name: dangling
          delegateAction: {refs: [{name: nowhere}]}
        """)
    _, _, findings = check_file(text)
    got = [(f.code, f.path) for f in findings]
    assert got == [
        ("route-no-action", "spec.routes[2]"),
        ("bad-regex", "spec.routes[3].matchers[0].uri.regex"),
        ("wrong-type", "spec.routes[4].matchers"),
        ("dangling-delegate-ref", "spec.routes[5].delegateAction.refs[0]"),
    ]
    assert [f.line for f in findings] == sorted(f.line for f in findings)
