"""The direct node-to-data builder gives exactly what PyYAML's constructor gives (data, duplicates, errors)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from meshctl.model import yamldoc

REPO = Path(__file__).resolve().parents[2]
YAML_FILES = sorted(p for pattern in ("docs/**/*.yaml", "meshctl/**/*.yaml", "tests/**/*.yaml", "deploy/**/*.yaml") for p in REPO.glob(pattern))


def via_constructor(text: str) -> tuple[list, list]:
    """parse_text with the fast path switched off: every document goes through PyYAML's constructor."""
    original = yamldoc._build_document

    def refuse(loader, node):  # type: ignore[no-untyped-def]
        raise yamldoc._Unusual

    yamldoc._build_document = refuse
    try:
        docs, findings = yamldoc.parse_text(text, "t.yaml")
    finally:
        yamldoc._build_document = original
    return [(d.index, d.base, d.data) for d in docs], findings


def via_fast_path(text: str) -> tuple[list, list]:
    docs, findings = yamldoc.parse_text(text, "t.yaml")
    return [(d.index, d.base, d.data) for d in docs], findings


def same(a: object, b: object) -> bool:
    """Equality that also tells 1 from 1.0 and True from 1, and takes NaN as equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b  # type: ignore[arg-type]
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    return a == b


def test_the_files_list_is_not_empty() -> None:
    assert len(YAML_FILES) > 40


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_yaml_file_in_the_repo(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert same(via_fast_path(text), via_constructor(text))


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["yes", "No", "on", "~", "null", "0x1F", "0o17", "1_000", "1.5e3", ".inf", "-.NaN",
                     "2026-11-23", "2026-11-23T05:00:00Z", "010", "+12", "1:20", "=", "<<", "true", ""]),
)
DATA = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=6), st.integers(0, 9)), inner,
                                                 max_size=4)), max_leaves=25)


@settings(max_examples=200, deadline=None)
@given(st.lists(DATA, min_size=1, max_size=3))
def test_random_documents_build_alike(documents: list) -> None:
    text = yaml.safe_dump_all(documents, sort_keys=False)
    assert same(via_fast_path(text), via_constructor(text))


@pytest.mark.parametrize("text", [
    "a: &x {b: 1}\nc: *x\n",                      # aliases share one object
    "base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n",  # merge keys: left to PyYAML
    "a: 1\na: 2\n'1': x\n1: y\n",                  # duplicate keys recorded, 1 and '1' differ
    "? [a, b]\n: c\n",                             # a collection key: PyYAML reports it
    "a: !custom 5\n",                              # an unknown tag: reported, next document still read
    "x: 2026-11-23T05:00:00Z\n---\n---\nk: v\n",   # timestamps stay text; empty documents
    "kind: List\nitems:\n- {kind: A}\n- 5\n",
])
def test_special_cases(text: str) -> None:
    fast, slow = via_fast_path(text), via_constructor(text)
    assert same(fast[0], slow[0])
    assert [(f.code, f.line, f.column, f.path) for f in fast[1]] == [(f.code, f.line, f.column, f.path) for f in slow[1]]


def test_aliases_share_the_object_like_pyyaml() -> None:
    docs, _ = yamldoc.parse_text("a: &x {b: 1}\nc: *x\n", "t.yaml")
    assert docs[0].data["a"] is docs[0].data["c"]
