"""Applying edits back: dry run first, resourceVersion precondition, conflicts as three-way diffs, clear refusals."""

from __future__ import annotations

import copy
from pathlib import Path

from meshctl.sources.kube_apply import apply_resource
from meshctl.sources.kube_manifest import clean_manifest

from .fakeapi import FakeApiServer
from .objects import GLOO_ENTERPRISE, route_table

RT_PATH = f"/apis/{GLOO_ENTERPRISE}/namespaces/bookinfo/routetables/reviews"


def _edit(server: FakeApiServer, **spec) -> tuple[dict, dict, str]:
    """(base, yours, base resourceVersion) as an editor would hold them."""
    live = server.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews")
    yours = copy.deepcopy(live)
    yours["spec"].update(spec)
    return live, yours, live["metadata"]["resourceVersion"]


def _writes(server: FakeApiServer, since: int = 0) -> list[tuple[str, bool]]:
    """(method, dry run?) of every write request the server received."""
    return [(m, q.get("dryRun") == ["All"]) for m, _, q in server.requests[since:] if m in ("PATCH", "POST", "PUT")]


def test_patch_goes_after_a_dry_run_and_carries_the_base_version(kubeconfig_path: Path, east: FakeApiServer) -> None:
    east.create(route_table("reviews", "bookinfo", weight=1))
    base, yours, rv = _edit(east, weight=5)
    result = apply_resource("east", yours, rv, kubeconfig=str(kubeconfig_path), base=base)
    assert result.ok and result.action == "configured", result.render()
    live = east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews")
    assert live["spec"]["weight"] == 5
    assert result.resource_version == live["metadata"]["resourceVersion"] != rv
    assert _writes(east) == [("PATCH", True), ("PATCH", False)]
    assert "-  weight: 1" in result.diff and "+  weight: 5" in result.diff


def test_fields_removed_in_the_edit_are_removed(kubeconfig_path: Path, east: FakeApiServer) -> None:
    east.create(route_table("reviews", "bookinfo", labels={"team": "a", "tier": "web"}))
    base, yours, rv = _edit(east)
    del yours["metadata"]["labels"]["tier"]
    yours["spec"]["routes"][0].pop("matchers")
    result = apply_resource("east", yours, rv, kubeconfig=str(kubeconfig_path), base=base)
    assert result.ok, result.render()
    live = east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews")
    assert live["metadata"]["labels"] == {"team": "a"}
    assert "matchers" not in live["spec"]["routes"][0]


def test_conflict_shows_base_live_and_yours_and_overwrites_nothing(kubeconfig_path: Path,
                                                                  east: FakeApiServer) -> None:
    east.create(route_table("reviews", "bookinfo", weight=1))
    base, yours, rv = _edit(east, weight=5)
    someone_else = copy.deepcopy(base)
    someone_else["spec"]["weight"] = 2
    east.update(someone_else)
    live_rv = east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews")["metadata"]["resourceVersion"]
    seen = len(east.requests)

    result = apply_resource("east", yours, rv, kubeconfig=str(kubeconfig_path), base=base)

    assert not result.ok and result.action == "conflict" and result.code == 409
    assert f"base resourceVersion {rv}, live {live_rv}" in result.message
    assert f"--- base (resourceVersion {rv})\n+++ live (resourceVersion {live_rv})" in result.diff
    assert f"--- live (resourceVersion {live_rv})\n+++ yours" in result.diff
    base_to_live, live_to_yours = result.diff.split(f"--- live (resourceVersion {live_rv})")
    assert "-  weight: 1" in base_to_live and "+  weight: 2" in base_to_live
    assert "-  weight: 2" in live_to_yours and "+  weight: 5" in live_to_yours
    assert east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews")["spec"]["weight"] == 2
    assert ("PATCH", False) not in _writes(east, seen)


def test_conflict_without_base_content_still_refuses(kubeconfig_path: Path, east: FakeApiServer) -> None:
    east.create(route_table("reviews", "bookinfo", weight=1))
    _, yours, rv = _edit(east, weight=5)
    east.update(east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews"))  # a no-op write bumps the version
    result = apply_resource("east", yours, rv, kubeconfig=str(kubeconfig_path))
    assert result.action == "conflict" and "+++ yours" in result.diff
    assert east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews")["spec"]["weight"] == 1


def test_object_deleted_since_the_edit_began_is_a_conflict(kubeconfig_path: Path, east: FakeApiServer) -> None:
    east.create(route_table("reviews", "bookinfo"))
    base, yours, rv = _edit(east, weight=3)
    east.delete(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews")
    result = apply_resource("east", yours, rv, kubeconfig=str(kubeconfig_path), base=base)
    assert result.action == "conflict" and "deleted on the server" in result.message
    assert east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews") is None


def test_rbac_denial_shows_the_server_message(kubeconfig_path: Path, east: FakeApiServer) -> None:
    east.create(route_table("reviews", "bookinfo", weight=1))
    east.tokens["token-admin"] = "system:serviceaccount:ops:viewer"
    east.deny("patch", "routetables", namespace="bookinfo")
    base, yours, rv = _edit(east, weight=9)
    result = apply_resource("east", yours, rv, kubeconfig=str(kubeconfig_path), base=base)
    assert result.action == "denied" and result.code == 403 and result.stage == "dry-run"
    assert (f'routetables.{GLOO_ENTERPRISE.split("/")[0]} "reviews" is forbidden: User '
            '"system:serviceaccount:ops:viewer" cannot patch resource "routetables"') in result.message
    assert east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews")["spec"]["weight"] == 1


def test_failed_dry_run_stops_the_apply(kubeconfig_path: Path, east: FakeApiServer) -> None:
    east.create(route_table("reviews", "bookinfo", weight=1))
    base, yours, rv = _edit(east, weight="heavy")
    seen = len(east.requests)
    result = apply_resource("east", yours, rv, kubeconfig=str(kubeconfig_path), base=base)
    assert result.action == "invalid" and result.code == 422 and result.stage == "dry-run"
    assert "spec.weight in body must be of type integer" in result.message
    assert result.causes and result.causes[0]["field"] == "spec.weight"
    assert _writes(east, seen) == [("PATCH", True)]
    assert east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews")["spec"]["weight"] == 1


def test_admission_denial_is_shown_with_its_message(kubeconfig_path: Path, east: FakeApiServer) -> None:
    message = 'admission webhook "validation.gloo.solo.io" denied the request: route "reviews-route" has no matcher'
    east.admission = lambda op, obj: (400, message) if obj["kind"] == "RouteTable" else None
    result = apply_resource("east", route_table("reviews", "bookinfo"), None, kubeconfig=str(kubeconfig_path))
    assert result.action == "invalid" and result.code == 400 and message in result.message
    assert east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews") is None


def test_new_object_is_created_after_a_dry_run(kubeconfig_path: Path, east: FakeApiServer) -> None:
    manifest = route_table("reviews", "bookinfo", weight=4)
    result = apply_resource("east", manifest, None, kubeconfig=str(kubeconfig_path))
    assert result.ok and result.action == "created", result.render()
    assert east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews")["spec"]["weight"] == 4
    assert _writes(east) == [("POST", True), ("POST", False)]


def test_dry_run_only_writes_nothing(kubeconfig_path: Path, east: FakeApiServer) -> None:
    east.create(route_table("reviews", "bookinfo", weight=1))
    base, yours, rv = _edit(east, weight=6)
    result = apply_resource("east", yours, rv, kubeconfig=str(kubeconfig_path), base=base, dry_run_only=True)
    assert result.ok and result.action == "dry-run" and "+  weight: 6" in result.diff
    assert east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews")["spec"]["weight"] == 1


def test_unchanged_object_sends_no_write(kubeconfig_path: Path, east: FakeApiServer) -> None:
    east.create(route_table("reviews", "bookinfo", weight=1))
    base, yours, rv = _edit(east)
    result = apply_resource("east", clean_manifest(yours, keep_resource_version=True), rv,
                            kubeconfig=str(kubeconfig_path), base=base)
    assert result.ok and result.action == "unchanged"
    assert _writes(east) == []


def test_read_only_refuses_without_contacting_the_cluster(kubeconfig_path: Path, east: FakeApiServer) -> None:
    seen = len(east.requests)
    result = apply_resource("east", route_table("reviews", "bookinfo"), None, kubeconfig=str(kubeconfig_path),
                            read_only=True)
    assert not result.ok and result.action == "read-only" and "read-only" in result.message
    assert len(east.requests) == seen


def test_unreachable_cluster_is_reported(kubeconfig_path: Path, east: FakeApiServer) -> None:
    east.stop()
    result = apply_resource("east", route_table("reviews", "bookinfo"), None, kubeconfig=str(kubeconfig_path))
    assert not result.ok and result.action == "error" and "cannot reach API server" in result.message


def test_merge_patch_between_sets_changes_and_nulls_removals() -> None:
    from meshctl.sources.kube_apply import merge_patch_between

    from .fakeapi import merge_patch

    source = {"spec": {"weight": 1, "routes": [{"name": "a"}], "keep": {"x": 1, "y": 2}}, "gone": True}
    target = {"spec": {"weight": 2, "routes": [{"name": "a"}, {"name": "b"}], "keep": {"x": 1}}, "new": "yes"}
    patch = merge_patch_between(source, target)
    assert patch == {"gone": None, "new": "yes",
                     "spec": {"weight": 2, "routes": [{"name": "a"}, {"name": "b"}], "keep": {"y": None}}}
    assert merge_patch(source, patch) == target
    assert merge_patch_between(target, target) == {}
