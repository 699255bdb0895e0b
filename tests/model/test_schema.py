"""The generic dataclass parser: field conversion, wrong types reported with paths, unknown keys kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from meshctl.model import schema
from meshctl.model.schema import Duration, Model, camel, duration_seconds, key, parse


@dataclass
class Inner(Model):
    name: str = ""
    count: int = 0


@dataclass
class Outer(Model):
    title: str = ""
    ratio: float | None = None
    enabled: bool = False
    mode: Literal["FAST", "SLOW"] = "FAST"
    timeout: Duration | None = None
    inner: Inner | None = None
    items: list[Inner] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    free: Any = None
    from_: str = field(default="", metadata=key("from"))
    max_retry_count: int = 0


def problems_of(value: Any) -> list[tuple[str, str]]:
    _, problems = parse(Outer, value, ("spec",))
    return [(schema.path_text(p), m) for p, m in problems.items]


def test_fields_are_read_by_camel_case_key() -> None:
    obj, problems = parse(Outer, {"title": "t", "maxRetryCount": 3, "from": "here", "inner": {"name": "n"},
                                  "items": [{"count": 1}, {"count": 2}], "tags": {"a": "b"}, "free": [1, {"x": 2}]})
    assert problems.items == []
    assert (obj.title, obj.max_retry_count, obj.from_) == ("t", 3, "here")
    assert obj.inner == Inner(name="n")
    assert [i.count for i in obj.items] == [1, 2]
    assert obj.tags == {"a": "b"} and obj.free == [1, {"x": 2}]


@pytest.mark.parametrize("value, expected", [
    ({"title": 5}, [("spec.title", "expected a string, got integer 5")]),
    ({"title": True}, [("spec.title", "expected a string, got boolean true")]),
    ({"enabled": "yes-please"}, [("spec.enabled", "expected true or false, got string 'yes-please'")]),
    ({"maxRetryCount": True}, [("spec.maxRetryCount", "expected an integer, got boolean true")]),
    ({"maxRetryCount": 1.5}, [("spec.maxRetryCount", "expected an integer, got number 1.5")]),
    ({"ratio": "half"}, [("spec.ratio", "expected a number, got string 'half'")]),
    ({"mode": "MEDIUM"}, [("spec.mode", "expected one of FAST, SLOW; got string 'MEDIUM'")]),
    ({"mode": ["FAST"]}, [("spec.mode", "expected one of FAST, SLOW; got a list")]),
    ({"mode": {"FAST": 1}}, [("spec.mode", "expected one of FAST, SLOW; got a mapping")]),
    ({"timeout": 5}, [("spec.timeout", 'expected a duration such as "5s" or "250ms", got integer 5')]),
    ({"timeout": "5 seconds"}, [("spec.timeout", 'expected a duration such as "5s" or "250ms", got string \'5 seconds\'')]),
    ({"inner": "x"}, [("spec.inner", "expected a mapping, got string 'x'")]),
    ({"items": "x"}, [("spec.items", "expected a list, got string 'x'")]),
    ({"items": [{"count": "1"}, 3]}, [("spec.items[0].count", "expected an integer, got string '1'"),
                                      ("spec.items[1]", "expected a mapping, got integer 3")]),
    ({"tags": {"a": 1, 2: "b"}}, [("spec.tags.a", "expected a string, got integer 1"),
                                  ("spec.tags", "keys must be strings, got integer 2")]),
    ({"tags": ["a"]}, [("spec.tags", "expected a mapping, got a list")]),
])
def test_wrong_types_are_reported_with_their_path(value: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert problems_of(value) == expected


def test_a_wrong_value_is_left_at_its_default_and_kept_for_dumping() -> None:
    obj, _ = parse(Outer, {"title": 5, "items": [{"count": "x"}, 7, {"count": 2}]})
    assert obj.title == ""
    assert [i.count for i in obj.items] == [0, 2]  # the item that is not a mapping is left out
    out = obj.to_dict()
    assert out["title"] == 5
    assert out["items"] == [{"count": "x"}, {"count": 2}]


def test_explicit_null_means_absent_but_is_dumped_back() -> None:
    obj, problems = parse(Outer, {"title": None, "items": None, "mode": None})
    assert problems.items == []
    assert (obj.title, obj.items, obj.mode) == ("", [], "FAST")
    assert obj.to_dict() == {"title": None, "items": None, "mode": None}


def test_literal_does_not_confuse_equal_values_of_other_types() -> None:
    @dataclass
    class Flag(Model):
        level: Literal[1, 2] = 1

    obj, problems = parse(Flag, {"level": True})  # True == 1 in Python, but it is not the integer 1
    assert obj.level == 1 and len(problems.items) == 1


def test_unknown_keys_are_kept_in_order() -> None:
    value = {"zeta": 1, "title": "t", "alpha": {"deep": [1]}, "inner": {"name": "n", "later": True}}
    obj, problems = parse(Outer, value)
    assert problems.items == []
    assert obj._extra == {"zeta": 1, "alpha": {"deep": [1]}}
    assert obj.inner._extra == {"later": True}
    assert list(obj.to_dict()) == ["zeta", "title", "alpha", "inner"]
    assert obj.to_dict() == value


def test_to_dict_writes_changed_fields_and_skips_defaults() -> None:
    obj = Outer(title="made in code", items=[Inner(name="a")], timeout=Duration("2s"))
    assert obj.to_dict() == {"title": "made in code", "timeout": "2s", "items": [{"name": "a"}]}
    assert type(obj.to_dict()["timeout"]) is str


def test_parse_of_a_non_mapping_gives_a_default_object_and_a_problem() -> None:
    obj, problems = parse(Outer, ["not", "a", "mapping"], ("spec",))
    assert obj == Outer()
    assert [(schema.path_text(p), m) for p, m in problems.items] == [("spec", "expected a mapping, got a list")]


@pytest.mark.parametrize("text, seconds", [("5s", 5.0), ("1.5s", 1.5), ("250ms", 0.25), ("2m", 120.0),
                                           ("1h", 3600.0), (" 3s ", 3.0)])
def test_durations(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds
    assert Duration(text).seconds == seconds


@pytest.mark.parametrize("text", ["5", "s", "-1s", "1.s", "5sec", ""])
def test_invalid_durations_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        duration_seconds(text)


def test_camel() -> None:
    assert camel("route_action") == "routeAction"
    assert camel("from_") == "from"
    assert camel("name") == "name"
    assert camel("sub_zone") == "subZone"
