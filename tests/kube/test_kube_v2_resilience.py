"""Gloo v2 FailoverPolicy / OutlierDetectionPolicy from a live cluster (fake API server, real `kubernetes` client):
attached to a v2 VirtualDestination backed by live pods, priorities from the nodes' zones, following changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshctl.cli.main import main

from .fakeapi import FakeApiServer

V2 = "networking.gloo.solo.io/v2"
RES = "resilience.policy.gloo.solo.io/v2"
OBJECTS = [
    {"apiVersion": V2, "kind": "VirtualGateway", "metadata": {"name": "gw", "namespace": "ops"},
     "spec": {"workloads": [{"selector": {"labels": {"istio": "ingressgateway"}}}],
              "listeners": [{"port": {"number": 8080}, "http": {}}]}},
    {"apiVersion": V2, "kind": "RouteTable", "metadata": {"name": "root", "namespace": "ops"},
     "spec": {"hosts": ["pages.test"], "virtualGateways": [{"name": "gw", "namespace": "ops"}],
              "http": [{"name": "pages", "forwardTo": {"destinations": [
                  {"ref": {"name": "pages", "namespace": "bookinfo"}, "kind": "VIRTUAL_DESTINATION",
                   "port": {"number": 9080}}]}}]}},
    {"apiVersion": V2, "kind": "VirtualDestination", "metadata": {"name": "pages", "namespace": "bookinfo"},
     "spec": {"hosts": ["pages.global"], "services": [{"name": "productpage"}],
              "ports": [{"number": 9080, "protocol": "HTTP"}]}},
    {"apiVersion": RES, "kind": "FailoverPolicy", "metadata": {"name": "pages-failover", "namespace": "bookinfo"},
     "spec": {"applyToDestinations": [{"kind": "VIRTUAL_DESTINATION", "selector": {"name": "pages"}}],
              "config": {"localityMappings": []}}},
    {"apiVersion": RES, "kind": "OutlierDetectionPolicy", "metadata": {"name": "pages-od", "namespace": "bookinfo"},
     "spec": {"applyToDestinations": [{"kind": "VIRTUAL_DESTINATION"}]}},
]


def _backend(capsys: pytest.CaptureFixture[str], kubeconfig: Path, locality: str) -> dict:
    assert main(["test-route", "--context", "east", "--kubeconfig", str(kubeconfig), "--from-locality", locality,
                 "http://pages.test/", "-o", "json"]) == 0
    return json.loads(capsys.readouterr().out)["backends"][0]


def test_policies_from_a_live_cluster_set_priorities_and_follow_changes(capsys, kubeconfig_path: Path,
                                                                        east: FakeApiServer) -> None:
    for obj in OBJECTS:
        east.create(obj)
    a = _backend(capsys, kubeconfig_path, "us-east-1/us-east-1a")
    assert a["failoverPolicy"] == "FailoverPolicy/bookinfo/pages-failover"
    assert [[e["address"] for e in p["endpoints"]] for p in a["priorities"]] == [["10.1.0.11"], ["10.1.0.12"]]
    b = _backend(capsys, kubeconfig_path, "us-east-1/us-east-1b")
    assert [[e["address"] for e in p["endpoints"]] for p in b["priorities"]] == [["10.1.0.12"], ["10.1.0.11"]]
    east.delete(RES, "FailoverPolicy", "bookinfo", "pages-failover")
    assert "failoverPolicy" not in _backend(capsys, kubeconfig_path, "us-east-1/us-east-1a")
