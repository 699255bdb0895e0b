"""The YAML layer: decoding, splitting into documents, and locating any field at its file:line:column."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
import yaml

from meshctl.model.findings import Severity
from meshctl.model.yamldoc import (
    MAX_DEPTH,
    YAML_SUFFIXES,
    decode_text,
    expand_paths,
    load_files,
    parse_text,
    too_deep_finding,
    yaml_error_finding,
    yaml_files_below,
)

TWO_DOCS = textwrap.dedent("""\
    # leading comment
    apiVersion: v1
    kind: Service
    metadata:
      name: first
      labels: {app: a}
    spec:
      ports:
      - name: http
        port: 80
      - name: grpc
        port: 90
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: second}
    """)


def test_documents_locate_fields_by_path() -> None:
    docs, findings = parse_text(TWO_DOCS, "svc.yaml")
    assert findings == []
    first, second = docs
    assert first.data["metadata"]["name"] == "first"
    assert first.locate(()) == (2, 1)
    assert first.locate(("metadata", "name")) == (5, 9)
    assert first.locate(("metadata", "labels", "app")) == (6, 17)
    assert first.locate(("spec", "ports", 1)) == (11, 5)
    assert first.locate(("spec", "ports", 1, "port")) == (12, 11)
    assert second.locate(("metadata", "name")) == (16, 18)
    assert second.file == "svc.yaml"


def test_locate_falls_back_to_the_deepest_existing_ancestor() -> None:
    docs, _ = parse_text(TWO_DOCS, "svc.yaml")
    assert docs[0].locate(("spec", "ports", 7, "port")) == docs[0].locate(("spec", "ports"))
    assert docs[0].locate(("metadata", "namespace")) == docs[0].locate(("metadata",))


def test_a_finding_from_a_document_carries_location_and_path() -> None:
    docs, _ = parse_text(TWO_DOCS, "svc.yaml")
    f = docs[0].finding(Severity.WARNING, "x", "msg", ("spec", "ports", 0, "name"), resource="Service default/first")
    assert (f.file, f.line, f.column, f.path) == ("svc.yaml", 9, 11, "spec.ports[0].name")
    assert f.render() == "svc.yaml:9:11: warning[x] Service default/first spec.ports[0].name: msg"


def test_list_items_become_documents_with_positions_inside_the_list() -> None:
    text = textwrap.dedent("""\
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Service
          metadata: {name: a}
        - apiVersion: v1
          kind: Service
          metadata:
            name: b
        """)
    docs, findings = parse_text(text, "list.yaml")
    assert findings == []
    assert [d.data["metadata"]["name"] for d in docs] == ["a", "b"]
    assert docs[1].base == ("items", 1)
    assert docs[1].locate(("metadata", "name")) == (10, 11)


def test_empty_documents_between_separators_are_harmless() -> None:
    docs, findings = parse_text("---\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n", "f.yaml")
    assert findings == []
    assert len(docs) == 1
    assert docs[0].locate(("metadata", "name")) == (5, 18)


def test_positions_survive_a_syntax_error_in_a_later_document() -> None:
    """Regression: a broken later document used to put every earlier finding at 1:1."""
    text = TWO_DOCS + "---\nkind: [broken\n"
    docs, findings = parse_text(text, "f.yaml")
    assert [f.code for f in findings] == ["yaml-syntax"]
    assert findings[0].line == 19
    assert len(docs) == 2
    assert docs[0].locate(("spec", "ports", 1, "port")) == (12, 11)


def test_a_constructor_error_does_not_hide_the_following_documents() -> None:
    """Regression: an unhashable key in one document used to stop the whole file."""
    text = "? [a, b]\n: value\n---\n" + TWO_DOCS
    docs, findings = parse_text(text, "f.yaml")
    assert [(f.code, f.line) for f in findings] == [("yaml-syntax", 1)]
    assert "unhashable key" in findings[0].message
    assert [d.data["metadata"]["name"] for d in docs] == ["first", "second"]
    assert docs[0].locate(("metadata", "name")) == (8, 9)  # positions still line up after the skipped document


def test_unknown_tags_are_reported_not_executed() -> None:
    docs, findings = parse_text("!!python/object/apply:os.system ['echo hi']\n", "f.yaml")
    assert docs == []
    assert [f.code for f in findings] == ["yaml-syntax"]


def test_duplicate_keys_are_found_in_every_document_with_their_path() -> None:
    text = "a: 1\na: 2\n---\nb:\n  c: [{d: 1, d: 2}]\n"
    _, findings = parse_text(text, "f.yaml")
    assert [(f.code, f.line, f.column, f.path) for f in findings] == [
        ("duplicate-key", 2, 1, "a"),
        ("duplicate-key", 5, 14, "b.c[0].d"),
    ]


def test_keys_that_only_look_alike_are_not_duplicates() -> None:
    _, findings = parse_text("1: int\n'1': str\n", "f.yaml")
    assert findings == []


def test_timestamps_stay_text() -> None:
    docs, _ = parse_text("a: 2024-01-02T03:04:05Z\nkind: x\n", "f.yaml")
    assert docs[0].data["a"] == "2024-01-02T03:04:05Z"


def test_decode_accepts_a_byte_order_mark_and_reports_bad_bytes_where_they_are() -> None:
    text, findings = decode_text("\ufeffa: é\n".encode("utf-8"), "f.yaml")
    assert (text, findings) == ("a: é\n", [])
    text, findings = decode_text(b"a: 1\nb: \xff\xfe\n", "f.yaml")
    assert text is None
    assert [(f.code, f.line, f.column) for f in findings] == [("not-utf8", 2, 4)]
    text, findings = decode_text(b"a: 1\nb: 2\n\x00", "f.yaml")
    assert text is None
    assert [(f.code, f.line) for f in findings] == [("binary-file", 3)]


def test_utf16_text_is_reported_as_binary_not_decoded_as_garbage() -> None:
    _, findings = decode_text("a: 1\n".encode("utf-16"), "f.yaml")
    assert [f.code for f in findings] == ["binary-file"]


def test_nesting_limit_is_exact() -> None:
    """MAX_DEPTH levels load; one more is `too-deep` (the top-level mapping counts as one level)."""
    ok = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    docs, findings = parse_text(ok, "f.yaml")
    assert findings == [] and len(docs) == 1
    too_deep = "a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"
    docs, findings = parse_text(too_deep, "f.yaml")
    assert docs == [] and [(f.code, f.line, f.column) for f in findings] == [("too-deep", 1, 4 + MAX_DEPTH - 1)]


def test_very_deep_nesting_is_a_finding_not_a_crash() -> None:
    """Regression: ~30000 levels made libyaml's recursive composer segfault the process."""
    for text in ("[" * 100_000 + "]" * 100_000, "- " * 50_000 + "x", "a:\n" + "".join(
            " " * i + "- \n" for i in range(0, 1000, 2))):
        docs, findings = parse_text(text, "f.yaml")
        assert docs == []
        assert [f.code for f in findings] == ["too-deep"]


def test_expand_paths_finds_yaml_below_directories_in_stable_order(tmp_path: Path) -> None:
    for rel in ("b/z.yaml", "b/a.YML", "a.json", "notes.txt", "c/d/deep.yaml"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}\n")
    files, findings = expand_paths([tmp_path, tmp_path / "notes.txt", tmp_path / "missing.yaml"])
    rel = [p.relative_to(tmp_path).as_posix() for p in files]
    assert rel == ["a.json", "b/a.YML", "b/z.yaml", "c/d/deep.yaml", "notes.txt"]
    assert [(f.code, f.file) for f in findings] == [("path-not-found", str(tmp_path / "missing.yaml"))]


def test_the_directory_walk_lists_what_rglob_lists_in_its_order(tmp_path: Path) -> None:
    # names whose order differs between part-by-part and whole-string comparison ("a/x" vs "a-b"), case, dots,
    # a link to a file (listed), a link to a directory (not entered), a broken link (not a file)
    for rel in ("a/x.yaml", "a-b.yaml", "a.b/y.yml", "A/z.json", "a b/w.YAML", ".hidden.yaml", "a/.tmp.yaml.tmp",
                "a/b/c/deep.yaml", "Z.yaml", "z/notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("{}\n")
    os.symlink(tmp_path / "a/x.yaml", tmp_path / "link.yaml")
    os.symlink(tmp_path / "a", tmp_path / "linked-dir")
    os.symlink(tmp_path / "nowhere.yaml", tmp_path / "broken.yaml")
    want = sorted(f for f in tmp_path.rglob("*") if f.is_file() and f.suffix.lower() in YAML_SUFFIXES)
    assert yaml_files_below(tmp_path) == want
    assert len(want) == 9


def test_load_files_keeps_going_after_broken_files(tmp_path: Path) -> None:
    (tmp_path / "1-good.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: a}\n")
    (tmp_path / "2-binary.yaml").write_bytes(b"\x00\x01")
    (tmp_path / "3-syntax.yaml").write_text("a: [\n")
    (tmp_path / "4-good.json").write_text('{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "b"}}')
    loaded = load_files([tmp_path])
    assert [d.data["metadata"]["name"] for d in loaded.documents] == ["a", "b"]
    assert sorted((Path(f.file).name, f.code) for f in loaded.findings) == [
        ("2-binary.yaml", "binary-file"), ("3-syntax.yaml", "yaml-syntax")]
    assert len(loaded.files) == 4


def test_nesting_limit_is_below_libyaml_own_limit() -> None:
    """Fails loudly if a PyYAML/libyaml release lowers its own nesting limit below ours: MAX_DEPTH levels
    must still load through the C loader, so `too-deep` stays the only finding for deep nesting."""
    text = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    assert len(list(yaml.parse(text, Loader=yaml.CSafeLoader))) > 2 * MAX_DEPTH


def test_too_deep_is_found_by_cause_when_the_parser_refuses_first() -> None:
    """Whatever a parser says about nesting (libyaml's 'exceeded maximum nesting depth', a future wording),
    the operator gets `too-deep` with file and line: the cause is measured, the message is not read."""
    text = "a:\n  b: " + "[" * 2000 + "]" * 2000 + "\n"
    try:
        yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        finding = yaml_error_finding(exc, text, "f.yaml")
        assert (finding.code, finding.file, finding.line) == ("too-deep", "f.yaml", 2)
    else:  # a libyaml without a limit of its own: the pre-check must find it
        finding = too_deep_finding(text, "f.yaml")
        assert finding is not None and finding.code == "too-deep"
    syntax = "a: [1, 2\n"
    with pytest.raises(yaml.YAMLError) as info:
        yaml.load(syntax, Loader=yaml.CSafeLoader)
    assert yaml_error_finding(info.value, syntax, "f.yaml").code == "yaml-syntax"
