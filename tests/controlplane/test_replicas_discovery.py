"""Replicas from the xDS Service's Endpoints; bootstrap with several control-plane addresses."""

from __future__ import annotations

import pytest

from meshctl.cli.cmd_envoy import split_addresses
from meshctl.cli.common import UsageError
from meshctl.controlplane.replicas import ReplicaEndpoint, endpoints_to_replicas
from meshctl.envoy.bootstrap import build_bootstrap, make_bootstrap
from meshctl.envoy.ports import free_port
from meshctl.envoy.process import validate_config


def test_endpoints_name_replicas_by_pod_and_pick_the_xds_port() -> None:
    endpoints = {"subsets": [
        {"addresses": [{"ip": "10.0.0.2", "targetRef": {"kind": "Pod", "name": "meshctl-xds-b"}},
                       {"ip": "10.0.0.1", "targetRef": {"kind": "Pod", "name": "meshctl-xds-a"}},
                       {"ip": "fd00::3"}],
         "notReadyAddresses": [{"ip": "10.0.0.9"}],
         "ports": [{"name": "http-admin", "port": 9091}, {"name": "grpc-xds", "port": 18000}]}]}
    assert endpoints_to_replicas(endpoints) == [ReplicaEndpoint("[fd00::3]:18000", "[fd00::3]:18000"),
                                                ReplicaEndpoint("meshctl-xds-a", "10.0.0.1:18000"),
                                                ReplicaEndpoint("meshctl-xds-b", "10.0.0.2:18000")]
    assert endpoints_to_replicas({"subsets": [{"addresses": [{"ip": "10.0.0.1"}],
                                               "ports": [{"name": "a", "port": 1}, {"name": "b", "port": 2}]}]}) == []


def test_xds_addresses_parse_in_order_and_reject_garbage() -> None:
    assert split_addresses("10.0.0.1:18000,meshctl-xds.gloo-mesh:18000") == [("10.0.0.1", 18000),
                                                                              ("meshctl-xds.gloo-mesh", 18000)]
    for bad in ("10.0.0.1:18000,", "10.0.0.1", "a:1,b:99999"):
        with pytest.raises(UsageError):
            split_addresses(bad)


def test_bootstrap_with_several_replicas_has_one_endpoint_each() -> None:
    bootstrap = build_bootstrap("n", "gateway", None, "127.0.0.1", 18000, 9901,
                                more_xds=[("127.0.0.2", 18001), ("127.0.0.1", 18000)])
    [cluster] = bootstrap.static_resources.clusters
    addresses = [(e.endpoint.address.socket_address.address, e.endpoint.address.socket_address.port_value)
                 for locality in cluster.load_assignment.endpoints for e in locality.lb_endpoints]
    assert addresses == [("127.0.0.1", 18000), ("127.0.0.2", 18001)]  # duplicates dropped, order kept
    named = build_bootstrap("n", "gateway", None, "127.0.0.1", 18000, 9901, more_xds=[("meshctl-xds", 18000)])
    assert named.static_resources.clusters[0].type.name == "STRICT_DNS"


@pytest.mark.envoy
def test_envoy_accepts_the_multi_replica_bootstrap() -> None:
    bootstrap = make_bootstrap("n", "gateway", None, "127.0.0.1", 18000, free_port(),
                               more_xds=[("127.0.0.2", 18001)])
    assert validate_config(bootstrap).ok
