"""Workspaces from a live cluster (the fake API server, real `kubernetes` client): example (c) read live gives the
same ownership, visibility and address conflict as from the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from meshctl.cli.main import main

from .fakeapi import FakeApiServer

C = Path(__file__).resolve().parents[1] / "v2" / "data" / "reference-c.yaml"


def _workspaces(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    rc = main(["workspaces", *argv, "-o", "json"])
    return rc, json.loads(capsys.readouterr().out)


def _shape(data: dict) -> list[tuple]:
    return [(w["name"], w["exportsTo"], w["importsFrom"], w["imported"],
             [ns for c in w["clusters"] for ns in c["namespaces"]]) for w in data["workspaces"]]


def test_example_c_live_equals_file(capsys, kubeconfig_path: Path, east: FakeApiServer) -> None:
    for obj in yaml.safe_load_all(C.read_text()):
        east.create(obj)
    rc, live = _workspaces(capsys, "--context", "east", "--kubeconfig", str(kubeconfig_path),
                           "--cluster-name", "east=cluster1")
    rc_file, from_file = _workspaces(capsys, str(C))
    assert rc == rc_file == 1
    assert _shape(live) == _shape(from_file)
    assert [(f["code"], f["resource"]) for f in live["findings"]] == \
        [("external-service-address-conflict", "ExternalService team-b/db-copy")]
    # drop team-b's import: both ExternalServices are accepted
    settings = east.get("admin.gloo.solo.io/v2", "WorkspaceSettings", "team-b", "team-b")
    settings["spec"] = {}
    east.update(settings)
    rc, after = _workspaces(capsys, "--context", "east", "--kubeconfig", str(kubeconfig_path),
                            "--cluster-name", "east=cluster1")
    assert rc == 0 and after["findings"] == [] and after["workspaces"][1]["imported"] == []


B = Path(__file__).resolve().parents[1] / "v2" / "data" / "reference-b.yaml"


def test_east_west_routes_from_live_discovery(capsys, kubeconfig_path: Path, east: FakeApiServer) -> None:
    """Example (b) live: productpage's pods (east) carry app=productpage, so its sidecar gets both hosts; ratings
    (west) gets plain Kubernetes routing; a label change on the selector moves the routes."""
    for obj in yaml.safe_load_all(B.read_text()):
        east.create(obj)
    argv = ["--context", "east", "--context", "west", "--kubeconfig", str(kubeconfig_path)]

    def hosts(workload: str) -> tuple[list[str], str | None]:
        assert main(["routes", *argv, "--workload", workload, "-o", "json"]) == 0
        data = json.loads(capsys.readouterr().out)
        return [vh["name"] for g in data["gateways"] for vh in g["virtualHosts"]], data["note"]

    assert hosts("bookinfo/productpage") == (["reviews.example.com", "reviews.bookinfo.svc.cluster.local"], None)
    names, note = hosts("bookinfo/ratings@west")
    assert names == [] and note is not None and "plain Kubernetes service routing applies" in note
    table = east.get("networking.gloo.solo.io/v2", "RouteTable", "bookinfo", "reviews")
    table["spec"]["workloadSelectors"] = [{"selector": {"labels": {"app": "ratings"}}}]
    east.update(table)
    assert hosts("bookinfo/productpage")[0] == []
    assert hosts("bookinfo/ratings@west")[0] == ["reviews.example.com", "reviews.bookinfo.svc.cluster.local"]
