"""The plain-block YAML reader answers only what it reads exactly like PyYAML, and declines everything else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_yaml_fast_path import REPO, YAML_FILES, same

from meshctl.devtools.synth import synthetic_config_text
from meshctl.model import blockyaml, yamldoc


def pyyaml(text: str) -> list[Any] | Exception:
    """What the PyYAML path builds (same loader class, so the same scalar rules), or the error it raises."""
    try:
        return list(yaml.load_all(text, Loader=yamldoc._FastLoader))
    except yaml.YAMLError as exc:
        return exc


def assert_declines_or_agrees(text: str) -> list[Any] | None:
    got = blockyaml.load_documents(text)
    if got is not None:
        expected = pyyaml(text)
        assert not isinstance(expected, Exception), f"PyYAML rejects this text but the reader answered {got!r}"
        assert same(got, expected), (got, expected)
    return got


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_repo_files_declined_or_identical(path: Path) -> None:
    assert_declines_or_agrees(path.read_text(encoding="utf-8"))


def test_the_usual_manifests_are_read_without_pyyaml() -> None:
    text = synthetic_config_text(200, seed=4)
    assert assert_declines_or_agrees(text) is not None
    kubectl_style = (
        "# a comment\n"
        "apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1\n"
        "kind: RouteTable   # trailing comment\n"
        "metadata:\n"
        "  name: reviews\n"
        "  labels:\n"
        "    app.kubernetes.io/name: \"reviews\"\n"
        "    tier: 'l1'\n"
        "spec:\n"
        "  weight: 10\n"
        "  routes:\n"
        "  - name: v1\n"
        "    matchers:\n"
        "      - uri:\n"
        "          prefix: /v1\n"
        "        headers: []\n"
        "        method: GET\n"
        "    options: {}\n"
        "  -   name: catch-all\n"
        "      labels:\n"
        "      enabled: yes\n"
        "      ratio: 0.5\n"
        "      when: 2026-11-23\n"
        "---\n"
        "--- # empty document above\n"
        "kind: Service\n"
    )
    got = assert_declines_or_agrees(kubectl_style)
    assert got is not None and len(got) == 3 and got[1] is None
    assert got[0]["spec"]["routes"][1] == {"name": "catch-all", "labels": None, "enabled": True, "ratio": 0.5,
                                           "when": "2026-11-23"}


@pytest.mark.parametrize("text", [
    "a: &x 1\nb: *x\n", "a: !!str 1\n", "a: |\n  text\n", "a: >\n  folded\n", "a: {b: 1}\n", "a: [1, 2]\n",
    "a: \"esc\\tape\"\n", "a: 'multi\n  line'\n", "a: plain\n  continued\n", "- a\n  b\n", "a: 1\na: 2\n",
    "'quoted key': 1\n", "? complex\n: value\n", "<<: {a: 1}\n", "a:\tb\n", "a: 1\r\nb: 2\r\n", "a: 1\rb: 2\n",
    "a: 1\n...\n", "%YAML 1.1\n---\na: 1\n", "--- a\n", "a:\n  b: 1\n c: 2\n", "a: b: c\n", "a: x:\n",
    "- a\nb: 1\n", "a: 1\n- b\n", "a:\n  - x\n - y\n", "\ufeffa: 1\n", "a: \x85\n", "a: \x07\n", "-\n  a: 1\n",
    "a: - b\n", "key : v\n", ": v\n", "a: 'x' y\n", "a: 'x'#c\n", "=: 1\n", "a: =\n", "a: @x\n", "a: `x\n",
    "just a scalar\n", "a: 1\n  # indented comment\nb: 2\n", "a: 'it''s'\n", "a: \"x # y\"  # z\n",
    "a: x #c\nb: x#c\n", "1: one\ntrue: t\n~: n\n", "a: 0x1F\nb: 1_000\nc: 1:20\nd: .inf\ne: 010\n",
    "a:\n- b\n-   - c\n    - d\n- e: f\n  g: h\n", "  indented: root\n  second: key\n", "a:   \n  b: 1\n",
])
def test_tricky_texts_are_declined_or_read_exactly(text: str) -> None:
    assert_declines_or_agrees(text)


@pytest.mark.parametrize("text", [
    "a: &x 1\nb: *x\n", "a: |\n  text\n", "a: {b: 1}\n", "a: 1\na: 2\n", "a: plain\n  continued\n",
    "a: \"esc\\tape\"\n", "a:\tb\n",
])
def test_constructs_outside_the_subset_are_declined(text: str) -> None:
    assert blockyaml.load_documents(text) is None


PLAIN_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=10)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False), PLAIN_TEXT,
    st.sampled_from(["yes", "No", "on", "~", "null", "0x1F", "1_000", ".inf", "2026-11-23", "1:20", "-x", "a #b",
                     "a: b", "a:", "'q'", "\"d\"", "#c", "- x", "{}", "[]", "", " lead", "trail ", "x\ny"]),
)
DATA = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(PLAIN_TEXT, st.integers(0, 9), st.booleans()), inner, max_size=4)), max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(DATA, min_size=1, max_size=3), st.sampled_from([2, 4]), st.booleans(), st.booleans())
def test_dumped_documents(documents: list[Any], indent: int, explicit_start: bool, flow: bool) -> None:
    text = yaml.safe_dump_all(documents, sort_keys=False, indent=indent, explicit_start=explicit_start,
                              default_flow_style=None if flow else False, allow_unicode=True)
    assert_declines_or_agrees(text)


# a letter, then up to five more characters: built, not filtered (filtering 70% away tripped hypothesis's health check)
SIMPLE = st.builds(str.__add__, st.sampled_from("abcxyz"), st.text(st.sampled_from("abcxyz-_./0123456789"), max_size=5))
SIMPLE_DATA = st.recursive(st.one_of(SIMPLE, st.integers(), st.booleans()), lambda inner: st.one_of(
    st.lists(inner, min_size=1, max_size=3), st.dictionaries(SIMPLE, inner, min_size=1, max_size=3)), max_leaves=15)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(st.dictionaries(SIMPLE, SIMPLE_DATA, min_size=1, max_size=4), min_size=1, max_size=3))
def test_plain_manifests_are_answered(documents: list[Any]) -> None:
    text = yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False)
    got = assert_declines_or_agrees(text)
    assert got is not None  # this is the subset the reader exists for


EDITS = st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(
    [" ", "  ", "-", "- ", ":", ": ", "#", " #", "'", '"', "\n", "\n  ", "{", "[", "&a ", "*a", "!", "|", "---\n",
     "\t", "x", "1", "~", "\r", "%", "@"]), st.booleans()), min_size=1, max_size=4)


@settings(max_examples=400, deadline=None)
@given(EDITS)
def test_damaged_manifests_never_get_an_answer_pyyaml_would_not_give(edits: list[tuple[int, str, bool]]) -> None:
    text = synthetic_config_text(12, seed=2)
    for position, piece, delete in edits:
        at = position % (len(text) + 1)
        text = text[:at] + text[at + len(piece):] if delete else text[:at] + piece + text[at:]
    assert_declines_or_agrees(text)


def test_parse_text_uses_the_reader_and_keeps_locations() -> None:
    text = synthetic_config_text(50, seed=3)
    docs, findings = yamldoc.parse_text(text, "synth.yaml")
    assert not findings and len(docs) == len(blockyaml.load_documents(text) or [])
    line, column = docs[1].locate(("spec", "routes", 0, "name"))
    assert text.splitlines()[line - 1][column - 1:].startswith("to-")


# --- positions, for locating findings -------------------------------------------------------------------------

def all_paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix, prefix + ("no-such-key",), prefix + (99,)]
    if isinstance(data, dict):
        for k, v in data.items():
            out += all_paths(v, prefix + (str(k),))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += all_paths(v, prefix + (i,))
    return out


def pyyaml_position(node: yaml.Node | None, path: tuple[Any, ...]) -> tuple[int, int] | None:
    if node is None:
        return None
    at = (node.start_mark.line, node.start_mark.column)
    for part in path:
        node = yamldoc._child(node, part)
        if node is None:
            break
        at = (node.start_mark.line, node.start_mark.column)
    return at


def assert_positions_like_pyyaml(text: str) -> bool:
    where = blockyaml.positions(text)
    if where is None:
        return False
    nodes = list(yaml.compose_all(text, Loader=yaml.CSafeLoader))
    data = blockyaml.load_documents(text)
    assert data is not None and where.documents == len(nodes) == len(data)
    for index, (node, doc) in enumerate(zip(nodes, data, strict=True)):
        if doc is None:
            continue  # an empty document becomes no Document, so nothing in it is ever located
        for path in all_paths(doc):
            assert where.locate(index, path) == pyyaml_position(node, path), (index, path)
    return True


def test_positions_of_the_usual_manifest_match_pyyaml_marks() -> None:
    assert assert_positions_like_pyyaml(synthetic_config_text(30, seed=5))
    assert assert_positions_like_pyyaml(
        "a:\nb: 1\nc:\n  d: x\ne:\n- 1\n-   k: v\n    z:\nf: 'q'   # c\ng:   # c\n  - y\n  - - n\n    - {}\n"
        "h: \"dq\"\n---\n---\ni: [] # c\n")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(st.dictionaries(SIMPLE, SIMPLE_DATA, min_size=1, max_size=4), min_size=1, max_size=3),
       st.sampled_from([2, 4]))
def test_positions_of_plain_manifests_match_pyyaml_marks(documents: list[Any], indent: int) -> None:
    text = yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False, indent=indent)
    assert assert_positions_like_pyyaml(text)


def test_locating_a_finding_does_not_compose_a_plain_document(monkeypatch: pytest.MonkeyPatch) -> None:
    text = synthetic_config_text(40, seed=6)
    docs, _ = yamldoc.parse_text(text, "synth.yaml")
    monkeypatch.setattr(yamldoc.SourceText, "document_node", lambda *a: pytest.fail("composed with PyYAML"))
    line, column = docs[3].locate(("spec", "routes", 1, "matchers", 0, "uri"))
    assert text.splitlines()[line - 1][column - 1:].split(":")[0] in ("prefix", "exact", "regex")


def test_block_nesting_deeper_than_the_limit_is_left_to_pyyaml_which_reports_it() -> None:
    def nested(depth: int) -> str:  # `depth` mappings, one inside the other
        return "".join("  " * i + "k:\n" for i in range(depth - 1)) + "  " * (depth - 1) + "k: v\n"

    assert blockyaml.load_documents(nested(yamldoc.MAX_DEPTH)) is not None
    assert blockyaml.load_documents(nested(yamldoc.MAX_DEPTH + 1)) is None
    docs, findings = yamldoc.parse_text(nested(yamldoc.MAX_DEPTH + 1), "deep.yaml")
    assert docs == [] and [f.code for f in findings] == ["too-deep"]


@pytest.mark.parametrize("text", ["a: b\x07\n", "a: \x7f\n", "a: caf\u00e9\n", "a: \u2028\n", "a: \ufeff\n"])
def test_unusual_characters_are_found_in_ascii_and_other_texts(text: str) -> None:
    assert (blockyaml.load_documents(text) is None) == (text != "a: caf\u00e9\n")
