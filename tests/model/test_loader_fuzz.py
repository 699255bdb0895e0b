"""Property: however a valid document is mangled, loading and validating it returns findings and never raises."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Iterator

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshctl.model.findings import Finding, Severity
from meshctl.model.snapshot import demo_files, snapshot_from_text
from meshctl.model.validate import validate
from meshctl.model.yamldoc import decode_text

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
# sets nearly every modelled field (enums, selectors, every action and kind), so it is drawn half the time
KITCHEN_SINK = Path(__file__).resolve().parent / "data" / "kitchen-sink.yaml"
CORPUS_FILES = [KITCHEN_SINK, *sorted(EXAMPLES.rglob("*.yaml")), *demo_files()]
CORPUS = [p.read_text(encoding="utf-8") for p in CORPUS_FILES]
PARSED = [list(yaml.safe_load_all(text)) for text in CORPUS]

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load_and_validate(raw: bytes, name: str = "fuzz.yaml") -> tuple[str | None, list[Finding]]:
    """The path `meshctl validate` takes for one file's bytes."""
    text, findings = decode_text(raw, name)
    if text is None:
        return None, findings
    snapshot = snapshot_from_text(text, name)
    for resource in snapshot:
        resource.to_dict()  # dumping what was loaded must work too
    return text, validate(snapshot)


def assert_sane(findings: list[Finding], text: str | None, raw: bytes) -> None:
    assert isinstance(findings, list)
    # libyaml also breaks lines at \r, NEL and U+2028/9; splitlines() knows all of them (and a few more)
    lines = len((text if text is not None else raw.decode("utf-8", "replace")).splitlines()) + 2
    for f in findings:
        assert isinstance(f, Finding)
        assert isinstance(f.severity, Severity)
        assert f.code and isinstance(f.code, str)
        assert f.message and isinstance(f.message, str)
        assert f.file == "fuzz.yaml"
        if f.line is not None:
            assert 1 <= f.line <= lines, f.render()
        if f.column is not None:
            assert f.column >= 1, f.render()
        json.dumps(f.to_dict())
        f.render()


def all_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from all_paths(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from all_paths(v, path + (i,))


def parent_and_key(root: Any, path: tuple[Any, ...]) -> tuple[Any, Any]:
    node = root
    for part in path[:-1]:
        node = node[part]
    return node, path[-1]


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
)
REPLACEMENTS = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=6), SCALARS, max_size=3),
    st.sampled_from(["/a", "prefix", "(", "[a-", "*", "5s", "TABLE_WEIGHT", "VirtualHost", "RouteTable"]),
)


@st.composite
def mutated_documents(draw: st.DrawFn) -> bytes:
    """A corpus file whose parsed documents had keys dropped and values retyped, dumped back to YAML."""
    docs = copy.deepcopy(draw(st.one_of(st.just(PARSED[0]), st.sampled_from(PARSED))))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        # pick a key name first, then one of its places: rare fields (enums, refs) get hit as often as common ones
        by_name: dict[str, list[tuple[Any, ...]]] = {}
        for p in all_paths(docs):
            if p:
                by_name.setdefault(str(p[-1]) if isinstance(p[-1], str) else "[item]", []).append(p)
        if not by_name:
            break
        name = draw(st.sampled_from(sorted(by_name)))
        parent, key = parent_and_key(docs, draw(st.sampled_from(by_name[name])))
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[key]  # drop a key
        else:
            parent[key] = draw(REPLACEMENTS)  # retype a value
    return yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False).encode("utf-8")


@st.composite
def mangled_text(draw: st.DrawFn) -> bytes:
    """A corpus file with duplicated key lines, garbage bytes inserted and/or the text cut short."""
    raw = draw(st.one_of(st.just(CORPUS[0]), st.sampled_from(CORPUS))).encode("utf-8")
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        action = draw(st.sampled_from(["duplicate-key", "garbage", "truncate", "swap-lines"]))
        lines = raw.split(b"\n")
        if action == "duplicate-key":
            keyed = [i for i, line in enumerate(lines) if b":" in line]
            if keyed:
                i = draw(st.sampled_from(keyed))
                lines.insert(i + 1, lines[i])
                raw = b"\n".join(lines)
        elif action == "garbage":
            at = draw(st.integers(min_value=0, max_value=len(raw)))
            raw = raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]
        elif action == "truncate":
            raw = raw[: draw(st.integers(min_value=0, max_value=len(raw)))]
        elif len(lines) > 1:
            i = draw(st.integers(min_value=0, max_value=len(lines) - 2))
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
            raw = b"\n".join(lines)
    return raw


@FUZZ
@given(mutated_documents())
def test_dropped_keys_and_retyped_values_only_give_findings(raw: bytes) -> None:
    text, findings = load_and_validate(raw)
    assert_sane(findings, text, raw)


@FUZZ
@given(mangled_text())
def test_duplicate_keys_garbage_and_truncation_only_give_findings(raw: bytes) -> None:
    text, findings = load_and_validate(raw)
    assert_sane(findings, text, raw)


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_give_findings(raw: bytes) -> None:
    text, findings = load_and_validate(raw)
    assert_sane(findings, text, raw)


def test_the_unmutated_corpus_is_clean() -> None:
    """The mutations start from valid documents: every corpus file alone has no errors."""
    for path, text in zip(CORPUS_FILES, CORPUS, strict=True):
        _, findings = load_and_validate(text.encode("utf-8"))
        # a lone file may reference resources in its sibling files; type and syntax errors are never fine
        structural = [f.render() for f in findings
                      if f.severity is Severity.ERROR and f.code not in ("dangling-delegate-ref",)]
        assert structural == [], path


def test_every_field_of_every_kind_survives_every_wrong_type() -> None:
    """Exhaustive companion to the random tests: each field of the kitchen sink, retyped or dropped in turn."""
    scalars: list[Any] = [None, "text", 7, 2.5, True]
    collections: list[Any] = [["a", 1], {"k": [1]}]
    checked = 0
    for doc in PARSED[0]:
        for n, path in enumerate(p for p in all_paths(doc) if p):
            # per field: dropped, an unhashable collection and a scalar, both rotating through their kinds
            for value in (DROP, collections[n % len(collections)], scalars[n % len(scalars)]):
                mutated = copy.deepcopy(doc)
                parent, key = parent_and_key(mutated, path)
                if value is DROP:
                    if not isinstance(parent, dict):
                        continue
                    del parent[key]
                else:
                    parent[key] = value
                raw = yaml.dump(mutated, Dumper=yaml.CSafeDumper, sort_keys=False).encode("utf-8")
                text, findings = load_and_validate(raw)
                assert_sane(findings, text, raw)
                checked += 1
    assert checked > 1000  # the sweep really ran over the whole kitchen sink


DROP = object()
