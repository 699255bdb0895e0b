"""deploy/crds: generated from the model, structural OpenAPI v3 schemas, accepted by an API server."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from meshctl.model.resources import ROUTING_KINDS

from .conftest import CRD_FILES, REPO, crds
from .fakeapi import validate_schema
from .objects import demo_routing_objects

PRESERVE = "x-kubernetes-preserve-unknown-fields"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_crds", REPO / "deploy" / "gen_crds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _nodes(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path or "<root>", schema
    for name, sub in (schema.get("properties") or {}).items():
        yield from _nodes(sub, f"{path}.{name}")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _nodes(schema["additionalProperties"], f"{path}.*")
    if isinstance(schema.get("items"), dict):
        yield from _nodes(schema["items"], f"{path}[]")


def test_one_crd_per_gloo_kind_with_consistent_names() -> None:
    kinds = {}
    for f, crd in zip(CRD_FILES, crds(), strict=False):
        spec = crd["spec"]
        assert crd["apiVersion"] == "apiextensions.k8s.io/v1" and crd["kind"] == "CustomResourceDefinition"
        assert crd["metadata"]["name"] == f"{spec['names']['plural']}.{spec['group']}"
        assert f.name == f"{spec['group']}_{spec['names']['plural']}.yaml"
        assert spec["scope"] == "Namespaced" and len(spec["versions"]) == 1
        version = spec["versions"][0]
        assert version["served"] and version["storage"] and version["subresources"] == {"status": {}}
        kinds.setdefault(spec["names"]["kind"], set()).add(f"{spec['group']}/{version['name']}")
    assert set(kinds) == set(ROUTING_KINDS) | {"Workspace", "WorkspaceSettings"}
    assert kinds["VirtualGateway"] == {"networking.enterprise.mesh.gloo.solo.io/v1beta1", "networking.gloo.solo.io/v2"}
    assert kinds["RouteTable"] == {"networking.enterprise.mesh.gloo.solo.io/v1beta1", "networking.gloo.solo.io/v2"}
    assert kinds["TrafficPolicy"] == {"networking.mesh.gloo.solo.io/v1"}
    assert kinds["Workspace"] == {"admin.gloo.solo.io/v2"}


@pytest.mark.parametrize("index", range(len(CRD_FILES)), ids=[f.name.split("_")[1] for f in CRD_FILES])
def test_schema_is_structural(index: int) -> None:
    root = crds()[index]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert root["type"] == "object" and {"apiVersion", "kind", "metadata", "spec"} <= set(root["properties"])
    for path, node in _nodes(root):
        if node.get(PRESERVE) is True and "type" not in node:
            assert not {"properties", "items", "additionalProperties"} & set(node), path
            continue
        assert node.get("type") in ("object", "array", "string", "integer", "number", "boolean"), path
        if node["type"] == "object" and path not in ("<root>", ".metadata"):
            assert "properties" in node or "additionalProperties" in node or node.get(PRESERVE) is True, path
            assert not ("properties" in node and "additionalProperties" in node), path
        if node["type"] == "array":
            assert isinstance(node.get("items"), dict), path
        if PRESERVE in node:
            assert node[PRESERVE] is True, path
        assert not {"nullable", "$ref", "oneOf", "anyOf", "allOf"} & set(node), path


def test_fields_the_model_keeps_as_any_preserve_unknown_fields() -> None:
    by_kind = {c["spec"]["names"]["kind"]: c["spec"]["versions"][0]["schema"]["openAPIV3Schema"] for c in crds()
               if c["spec"]["group"] != "networking.gloo.solo.io" or c["spec"]["names"]["kind"].startswith("External")}
    gateway_spec = by_kind["VirtualGateway"]["properties"]["spec"]
    assert gateway_spec["properties"]["options"] == {PRESERVE: True}
    policy = by_kind["TrafficPolicy"]["properties"]["spec"]["properties"]["policy"]
    assert policy["properties"]["mtls"] == {PRESERVE: True}
    assert policy["properties"]["requestTimeout"]["type"] == "string"
    route = by_kind["RouteTable"]["properties"]["spec"]["properties"]["routes"]["items"]
    assert route["properties"]["delegateAction"]["properties"]["sortMethod"]["enum"] == [
        "TABLE_WEIGHT", "ROUTE_SPECIFICITY"]
    failover = by_kind["VirtualDestination"]["properties"]["spec"]["properties"]["localized"]["properties"]
    assert "from" in failover["failoverDirectives"]["items"]["properties"]


def test_files_match_the_generator() -> None:
    assert _generator().main(["--check"]) == 0


def test_demo_resources_validate_and_a_wrong_type_does_not() -> None:
    schemas = {c["spec"]["names"]["kind"]: c["spec"]["versions"][0]["schema"]["openAPIV3Schema"] for c in crds()
               if c["spec"]["group"] != "networking.gloo.solo.io" or c["spec"]["names"]["kind"].startswith("External")}
    demo = demo_routing_objects()
    assert {d["kind"] for d in demo} >= {"VirtualGateway", "VirtualHost", "RouteTable", "VirtualDestination"}
    for obj in demo:
        assert validate_schema(obj, schemas[obj["kind"]]) == [], obj["metadata"]["name"]
    bad = next(d for d in demo if d["kind"] == "RouteTable")
    bad = yaml.safe_load(yaml.safe_dump(bad))
    bad["spec"]["routes"][0]["matchers"] = {"uri": "/"}
    causes = validate_schema(bad, schemas["RouteTable"])
    assert causes and causes[0][0] == "spec.routes[0].matchers"


def test_generator_writes_what_is_checked_in(tmp_path: Path) -> None:
    assert _generator().main(["--out", str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.glob("*.yaml"))
    assert written == [f.name for f in CRD_FILES]
    assert all((tmp_path / f.name).read_text() == f.read_text() for f in CRD_FILES)


def test_v2_examples_validate_against_the_v2_crds_and_a_wrong_type_does_not() -> None:
    schemas = {(c["spec"]["group"], c["spec"]["names"]["kind"]): c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
               for c in crds()}
    checked = 0
    for f in sorted((REPO / "docs" / "examples").rglob("*.yaml")):
        for doc in yaml.safe_load_all(f.read_text()):
            group = doc.get("apiVersion", "").split("/")[0] if doc else ""
            if group in ("networking.gloo.solo.io", "admin.gloo.solo.io"):
                assert validate_schema(doc, schemas[(group, doc["kind"])]) == [], (f, doc["metadata"]["name"])
                checked += 1
    assert checked >= 20
    bad = {"apiVersion": "networking.gloo.solo.io/v2", "kind": "RouteTable", "metadata": {"name": "x"},
           "spec": {"hosts": "a.io", "http": [{"name": "r", "delegate": {"sortMethod": "FASTEST"}}]}}
    causes = {c[0] for c in validate_schema(bad, schemas[("networking.gloo.solo.io", "RouteTable")])}
    assert {"spec.hosts", "spec.http[0].delegate.sortMethod"} <= causes, causes
