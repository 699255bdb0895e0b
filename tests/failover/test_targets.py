"""Failover targets: parsing, and resolution against the built-in demo mesh (placeholder addresses)."""

from __future__ import annotations

import pytest

from meshctl.failover.targets import Target, TargetError, resolve
from meshctl.mesh.index import Locality, MeshIndex
from meshctl.model.snapshot import load_snapshot


@pytest.fixture(scope="module")
def index() -> MeshIndex:
    return MeshIndex(load_snapshot([], demo=True))


def addresses(target: str, index: MeshIndex) -> set[str]:
    return {e.ref.address for e in resolve(target, index)}


@pytest.mark.parametrize("text, expected", [
    ("cluster:cluster-2", Target("cluster", cluster="cluster-2")),
    ("locality:us-east-1", Target("locality", locality=Locality("us-east-1"))),
    ("locality:us-east-1/us-east-1a", Target("locality", locality=Locality("us-east-1", "us-east-1a"))),
    ("service:bookinfo/reviews", Target("service", namespace="bookinfo", name="reviews")),
    ("service:bookinfo/reviews@cluster-1,version=v1",
     Target("service", cluster="cluster-1", namespace="bookinfo", name="reviews", labels=(("version", "v1"),))),
])
def test_parse(text: str, expected: Target) -> None:
    parsed = Target.parse(text)
    assert (parsed.kind, parsed.cluster, parsed.locality, parsed.namespace, parsed.name, parsed.labels) == (
        expected.kind, expected.cluster, expected.locality, expected.namespace, expected.name, expected.labels)
    assert str(parsed) == text


@pytest.mark.parametrize("text", ["", "reviews", "pod:x", "cluster:", "cluster:a/b", "locality:/x",
                                  "service:reviews", "service:bookinfo/", "service:bookinfo/reviews@",
                                  "service:bookinfo/reviews,version", "locality:a/b/c/d"])
def test_malformed_targets_are_rejected(text: str) -> None:
    with pytest.raises(TargetError):
        Target.parse(text)


def test_cluster_target_selects_every_endpoint_of_that_cluster(index: MeshIndex) -> None:
    assert addresses("cluster:cluster-2", index) == {"10.2.0.23"}
    assert addresses("cluster:cluster-1", index) == {"10.1.0.10", "10.1.0.11", "10.1.0.12", "10.1.0.21", "10.1.0.22"}


def test_locality_target_includes_external_endpoints_there(index: MeshIndex) -> None:
    assert addresses("locality:us-west-1", index) == {"192.0.2.20"}
    assert "192.0.2.10" in addresses("locality:us-east-1/us-east-1a", index)
    assert addresses("locality:us-east-1/us-east-1b", index) == set()


def test_service_target_with_cluster_and_labels(index: MeshIndex) -> None:
    assert addresses("service:bookinfo/reviews", index) == {"10.1.0.21", "10.1.0.22", "10.2.0.23"}
    assert addresses("service:bookinfo/reviews@cluster-1", index) == {"10.1.0.21", "10.1.0.22"}
    assert addresses("service:bookinfo/reviews@cluster-1,version=v1", index) == {"10.1.0.21"}
    assert addresses("service:bookinfo/reviews,version=v3", index) == {"10.2.0.23"}
    assert addresses("service:bookinfo/reviews@cluster-2,version=v1", index) == set()


def test_external_service_target_selects_external_endpoints_by_name_or_label(index: MeshIndex) -> None:
    assert addresses("service:bookinfo/database", index) == {"192.0.2.10", "192.0.2.20"}
    assert addresses("service:bookinfo/database@db-dallas", index) == {"192.0.2.10"}
    assert addresses("service:bookinfo/database,datacenter=dc-a", index) == {"192.0.2.20"}
    (endpoint,) = resolve("service:bookinfo/database@db-west", index)
    assert (endpoint.ref.port, str(endpoint.locality), endpoint.cluster) == (80, "us-west-1/us-west-1a", "external")
