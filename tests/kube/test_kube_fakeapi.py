"""The fake API server answers the real `kubernetes` client the way a real API server does."""

from __future__ import annotations

from pathlib import Path

import pytest
import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException

from .fakeapi import FakeApiServer
from .objects import GLOO_ENTERPRISE, route_table, service

GROUP, VERSION = GLOO_ENTERPRISE.split("/")


@pytest.fixture
def api(kubeconfig_path: Path) -> k8s.ApiClient:
    api = k8s_config.new_client_from_config(config_file=str(kubeconfig_path), context="east", persist_config=False)
    yield api
    api.close()


def test_discovery_lists_core_builtin_and_crd_groups(api: k8s.ApiClient) -> None:
    assert "v1" in k8s.CoreApi(api).get_api_versions().versions
    groups = {g.name for g in k8s.ApisApi(api).get_api_versions().groups}
    assert {"discovery.k8s.io", GROUP, "networking.mesh.gloo.solo.io"} <= groups
    resources = k8s.CustomObjectsApi(api).get_api_resources(GROUP, VERSION).resources
    assert {r.name: r.kind for r in resources}["routetables"] == "RouteTable"


def test_list_pages_with_limit_and_continue(api: k8s.ApiClient, east: FakeApiServer) -> None:
    for i in range(5):
        east.create(service(f"svc-{i}", "paging"))
    core = k8s.CoreV1Api(api)
    first = core.list_namespaced_service("paging", limit=2)
    assert [s.metadata.name for s in first.items] == ["svc-0", "svc-1"]
    assert first.metadata._continue and first.metadata.remaining_item_count == 3
    east.create(service("svc-late", "paging"))  # pages come from the first page's snapshot
    second = core.list_namespaced_service("paging", limit=2, _continue=first.metadata._continue)
    third = core.list_namespaced_service("paging", limit=2, _continue=second.metadata._continue)
    names = [s.metadata.name for page in (first, second, third) for s in page.items]
    assert names == [f"svc-{i}" for i in range(5)]
    assert third.metadata._continue is None
    assert first.metadata.resource_version == third.metadata.resource_version


def test_expired_continue_token_is_410(api: k8s.ApiClient, east: FakeApiServer) -> None:
    for i in range(3):
        east.create(service(f"svc-{i}", "paging"))
    first = k8s.CoreV1Api(api).list_namespaced_service("paging", limit=1)
    east.compact()
    with pytest.raises(ApiException) as caught:
        k8s.CoreV1Api(api).list_namespaced_service("paging", limit=1, _continue=first.metadata._continue)
    assert caught.value.status == 410 and '"reason":"Expired"' in caught.value.body.replace(" ", "")


def test_watch_streams_added_modified_deleted_and_bookmarks(api: k8s.ApiClient, east: FakeApiServer) -> None:
    custom = k8s.CustomObjectsApi(api)
    listed = custom.list_namespaced_custom_object(GROUP, VERSION, "bookinfo", "routetables")
    east.create(route_table("reviews", "bookinfo", weight=1))
    changed = east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews")
    changed["spec"]["weight"] = 2
    east.update(changed)
    east.delete(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews")
    events = []
    w = k8s_watch.Watch()
    for event in w.stream(custom.list_namespaced_custom_object, GROUP, VERSION, "bookinfo", "routetables",
                          resource_version=listed["metadata"]["resourceVersion"], allow_watch_bookmarks=True,
                          timeout_seconds=2):
        events.append(event["type"])
        if event["type"] == "BOOKMARK":
            w.stop()
    assert events == ["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]


def test_watch_from_compacted_version_is_an_error_event_410(api: k8s.ApiClient, east: FakeApiServer) -> None:
    rv = k8s.CoreV1Api(api).list_service_for_all_namespaces().metadata.resource_version
    east.create(service("late", "bookinfo"))
    east.compact()
    response = k8s.CoreV1Api(api).list_service_for_all_namespaces(watch=True, resource_version=rv,
                                                                  _preload_content=False, timeout_seconds=2)
    body = response.read().decode()
    assert '"type": "ERROR"' in body and '"code": 410' in body and '"reason": "Expired"' in body


def test_401_403_404_and_conflict_statuses(kubeconfig_path: Path, api: k8s.ApiClient, east: FakeApiServer) -> None:
    east.tokens.clear()
    with pytest.raises(ApiException) as caught:
        k8s.CoreV1Api(api).list_node()
    assert caught.value.status == 401
    east.tokens["token-admin"] = "alice"
    east.deny("list", "services")
    with pytest.raises(ApiException) as caught:
        k8s.CoreV1Api(api).list_service_for_all_namespaces()
    assert caught.value.status == 403
    assert 'User \\"alice\\" cannot list resource \\"services\\"' in caught.value.body
    east.remove_crd(f"routetables.{GROUP}")
    with pytest.raises(ApiException) as caught:
        k8s.CustomObjectsApi(api).list_cluster_custom_object(GROUP, VERSION, "routetables")
    assert caught.value.status == 404 and "could not find the requested resource" in caught.value.body
    stale = k8s.CoreV1Api(api).read_namespaced_service("productpage", "bookinfo")
    east.update(east.get("v1", "Service", "bookinfo", "productpage"))
    with pytest.raises(ApiException) as caught:
        k8s.CoreV1Api(api).replace_namespaced_service("productpage", "bookinfo", stale)
    assert caught.value.status == 409 and "the object has been modified" in caught.value.body


def test_dry_run_validates_but_does_not_persist(api: k8s.ApiClient, east: FakeApiServer) -> None:
    custom = k8s.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", "routetables",
                                           route_table("trial", "bookinfo"), dry_run="All")
    assert east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "trial") is None
    bad = route_table("bad", "bookinfo")
    bad["spec"]["weight"] = "heavy"
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, VERSION, "bookinfo", "routetables", bad, dry_run="All")
    assert caught.value.status == 422
    assert "spec.weight in body must be of type integer" in caught.value.body


def test_restart_keeps_state_and_port(east: FakeApiServer, api: k8s.ApiClient) -> None:
    port = east.port
    east.stop()
    # a stopped server refuses the connection; urllib3 reports it after its retries
    with pytest.raises((urllib3.exceptions.HTTPError, OSError)):
        k8s.CoreV1Api(api).list_node(_request_timeout=1)
    east.start()
    assert east.port == port
    assert {n.metadata.name for n in k8s.CoreV1Api(api).list_node().items} == {"east-node-a", "east-node-b"}
