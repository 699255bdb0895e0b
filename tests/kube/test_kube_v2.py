"""Gloo v2 resources from a live cluster (the fake API server, real `kubernetes` client): loaded beside v1beta1 ones,
routed exactly as from files, and following changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from meshctl.cli.main import main

from .fakeapi import FakeApiServer
from .objects import load_demo_routing

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "gloo-v2-reference-a" / "config.yaml"
V2_GROUPS = ("networking.gloo.solo.io/", "admin.gloo.solo.io/")


def _v2_objects() -> list[dict]:
    return [d for d in yaml.safe_load_all(EXAMPLE.read_text()) if d["apiVersion"].startswith(V2_GROUPS)]


def _routes(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, list[str]]:
    assert main(["routes", *argv, "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    return {g["gateway"]: [r["id"] for vh in g["virtualHosts"] for r in vh["routes"]] for g in data["gateways"]}


def test_v2_routes_from_a_live_cluster_equal_those_from_files(capsys, kubeconfig_path: Path,
                                                              east: FakeApiServer) -> None:
    load_demo_routing(east)  # v1beta1 beside v2 in one cluster
    for obj in _v2_objects():
        east.create(obj)
    live = _routes(capsys, "--context", "east", "--kubeconfig", str(kubeconfig_path))
    from_file = _routes(capsys, str(EXAMPLE))
    assert live["gw-config/ingress"] == from_file["gw-config/ingress"]
    assert "gloo-mesh/demo-gateway" in live  # the demo's v1beta1 gateway is still there
    users = east.get("networking.gloo.solo.io/v2", "RouteTable", "shop", "users")
    users["spec"]["weight"] = 0
    users["metadata"]["labels"] = {}
    east.update(users)
    after = _routes(capsys, "--context", "east", "--kubeconfig", str(kubeconfig_path))
    assert not any("shop/users" in r for r in after["gw-config/ingress"])
