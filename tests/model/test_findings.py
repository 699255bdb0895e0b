"""Findings: field paths, rendering, JSON shape and the order they are reported in."""

from __future__ import annotations

from meshctl.model.findings import Finding, Severity, format_path, sort_findings


def test_format_path() -> None:
    assert format_path(("spec", "routes", 2, "matchers", 0, "uri")) == "spec.routes[2].matchers[0].uri"
    assert format_path(("items", 3)) == "items[3]"
    assert format_path(()) == ""
    assert format_path(("metadata", "labels", "app.kubernetes.io/name")) == "metadata.labels.app.kubernetes.io/name"


def test_render_names_location_resource_and_path() -> None:
    f = Finding(Severity.ERROR, "bad-regex", "RE2 rejects it", file="a.yaml", line=3, column=7,
                resource="VirtualHost web/shop", path="spec.routes[0]")
    assert f.render() == "a.yaml:3:7: error[bad-regex] VirtualHost web/shop spec.routes[0]: RE2 rejects it"
    assert Finding(Severity.WARNING, "w", "m", file="a.yaml").render() == "a.yaml: warning[w] m"
    assert Finding(Severity.INFO, "i", "m").render() == "<unknown>: info[i] m"
    assert Finding(Severity.ERROR, "e", "m", file="a.yaml", line=4).location() == "a.yaml:4:1"


def test_to_dict_has_the_documented_keys() -> None:
    f = Finding(Severity.WARNING, "unknown-kind", "msg", file="a.yaml", line=1, column=2, resource="Foo ns/x",
                path="kind")
    assert f.to_dict() == {"severity": "warning", "code": "unknown-kind", "file": "a.yaml", "line": 1,
                           "column": 2, "resource": "Foo ns/x", "path": "kind", "message": "msg"}
    extra = Finding(Severity.INFO, "c", "m", routes=("r1", "r2"), witness="GET /x").to_dict()
    assert extra["routes"] == ["r1", "r2"] and extra["witness"] == "GET /x"


def test_sort_by_file_line_column_then_severity() -> None:
    a = Finding(Severity.WARNING, "w", "m", file="a.yaml", line=2, column=1)
    b = Finding(Severity.ERROR, "e", "m", file="a.yaml", line=2, column=1)
    c = Finding(Severity.ERROR, "e", "m", file="a.yaml", line=10, column=1)
    d = Finding(Severity.ERROR, "e", "m", file="b.yaml", line=1, column=1)
    e = Finding(Severity.ERROR, "e", "m")
    assert sort_findings([d, c, a, b, e]) == [e, b, a, c, d]
