"""Bad Gloo v2 input: however the v2 kitchen sink (and the v2 examples) are mangled, loading, validation, the route
engine, lint, the sandbox and xDS translation give findings — every one placed — and never raise."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Iterator

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshctl.model.findings import Finding, Severity
from meshctl.model.snapshot import snapshot_from_text
from meshctl.model.yamldoc import decode_text
from meshctl.routing.evaluate import Request
from meshctl.routing.lint import lint
from meshctl.routing.view import build_routing_view
from meshctl.sandbox import Sandbox
from meshctl.xds.cache import NodeInfo
from meshctl.xds.translate import Translator

REPO = Path(__file__).resolve().parents[2]
SINK = Path(__file__).resolve().parent / "data" / "kitchen-sink-v2.yaml"
FILES = [SINK, *sorted((REPO / "docs/examples/004-advanced-routing-v2").rglob("*.yaml")),
         *sorted((REPO / "docs/examples/gloo-v2-reference-a").glob("*.yaml"))]
PARSED = [list(yaml.safe_load_all(p.read_text())) for p in FILES]
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**40), max_value=2**40), st.text(max_size=10))
REPLACEMENTS = st.one_of(
    SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(st.text(max_size=6), SCALARS, max_size=3),
    st.sampled_from(["*", "/a", "(", "ROUTE_SPECIFICITY", "FREEZE_CONFIG", "VIRTUAL_DESTINATION", "a.*.io", 101,
                     {"number": 0}, {"name": "x"}, [{"labels": {}}], [{"name": "root"}], {}]),
)


def everything(raw: bytes) -> tuple[str | None, list[Finding]]:
    """What validate, routes, lint, test-route and xds dump do with one file's bytes."""
    text, findings = decode_text(raw, "fuzz.yaml")
    if text is None:
        return None, findings
    snapshot = snapshot_from_text(text, "fuzz.yaml")
    view = build_routing_view(snapshot)
    found = lint(snapshot, view)
    sandbox = Sandbox(snapshot, view)
    for g in view.gateways:
        for path in ("/", "/split", "/apps/one/exact", "/rx", "/orders/health"):
            sandbox.evaluate(Request(authority="www.example.com", path=path), gateway=g.name)
    Translator(snapshot, view=view).node_resources(NodeInfo("fuzz", "gateway"))
    return text, found


def assert_placed(findings: list[Finding], text: str | None) -> None:
    lines = len((text or "").splitlines()) + 2
    for f in findings:
        assert isinstance(f.severity, Severity) and f.code and f.message
        assert f.file == "fuzz.yaml", f.render()
        if f.resource is not None:  # a finding about a resource says where: line, column and field path
            assert f.line is not None and 1 <= f.line <= lines and f.column and f.column >= 1, f.render()
        json.dumps(f.to_dict())


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, path + (i,))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    docs = copy.deepcopy(draw(st.one_of(st.just(PARSED[0]), st.sampled_from(PARSED))))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        by_name: dict[str, list[tuple[Any, ...]]] = {}
        for p in _paths(docs):
            if p:
                by_name.setdefault(str(p[-1]) if isinstance(p[-1], str) else "[item]", []).append(p)
        if not by_name:
            break
        path = draw(st.sampled_from(by_name[draw(st.sampled_from(sorted(by_name)))]))
        parent = docs
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            # a copy: sampled_from hands out the same dict each time, and mutating it in place would make it
            # contain itself (and change the strategy's own constants between examples)
            parent[path[-1]] = copy.deepcopy(draw(REPLACEMENTS))
    return yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False).encode()


def test_the_kitchen_sink_is_clean_and_complete() -> None:
    text, findings = everything(SINK.read_bytes())
    assert [f.render() for f in findings if f.severity is Severity.ERROR] == []
    snapshot = snapshot_from_text(text or "", "fuzz.yaml")
    assert {r.kind for r in snapshot} >= {"Workspace", "VirtualGateway", "RouteTable", "VirtualDestination"}


@FUZZ
@given(mutated())
def test_mutated_v2_documents_only_give_placed_findings(raw: bytes) -> None:
    text, findings = everything(raw)
    assert_placed(findings, text)


def test_every_field_of_the_v2_kitchen_sink_dropped_or_retyped() -> None:
    checked = 0
    for d, doc in enumerate(PARSED[0]):
        for n, path in enumerate(p for p in _paths(doc) if p):
            for value in (None, ["a", 1], {"k": [1]}, "text", 7, True)[n % 3::3]:
                docs = copy.deepcopy(PARSED[0])
                parent = docs[d]
                for part in path[:-1]:
                    parent = parent[part]
                parent[path[-1]] = value
                raw = yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False).encode()
                text, findings = everything(raw)
                assert_placed(findings, text)
                checked += 1
    assert checked > 300
