"""Workspaces (W1-W8, X1-X6) and ExternalService address conflicts (V4), on the reference's example (c) and its
variants, with the outcomes the reference expects."""

from __future__ import annotations

from pathlib import Path

import yaml

from meshctl.model.snapshot import Snapshot, load_snapshot, snapshot_from_text
from meshctl.model.v2.external_services import ExternalServiceAddresses
from meshctl.model.v2.workspaces import IMPLICIT, WorkspaceModel, glob_matches
from meshctl.model.validate import validate

C = Path(__file__).resolve().parent / "data" / "reference-c.yaml"


def example_c(edit=None) -> Snapshot:
    docs = list(yaml.safe_load_all(C.read_text()))
    if edit is not None:
        docs = edit(docs) or docs
    return snapshot_from_text(yaml.safe_dump_all(docs), "c.yaml")


def by_name(docs: list, kind: str, name: str) -> dict:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def es(snapshot: Snapshot, ns: str, name: str):
    found = snapshot.get("ExternalService", ns, name)
    assert found is not None
    return found


def test_example_c_visibility_and_conflict() -> None:
    snapshot = load_snapshot([C])
    model = WorkspaceModel(snapshot)
    assert not model.implicit and list(model.workspaces) == ["team-a", "team-b"]
    db, copy = es(snapshot, "team-a", "db"), es(snapshot, "team-b", "db-copy")
    assert model.owner(db) == "team-a" and model.owner(copy) == "team-b"
    assert model.visible_in(db) == ["team-a", "team-b"]
    assert model.visible_in(copy) == ["team-b"]
    addresses = ExternalServiceAddresses(snapshot, model)
    assert not addresses.is_refused(db) and addresses.is_refused(copy)
    [conflict] = [f for f in validate(snapshot) if f.code == "external-service-address-conflict"]
    assert conflict.severity.value == "error" and conflict.resource == "ExternalService team-b/db-copy"
    assert "team-a/db" in conflict.message and "workspace team-b" in conflict.message
    assert conflict.line is not None and conflict.path == "spec.addresses[0]"


def test_variant_1_without_import_both_accepted() -> None:
    def drop_import(docs: list) -> None:
        by_name(docs, "WorkspaceSettings", "team-b")["spec"] = {}

    snapshot = example_c(drop_import)
    model = WorkspaceModel(snapshot)
    db = es(snapshot, "team-a", "db")
    assert model.visible_in(db) == ["team-a"]
    assert "workspace team-b does not import it (EXTERNAL_SERVICE) from workspace team-a" in \
        (model.missing_for(db, "team-b") or "")
    assert ExternalServiceAddresses(snapshot, model).refused == set()


def test_variant_1b_without_export_says_which_side_is_missing() -> None:
    def drop_export(docs: list) -> None:
        by_name(docs, "WorkspaceSettings", "team-a")["spec"] = {}

    snapshot = example_c(drop_export)
    model = WorkspaceModel(snapshot)
    why = model.missing_for(es(snapshot, "team-a", "db"), "team-b") or ""
    assert "workspace team-a does not export it (EXTERNAL_SERVICE) to workspace team-b" in why
    assert "does not import" not in why
    assert ExternalServiceAddresses(snapshot, model).refused == set()


def test_variant_2_unrelated_workspace_may_repeat_an_address() -> None:
    def add_staging(docs: list) -> None:
        docs.append({"apiVersion": "admin.gloo.solo.io/v2", "kind": "Workspace",
                     "metadata": {"name": "staging", "namespace": "gloo-mesh"},
                     "spec": {"workloadClusters": [{"name": "cluster1", "namespaces": [{"name": "staging"}]}]}})
        db = dict(by_name(docs, "ExternalService", "db"))
        docs.append({**db, "metadata": {"name": "db", "namespace": "staging",
                                        "creationTimestamp": "2026-01-01T08:00:00Z"}})

    snapshot = example_c(add_staging)
    addresses = ExternalServiceAddresses(snapshot)
    assert not addresses.is_refused(es(snapshot, "staging", "db"))
    assert not addresses.is_refused(es(snapshot, "team-a", "db"))
    assert addresses.is_refused(es(snapshot, "team-b", "db-copy"))


def test_variant_3_older_copy_wins_in_team_b() -> None:
    def older_copy(docs: list) -> None:
        by_name(docs, "ExternalService", "db-copy")["metadata"]["creationTimestamp"] = "2026-01-01T09:55:00Z"

    snapshot = example_c(older_copy)
    addresses = ExternalServiceAddresses(snapshot)
    assert addresses.is_refused(es(snapshot, "team-a", "db"))
    assert not addresses.is_refused(es(snapshot, "team-b", "db-copy"))
    [c] = addresses.conflicts
    assert (c.winner.name, c.loser.name, c.workspace) == ("db-copy", "db", "team-b")


def test_same_address_written_differently_is_the_same_address() -> None:
    def spelled(docs: list) -> None:
        by_name(docs, "ExternalService", "db-copy")["spec"]["addresses"] = ["10.20.0.5/32"]
        by_name(docs, "ExternalService", "db")["spec"]["addresses"] = ["10.20.0.5/32"]

    assert len(ExternalServiceAddresses(example_c(spelled)).conflicts) == 1


def test_resource_filters_kind_and_labels() -> None:
    def only_labelled(docs: list) -> None:
        by_name(docs, "WorkspaceSettings", "team-a")["spec"]["exportTo"][0]["resources"] = [
            {"kind": "EXTERNAL_SERVICE", "labels": {"share": "yes"}}]

    snapshot = example_c(only_labelled)
    model = WorkspaceModel(snapshot)
    assert model.visible_in(es(snapshot, "team-a", "db")) == ["team-a"]

    def route_tables_only(docs: list) -> None:
        by_name(docs, "WorkspaceSettings", "team-a")["spec"]["exportTo"][0]["resources"] = [{"kind": "ROUTE_TABLE"}]

    snapshot = example_c(route_tables_only)
    assert WorkspaceModel(snapshot).visible_in(es(snapshot, "team-a", "db")) == ["team-a"]


NS_TWICE = """
apiVersion: admin.gloo.solo.io/v2
kind: Workspace
metadata: {name: first, namespace: gloo-mesh, creationTimestamp: "2026-01-01T09:00:00Z"}
spec: {workloadClusters: [{name: cluster1, namespaces: [{name: shop}, {name: a}]}]}
---
apiVersion: admin.gloo.solo.io/v2
kind: Workspace
metadata: {name: second, namespace: gloo-mesh, creationTimestamp: "2026-01-01T09:05:00Z"}
spec: {workloadClusters: [{name: '*', namespaces: [{name: 'sh*'}, {name: b}]}]}
---
apiVersion: admin.gloo.solo.io/v2
kind: WorkspaceSettings
metadata: {name: s1, namespace: a, creationTimestamp: "2026-01-01T09:00:00Z"}
spec: {}
---
apiVersion: admin.gloo.solo.io/v2
kind: WorkspaceSettings
metadata: {name: s2, namespace: shop, creationTimestamp: "2026-01-01T09:10:00Z"}
spec: {}
---
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: orphan, namespace: nowhere}
spec: {hosts: [x.example.com], http: [{name: r, directResponse: {status: 200}}]}
"""


def test_namespace_claimed_twice_and_second_settings() -> None:
    snapshot = snapshot_from_text(NS_TWICE, "ws.yaml")
    model = WorkspaceModel(snapshot)
    assert model.owner_at("cluster1", "shop") == "first" and model.owner_at("cluster1", "b") == "second"
    [twice] = [f for f in model.findings if f.code == "namespace-claimed-twice"]
    assert "first" in twice.message and "second" in twice.message and "namespace shop" in twice.message
    assert twice.resource == "Workspace gloo-mesh/second"
    [dup] = [f for f in model.findings if f.code == "workspace-settings-duplicate"]
    assert dup.resource == "WorkspaceSettings shop/s2" and "a/s1" in dup.message
    assert model.workspaces["first"].settings is not None and model.workspaces["first"].settings.name == "s1"
    [orphan] = [f for f in model.findings if f.code == "not-in-workspace"]
    assert orphan.resource == "RouteTable nowhere/orphan"
    table = snapshot.get("RouteTable", "nowhere", "orphan")
    assert table is not None and not model.config_counts(table)


CONFIG_FLAGS = """
apiVersion: admin.gloo.solo.io/v2
kind: Workspace
metadata: {name: app, namespace: gloo-mesh}
spec:
  workloadClusters:
  - name: cluster1
    namespaces: [{name: app-config, configEnabled: true}, {name: app}]
---
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: in-config, namespace: app-config}
spec: {hosts: [x.example.com], http: [{name: r, directResponse: {status: 200}}]}
---
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: in-app, namespace: app}
spec: {hosts: [y.example.com], http: [{name: r, directResponse: {status: 200}}]}
"""


def test_config_enabled_w5() -> None:
    snapshot = snapshot_from_text(CONFIG_FLAGS, "w5.yaml")
    model = WorkspaceModel(snapshot)
    in_config, in_app = snapshot.get("RouteTable", "app-config", "in-config"), snapshot.get("RouteTable", "app", "in-app")
    assert in_config is not None and in_app is not None
    assert model.owner(in_app) == "app" and model.config_counts(in_config) and not model.config_counts(in_app)
    [f] = [f for f in model.findings if f.code == "not-in-workspace"]
    assert f.resource == "RouteTable app/in-app" and "not config-enabled" in f.message


def test_no_workspace_objects_one_implicit_workspace_noted_once() -> None:
    snapshot = snapshot_from_text(NS_TWICE.split("---")[-1], "rt.yaml")
    model = WorkspaceModel(snapshot)
    assert model.implicit and list(model.workspaces) == [IMPLICIT]
    table = snapshot.get("RouteTable", "nowhere", "orphan")
    assert table is not None and model.owner(table) == IMPLICIT and model.config_counts(table)
    assert not [f for f in validate(snapshot) if f.severity.value != "info" and "workspace" in f.code]


def test_globs() -> None:
    assert glob_matches("backend*", "backend-a") and glob_matches("*", "x") and glob_matches("a*c", "abc")
    assert not glob_matches("backend*", "front") and not glob_matches("a*c", "ab")


def test_workspaces_command_text_and_json(capsys) -> None:
    import json

    from meshctl.cli.main import main

    assert main(["workspaces", str(C), "-o", "json"]) == 1  # the V4 conflict is an error
    data = json.loads(capsys.readouterr().out)
    assert data["implicit"] is False and data["note"] is None
    a, b = data["workspaces"]
    assert a["name"] == "team-a" and a["clusters"] == [{"name": "cluster1", "namespaces": ["team-a"]}]
    assert a["exportsTo"] == ["team-b"] and a["importsFrom"] == [] and "ExternalService/team-a/db" in a["owned"]
    assert b["importsFrom"] == ["team-a"] and b["imported"] == ["ExternalService/team-a/db"]
    assert set(b["sees"]) == {"ExternalService/team-a/db", "ExternalService/team-b/db-copy"}
    assert [f["code"] for f in data["findings"]] == ["external-service-address-conflict"]
    assert main(["workspaces", str(C)]) == 1
    text = capsys.readouterr().out
    assert "Workspace team-b" in text and "imports (1): ExternalService/team-a/db" in text


def test_workspaces_command_implicit_note(capsys, tmp_path) -> None:
    import json

    from meshctl.cli.main import main

    path = tmp_path / "rt.yaml"
    path.write_text(NS_TWICE.split("---")[-1])
    assert main(["workspaces", str(path), "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["implicit"] is True and "implicit workspace 'default'" in data["note"]
    [ws] = data["workspaces"]
    assert ws["owned"] == ["RouteTable/nowhere/orphan"]
    assert main(["workspaces", str(path)]) == 0
    assert capsys.readouterr().out.count("note: no Workspace objects") == 1
