"""Typed models dump back to the mapping they were read from: unknown keys, nulls and key order survive."""

from __future__ import annotations

import json
import textwrap
from dataclasses import fields
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from meshctl.model import schema
from meshctl.model.common import Route
from meshctl.model.findings import Severity
from meshctl.model.resources import RouteTable, VirtualHost
from meshctl.model.snapshot import demo_files, load_snapshot, snapshot_from_text
from meshctl.model.validate import validate

GLOO = "networking.enterprise.mesh.gloo.solo.io/v1beta1"
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
KITCHEN_SINK = Path(__file__).resolve().parent / "data" / "kitchen-sink.yaml"


class _TextTimestamps(yaml.SafeLoader):
    """Like meshctl's loader, keep timestamps (creationTimestamp) as the text written."""


_TextTimestamps.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


def load_yaml(text: str) -> object:
    return yaml.load(text, Loader=_TextTimestamps)


def ordered(value: object) -> str:
    """JSON with the mapping order kept: equal strings mean equal content in the same key order."""
    return json.dumps(value, sort_keys=False, default=str)


# Unknown keys (x-prefixed) at the top of spec, inside nested models, inside list items and next to
# free-form (Any) fields; explicit nulls for known and unknown fields.
DOCUMENTS = {
    "VirtualHost": f"""\
        apiVersion: {GLOO}
        kind: VirtualHost
        metadata: {{name: shop, namespace: web, xMeta: {{a: 1}}}}
        spec:
          xTop: {{deep: [1, 2, {{k: v}}]}}
          domains: [shop.example.com]
          options:
            xOptions: true
            trafficPolicy:
              requestTimeout: 5s
              retries: {{attempts: 3, perTryTimeout: 2s, xRetry: [a]}}
              mtls: {{istio: {{tlsMode: ISTIO_MUTUAL}}}}
          routes:
          - name: r0
            xRoute: hello
            matchers:
            - uri: {{prefix: /, xUri: 1}}
              headers: [{{name: h, value: v, xHeader: null}}]
            routeAction:
              destinations:
              - kubeService: {{name: reviews, namespace: bookinfo, xSvc: {{deeper: {{deepest: [x]}}}}}}
                weight: 0
          - name: r1
            directResponseAction: {{status: 200, body: null}}
          - name: r2
            matchers: null
            delegateAction: {{refs: [], sortMethod: TABLE_WEIGHT, xDelegate: 0}}
        status: {{observedGeneration: 3}}
        """,
    "RouteTable": f"""\
        apiVersion: {GLOO}
        kind: RouteTable
        metadata: {{name: rt, namespace: web}}
        spec:
          weight: 10
          xTable: [1, {{two: 2}}]
          routes:
          - name: v1
            labels: {{tier: gold}}
            options: {{faultInjection: {{fixedDelay: 1s, percentage: 50, xFault: z}}}}
            redirectAction: {{hostRedirect: example.org, responseCode: FOUND, xRedirect: 1}}
        """,
    "VirtualGateway": f"""\
        apiVersion: {GLOO}
        kind: VirtualGateway
        metadata: {{name: gw, namespace: web}}
        spec:
          xGateway: 1
          ingressGatewaySelectors:
          - portName: http2
            destinationSelectors: [{{kubeServiceMatcher: {{labels: {{istio: ingressgateway}}, xMatcher: 2}}}}]
          connectionHandlers:
          - connectionMatch: {{serverNames: [a.example.com], xMatch: 3}}
            http:
              routeConfig:
              - virtualHostSelector: {{namespaces: ["*"], xSelector: 4}}
              xHttp: 5
        """,
    "Service": """\
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: bookinfo, uid: abc, creationTimestamp: 2024-01-02T03:04:05Z}
        spec:
          clusterIP: 10.0.0.1
          ports: [{name: http, port: 9080, targetPort: 9080, xPort: 1}]
          selector: {app: reviews}
          xService: {sessionAffinity: None}
        """,
    "Cluster": """\
        apiVersion: meshctl.io/v1alpha1
        kind: Cluster
        metadata: {name: cluster-1}
        spec:
          locality: {region: us-east-1, zone: us-east-1a, xLocality: 1}
          services:
          - name: reviews
            namespace: bookinfo
            xClusterService: [1]
            endpoints: [{address: 10.1.0.21, labels: {version: v1}, healthy: false, xEndpoint: {a: b}}]
        """,
}


@pytest.mark.parametrize("kind", sorted(DOCUMENTS))
def test_unknown_keys_survive_a_round_trip(kind: str) -> None:
    text = textwrap.dedent(DOCUMENTS[kind])
    original = load_yaml(text)
    snapshot = snapshot_from_text(text, "doc.yaml")
    (resource,) = snapshot.resources
    assert resource.kind == kind and type(resource).__name__ == kind  # typed, not UnknownResource
    assert resource.spec.to_dict() == original["spec"]
    assert ordered(resource.spec.to_dict()) == ordered(original["spec"])
    assert schema.to_dict(resource) == original
    assert ordered(resource.to_dict()) == ordered(original)
    # and through text again: dumping and reloading gives the same resource
    again = snapshot_from_text(yaml.safe_dump(resource.to_dict(), sort_keys=False), "again.yaml")
    assert again.resources[0].to_dict() == original


def test_unknown_keys_are_kept_where_they_were_found() -> None:
    snapshot = snapshot_from_text(textwrap.dedent(DOCUMENTS["VirtualHost"]), "doc.yaml")
    vh = snapshot.typed(VirtualHost)[0]
    assert vh.spec._extra == {"xTop": {"deep": [1, 2, {"k": "v"}]}}
    assert vh.spec.routes[0]._extra == {"xRoute": "hello"}
    assert vh.spec.routes[0].matchers[0].uri._extra == {"xUri": 1}
    assert vh.spec.routes[0].matchers[0].headers[0]._extra == {"xHeader": None}
    dest = vh.spec.routes[0].route_action.destinations[0]
    assert dest.kube_service._extra == {"xSvc": {"deeper": {"deepest": ["x"]}}}
    assert vh.spec.options.traffic_policy.retries._extra == {"xRetry": ["a"]}
    # known fields were typed on the way in
    assert vh.spec.options.traffic_policy.retries.per_try_timeout.seconds == 2.0
    assert vh.spec.routes[1].direct_response_action.status == 200


def test_edited_fields_are_dumped_and_unknown_keys_stay() -> None:
    snapshot = snapshot_from_text(textwrap.dedent(DOCUMENTS["RouteTable"]), "doc.yaml")
    rt = snapshot.typed(RouteTable)[0]
    rt.spec.weight = 20
    rt.spec.routes.append(Route(name="added"))
    out = rt.spec.to_dict()
    assert out["weight"] == 20
    assert out["xTable"] == [1, {"two": 2}]
    assert out["routes"][0]["redirectAction"] == {"hostRedirect": "example.org", "responseCode": "FOUND",
                                                  "xRedirect": 1}
    assert out["routes"][1] == {"name": "added"}  # defaults are not written out
    assert list(out) == ["weight", "xTable", "routes"]


def test_explicit_nulls_and_wrong_typed_values_are_dumped_as_written() -> None:
    text = textwrap.dedent("""\
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: bookinfo, labels: null}
        spec: {ports: [{port: 80, name: null}], selector: not-a-map, type: null}
        """)
    original = load_yaml(text)
    snapshot = snapshot_from_text(text, "doc.yaml")
    assert [f.code for f in snapshot.findings] == ["wrong-type"]
    assert snapshot.resources[0].to_dict() == original


def _all_example_resources():
    dirs = [d for d in sorted(EXAMPLES.glob("*/")) if any(d.glob("*.yaml"))]
    dirs += sorted(d for d in (EXAMPLES / "004-advanced-routing").glob("*/") if d.is_dir())
    for d in dirs:
        for r in load_snapshot([d]):
            yield pytest.param(r, id=f"{d.name}:{r.ref}")
    for r in load_snapshot(demo_files()):
        yield pytest.param(r, id=f"demo:{r.ref}")
    for r in load_snapshot([KITCHEN_SINK]):
        yield pytest.param(r, id=f"kitchen-sink:{r.ref}")


@pytest.mark.parametrize("resource", list(_all_example_resources()))
def test_every_example_resource_round_trips(resource) -> None:
    assert ordered(resource.to_dict()) == ordered(resource.raw)


def test_schema_parse_reports_wrong_types_with_paths_and_keeps_unknown_keys() -> None:
    value = {"name": 5, "matchers": [{"uri": {"prefix": ["/a"]}}, "oops"], "routeAction": {"destinations": {}},
             "xNew": {"a": 1}}
    route, problems = schema.parse(Route, value, ("spec", "routes", 0))
    assert sorted((schema.path_text(p), m) for p, m in problems.items) == [
        ("spec.routes[0].matchers[0].uri.prefix", "expected a string, got a list"),
        ("spec.routes[0].matchers[1]", "expected a mapping, got string 'oops'"),
        ("spec.routes[0].name", "expected a string, got integer 5"),
        ("spec.routes[0].routeAction.destinations", "expected a list, got a mapping"),
    ]
    assert route._extra == {"xNew": {"a": 1}}
    assert route.to_dict()["xNew"] == {"a": 1}
    assert route.to_dict()["name"] == 5  # the wrong value is kept as written, not replaced by ""


def _unknown_keys(value: object, path: str) -> Iterator[str]:
    if isinstance(value, schema.Model):
        for k in value._extra:
            yield f"{path}.{k}"
        for f in fields(value):
            if not f.name.startswith("_") and not f.metadata.get("skip"):
                yield from _unknown_keys(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _unknown_keys(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, item in value.items():
            yield from _unknown_keys(item, f"{path}.{k}")


def test_kitchen_sink_is_valid_and_every_field_in_it_is_modelled() -> None:
    """The fuzz corpus's richest file: clean, and no key in it falls through to `_extra` (a misspelt field would)."""
    snapshot = load_snapshot([KITCHEN_SINK])
    assert [f.render() for f in validate(snapshot) if f.severity in (Severity.ERROR, Severity.WARNING)] == []
    assert len(snapshot) == 15
    assert [k for r in snapshot for k in _unknown_keys(r, r.ref)] == []
