"""Route options inherited field by field (child wins) and the VirtualHost's invalidRoutePolicy."""

from __future__ import annotations

from typing import Any

import pytest

from meshctl.model.findings import Severity
from meshctl.routing.actions import action_dict

from .helpers import build, delegate, findings, gateway, leaf, matcher, served, table, vh_view, vhost

M = matcher


def child_options(vh_options: dict | None, parent: dict | None, mid: dict | None, child: dict | None) -> dict[str, Any]:
    view = build(gateway(),
                 vhost([delegate("p", M(prefix="/p"), refs=["mid"], options=parent)],
                       options={"trafficPolicy": vh_options} if vh_options is not None else None),
                 table("mid", [delegate("m", M(prefix="/m"), refs=["low"], options=mid)]),
                 table("low", [leaf("c", M(prefix="/c"), options=child)]))
    (r,) = vh_view(view).routes
    return r.options.to_dict()


OPTIONS = [
    # (virtual host, delegating route, nested delegating route, child) -> effective options of the child
    (None, None, None, None, {}),
    ({"requestTimeout": "1s"}, None, None, None, {"requestTimeout": "1s"}),
    ({"requestTimeout": "1s"}, {"requestTimeout": "2s"}, None, None, {"requestTimeout": "2s"}),
    ({"requestTimeout": "1s"}, {"requestTimeout": "2s"}, {"requestTimeout": "3s"}, {"requestTimeout": "4s"},
     {"requestTimeout": "4s"}),
    # field by field: the child's retries do not remove the inherited timeout
    ({"requestTimeout": "1s"}, None, None, {"retries": {"attempts": 3}}, {"requestTimeout": "1s",
                                                                          "retries": {"attempts": 3}}),
    # top-level only: a child's retries replace the parent's retries whole (no deep merge)
    (None, {"retries": {"attempts": 5, "perTryTimeout": "1s"}}, None, {"retries": {"attempts": 2}},
     {"retries": {"attempts": 2}}),
    (None, {"headerManipulation": {"appendRequestHeaders": {"a": "1"}}}, {"requestTimeout": "3s"}, None,
     {"headerManipulation": {"appendRequestHeaders": {"a": "1"}}, "requestTimeout": "3s"}),
]


@pytest.mark.parametrize(("vh", "parent", "mid", "child", "expected"), OPTIONS)
def test_options_inherited_field_by_field_child_wins(vh: Any, parent: Any, mid: Any, child: Any,
                                                     expected: dict) -> None:
    assert child_options(vh, parent, mid, child) == expected


def test_sibling_options_do_not_leak() -> None:
    view = build(gateway(), vhost([delegate("p", M(prefix="/p"), refs=["t"], options={"requestTimeout": "1s"}),
                                   leaf("plain", M(prefix="/"))]),
                 table("t", [leaf("a", M(prefix="/a"), options={"retries": {"attempts": 1}}), leaf("b", M(prefix="/b"))]))
    got = {r.name: r.options.to_dict() for r in vh_view(view).routes}
    assert got == {"a": {"requestTimeout": "1s", "retries": {"attempts": 1}}, "b": {"requestTimeout": "1s"},
                   "plain": {}}


def test_labels_inherited_child_keys_win() -> None:
    view = build(gateway(), vhost([{**delegate("p", M(prefix="/p"), refs=["t"]), "labels": {"team": "a", "x": "1"}}]),
                 table("t", [leaf("c", labels={"x": "2"})]))
    assert vh_view(view).routes[0].labels == {"team": "a", "x": "2"}


# --- invalid routes ------------------------------------------------------------------------------------------

def with_invalid(policy: dict | None) -> Any:
    options = {"invalidRoutePolicy": policy} if policy is not None else None
    routes = [leaf("ok1", M(prefix="/ok1")), leaf("bad-regex", M(regex="/(")), leaf("ok2", M(prefix="/ok2")),
              {"name": "no-action", "matchers": [M(prefix="/none")]}]
    return build(gateway(), vhost(routes, options=options))


def test_unset_policy_the_virtual_host_produces_no_routes_and_is_reported() -> None:
    view = with_invalid(None)
    v = vh_view(view)
    assert v.invalid and v.routes == [] and len(v.all_routes) == 4
    (f,) = findings(view, "virtual-host-invalid")
    assert f.severity is Severity.ERROR and f.resource == "VirtualHost ns/vh"
    assert set(f.routes) == {r.id for r in v.all_routes if r.name in ("bad-regex", "no-action")}


def test_drop_policy_leaves_the_invalid_routes_out() -> None:
    view = with_invalid({"drop": {}})
    v = vh_view(view)
    assert not v.invalid and v.invalid_policy == "drop"
    assert served(view) == ["ok1", "ok2"]
    assert [v.index_of(r.id) for r in v.routes] == [0, 1]
    assert {v.index_of(r.id) for r in v.all_routes if not r.valid} == {None}  # dropped: no place in Envoy's list
    assert not findings(view, "virtual-host-invalid")


def test_a_route_place_follows_the_host_route_list_when_it_is_replaced() -> None:
    v = vh_view(with_invalid({"drop": {}}))
    first, second = v.routes
    assert (v.index_of(first.id), v.index_of(second.id)) == (0, 1)
    v.routes = [second]  # the map made on first use is of the old list: not used for the new one
    assert (v.index_of(first.id), v.index_of(second.id)) == (None, 0)


def test_direct_response_policy_answers_for_each_invalid_route() -> None:
    view = with_invalid({"directResponse": {"code": 503, "body": "broken"}})
    v = vh_view(view)
    assert v.invalid_policy == "directResponse"
    assert served(view) == ["ok1", "bad-regex", "ok2", "no-action"]
    replaced = {r.name: action_dict(r) for r in v.routes if not r.valid}
    assert replaced == {"bad-regex": {"type": "directResponse", "status": 503, "body": "broken"},
                        "no-action": {"type": "directResponse", "status": 503, "body": "broken"}}


def test_direct_response_policy_defaults() -> None:
    view = with_invalid({"directResponse": {}})
    r = [r for r in vh_view(view).routes if r.name == "no-action"][0]
    assert action_dict(r) == {"type": "directResponse", "status": 404, "body": "No valid route configured"}


def test_invalid_child_in_a_delegated_table_invalidates_the_virtual_host_without_policy() -> None:
    view = build(gateway(), vhost([delegate("d", M(prefix="/a", method="GET"), refs=["t"])]),
                 table("t", [leaf("good", M(prefix="/g")), leaf("conflict", M(prefix="/c", method="POST"))]))
    assert vh_view(view).invalid and served(view) == []


@pytest.mark.parametrize(("route", "code"), [
    ({"name": "none", "matchers": [M(prefix="/")]}, "route-no-action"),
    ({"name": "two", "matchers": [M(prefix="/")], "directResponseAction": {"status": 200},
      "redirectAction": {"hostRedirect": "x"}}, "route-multiple-actions"),
    ({"name": "status", "matchers": [M(prefix="/")], "directResponseAction": {"status": 700}}, "bad-status"),
])
def test_route_validity_errors(route: dict, code: str) -> None:
    view = build(gateway(), vhost([route], options={"invalidRoutePolicy": {"drop": {}}}))
    (f,) = findings(view, code)
    assert f.severity is Severity.ERROR and f.path and f.path.startswith("spec.routes[0]")
    assert served(view) == []
