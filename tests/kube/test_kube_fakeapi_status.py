"""The fake API server's Leases and status subresource, driven through the real `kubernetes` client."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Iterator

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from .fakeapi import FakeApiServer
from .objects import GLOO_ENTERPRISE, route_table

GROUP, VERSION = GLOO_ENTERPRISE.split("/")


@pytest.fixture
def api(kubeconfig_path: Path) -> Iterator[k8s.ApiClient]:
    api = k8s_config.new_client_from_config(config_file=str(kubeconfig_path), context="east", persist_config=False)
    yield api
    api.close()


def _lease(name: str, holder: str) -> k8s.V1Lease:
    now = datetime.datetime.now(datetime.timezone.utc)
    return k8s.V1Lease(metadata=k8s.V1ObjectMeta(name=name, namespace="gloo-mesh"),
                       spec=k8s.V1LeaseSpec(holder_identity=holder, lease_duration_seconds=15,
                                            acquire_time=now, renew_time=now, lease_transitions=0))


def test_leases_create_get_update_and_conflict(api: k8s.ApiClient) -> None:
    leases = k8s.CoordinationV1Api(api)
    created = leases.create_namespaced_lease("gloo-mesh", _lease("meshctl-xds", "replica-a"))
    assert created.spec.holder_identity == "replica-a" and created.metadata.resource_version
    with pytest.raises(ApiException) as caught:
        leases.create_namespaced_lease("gloo-mesh", _lease("meshctl-xds", "replica-b"))
    assert caught.value.status == 409 and "AlreadyExists" in caught.value.body

    read = leases.read_namespaced_lease("meshctl-xds", "gloo-mesh")
    read.spec.holder_identity = "replica-b"
    updated = leases.replace_namespaced_lease("meshctl-xds", "gloo-mesh", read)
    assert updated.spec.holder_identity == "replica-b"
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)

    created.spec.holder_identity = "replica-c"  # written against the old resourceVersion
    with pytest.raises(ApiException) as caught:
        leases.replace_namespaced_lease("meshctl-xds", "gloo-mesh", created)
    assert caught.value.status == 409 and "the object has been modified" in caught.value.body
    assert leases.read_namespaced_lease("meshctl-xds", "gloo-mesh").spec.holder_identity == "replica-b"


def test_status_writes_change_only_status_and_keep_generation(api: k8s.ApiClient, east: FakeApiServer) -> None:
    custom = k8s.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", "routetables", route_table("reviews", "bookinfo"))
    obj = custom.get_namespaced_custom_object(GROUP, VERSION, "bookinfo", "routetables", "reviews")
    assert obj["metadata"]["generation"] == 1 and "status" not in obj

    # a status patch that also tries to change the spec: only the status lands
    patched = custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, "bookinfo", "routetables", "reviews",
        {"spec": {"weight": 99}, "status": {"state": "ACCEPTED", "observedGeneration": 1}})
    assert patched["status"] == {"state": "ACCEPTED", "observedGeneration": 1}
    assert patched["spec"]["weight"] == 0 and patched["metadata"]["generation"] == 1
    assert int(patched["metadata"]["resourceVersion"]) > int(obj["metadata"]["resourceVersion"])

    # a write to the object itself ignores status, and a spec change bumps the generation
    patched["spec"]["weight"] = 5
    patched["status"] = {"state": "INVALID"}
    replaced = custom.replace_namespaced_custom_object(GROUP, VERSION, "bookinfo", "routetables", "reviews", patched)
    assert replaced["metadata"]["generation"] == 2
    assert replaced["status"] == {"state": "ACCEPTED", "observedGeneration": 1}

    # PUT .../status with a stale resourceVersion conflicts
    stale = dict(patched, status={"state": "WARNING"})
    with pytest.raises(ApiException) as caught:
        custom.replace_namespaced_custom_object_status(GROUP, VERSION, "bookinfo", "routetables", "reviews", stale)
    assert caught.value.status == 409
    fresh = custom.get_namespaced_custom_object_status(GROUP, VERSION, "bookinfo", "routetables", "reviews")
    fresh["status"] = {"state": "WARNING", "observedGeneration": 2}
    done = custom.replace_namespaced_custom_object_status(GROUP, VERSION, "bookinfo", "routetables", "reviews", fresh)
    assert done["status"]["state"] == "WARNING" and done["metadata"]["generation"] == 2


def test_status_on_create_is_dropped_and_status_rbac_is_its_own_resource(api: k8s.ApiClient,
                                                                         east: FakeApiServer) -> None:
    custom = k8s.CustomObjectsApi(api)
    body = route_table("ratings", "bookinfo")
    body["status"] = {"state": "ACCEPTED"}
    created = custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", "routetables", body)
    assert "status" not in created
    east.deny("patch", "routetables/status")
    with pytest.raises(ApiException) as caught:
        custom.patch_namespaced_custom_object_status(GROUP, VERSION, "bookinfo", "routetables", "ratings",
                                                     {"status": {"state": "ACCEPTED"}})
    assert caught.value.status == 403 and 'cannot patch resource \\"routetables/status\\"' in caught.value.body
    # the object itself is still writable
    custom.patch_namespaced_custom_object(GROUP, VERSION, "bookinfo", "routetables", "ratings", {"spec": {"weight": 3}})
    resources = {r.name for r in custom.get_api_resources(GROUP, VERSION).resources}
    assert {"routetables", "routetables/status"} <= resources


def test_status_of_a_kind_without_the_subresource_is_404(kubeconfig_path: Path) -> None:
    from meshctl.sources.kube_client import KubeClient, KubeError

    client = KubeClient("east", str(kubeconfig_path))
    try:
        with pytest.raises(KubeError) as caught:
            client.request("GET", "/api/v1/namespaces/bookinfo/endpoints/productpage/status")
        assert caught.value.code == 404
    finally:
        client.close()
