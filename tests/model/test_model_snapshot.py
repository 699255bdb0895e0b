"""Snapshots: indexed resources, namespace defaulting and duplicate detection across files."""

from __future__ import annotations

from pathlib import Path

from meshctl.model.resources import Cluster, Service, VirtualHost
from meshctl.model.snapshot import demo_files, load_snapshot, snapshot_from_text

SERVICES = """\
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo}
---
apiVersion: v1
kind: Service
metadata: {name: ratings}
---
apiVersion: meshctl.io/v1alpha1
kind: Cluster
metadata: {name: cluster-1}
"""


def test_lookup_by_kind_and_key() -> None:
    snap = snapshot_from_text(SERVICES, "svc.yaml")
    assert len(snap) == 3 and not snap.has_errors
    assert snap.get("Service", "bookinfo", "reviews").name == "reviews"
    assert snap.get("Service", "default", "ratings") is not None  # namespace defaulted like kubectl
    assert snap.get("Cluster", "", "cluster-1") is not None  # cluster-scoped: no namespace
    assert snap.get("Service", "bookinfo", "nope") is None
    assert [r.name for r in snap.of_kind("Service")] == ["reviews", "ratings"]
    assert [type(r) for r in snap.typed(Service)] == [Service, Service]
    assert snap.typed(Cluster)[0].display == "Cluster cluster-1"
    assert snap.typed(VirtualHost) == [] and snap.of_kind("Nope") == []
    assert [r.ref for r in snap] == ["Service/bookinfo/reviews", "Service/default/ratings", "Cluster/cluster-1"]
    assert snap.files == ("svc.yaml",)


def test_resources_point_back_at_their_text() -> None:
    snap = snapshot_from_text(SERVICES, "svc.yaml")
    reviews = snap.get("Service", "bookinfo", "reviews")
    assert reviews.locate(("metadata", "name")) == ("svc.yaml", 3, 18)
    assert reviews.raw["metadata"] == {"name": "reviews", "namespace": "bookinfo"}


def test_duplicates_across_files_keep_the_first(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata: {name: x, labels: {from: a}}\n")
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  labels: {from: b}\n")
    snap = load_snapshot([tmp_path])
    assert snap.get("Service", "default", "x").labels == {"from": "a"}
    (dup,) = snap.findings
    assert (dup.code, dup.file, dup.line, dup.column) == ("duplicate-resource", str(tmp_path / "b.yaml"), 4, 9)
    assert f"{tmp_path / 'a.yaml'}:3" in dup.message
    assert snap.has_errors and len(snap) == 1


def test_same_name_in_other_namespace_or_kind_is_not_a_duplicate() -> None:
    text = SERVICES + "---\napiVersion: v1\nkind: Service\nmetadata: {name: reviews, namespace: other}\n" \
                      "---\napiVersion: v1\nkind: Pod\nmetadata: {name: reviews, namespace: bookinfo}\n"
    snap = snapshot_from_text(text, "f.yaml")
    assert snap.findings == () and len(snap) == 5


def test_resources_without_a_name_are_not_duplicates_of_each_other() -> None:
    """Regression: two nameless resources also got a confusing 'Service a/ is defined twice'."""
    text = "apiVersion: v1\nkind: Service\nmetadata: {namespace: a}\n---\n" \
           "apiVersion: v1\nkind: Service\nmetadata: {namespace: a, name: ''}\n"
    snap = snapshot_from_text(text, "f.yaml")
    assert [(f.code, f.line) for f in snap.findings] == [("missing-field", 3), ("missing-field", 7)]
    assert len(snap) == 2


def test_demo_and_paths_load_together(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: extra, namespace: demo}\n")
    snap = load_snapshot([extra], demo=True)
    assert snap.files == (*map(str, demo_files()), str(extra))
    assert snap.get("Service", "demo", "extra") is not None
    assert len(snap) == len(load_snapshot(demo=True)) + 1
