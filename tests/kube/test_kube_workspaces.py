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
