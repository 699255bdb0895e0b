"""The live-cluster commands end to end: sources, export, apply, and --context on commands that load config."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from meshctl.cli.main import main

from .fakeapi import FakeApiServer
from .objects import GLOO_ENTERPRISE, load_demo_routing, route_table


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sources_lists_contexts_with_state_and_counts(capsys, kubeconfig_path: Path) -> None:
    code, out, _ = run(capsys, "sources", "--context", "east", "--context", "west", "--kubeconfig",
                       str(kubeconfig_path), "--cluster-name", "west=cluster-2", "-o", "json")
    assert code == 0
    described = {d["context"]: d for d in json.loads(out)}
    assert described["east"]["state"] == described["west"]["state"] == "ok"
    assert described["west"]["cluster"] == "cluster-2" and described["east"]["management"] is True
    assert described["east"]["counts"]["Node"] == 2 and described["west"]["counts"]["Service"] == 1
    assert described["east"]["lastEventAt"] is not None


def test_sources_shows_a_stale_context_and_why(capsys, kubeconfig_path: Path, west: FakeApiServer) -> None:
    west.stop()
    code, out, _ = run(capsys, "sources", "--demo", "--context", "east", "--context", "west", "--kubeconfig",
                       str(kubeconfig_path))
    assert code == 1
    rows = {line.split()[0]: line.split()[2] for line in out.splitlines()[1:4]}
    assert rows == {"demo": "ok", "kube:east": "ok", "kube:west": "stale"}
    assert "kube:west: stale: cannot reach API server" in out


def test_sources_defaults_to_the_current_context(capsys, kubeconfig_path: Path) -> None:
    code, out, _ = run(capsys, "sources", "--kubeconfig", str(kubeconfig_path), "-o", "json")
    assert code == 0 and [d["context"] for d in json.loads(out)] == ["east"]


def test_unknown_context_is_a_usage_error(capsys, kubeconfig_path: Path) -> None:
    code, _, err = run(capsys, "export", "--context", "nowhere", "--kubeconfig", str(kubeconfig_path))
    assert code == 2 and "'nowhere' not found" in err and "east, west" in err


def test_export_is_ready_for_kubectl_apply(capsys, kubeconfig_path: Path, east: FakeApiServer) -> None:
    load_demo_routing(east)
    code, out, _ = run(capsys, "export", "--context", "east", "--kubeconfig", str(kubeconfig_path))
    assert code == 0 and out.count("\n---\n") >= 1
    docs = list(yaml.safe_load_all(out))
    kinds = {d["kind"] for d in docs}
    assert {"VirtualGateway", "VirtualHost", "RouteTable"} <= kinds
    assert not kinds & {"Service", "Endpoints", "Pod", "Node", "Cluster"}
    for d in docs:
        meta = d["metadata"]
        assert "status" not in d and meta["name"] and meta["namespace"]
        assert not {"resourceVersion", "uid", "managedFields", "creationTimestamp"} & set(meta)

    code, out, _ = run(capsys, "export", "--context", "east", "--kubeconfig", str(kubeconfig_path),
                       "--include-discovery", "-n", "bookinfo")
    docs = list(yaml.safe_load_all(out))
    kinds = {d["kind"] for d in docs}
    assert {"Service", "Endpoints", "Pod", "ExternalService"} <= kinds and "Node" not in kinds  # -n: namespaced only
    assert {d["metadata"]["namespace"] for d in docs} == {"bookinfo"}
    discovery = [d for d in docs if d["kind"] in ("Service", "Endpoints", "Pod")]
    assert all(d["metadata"]["annotations"]["meshctl.io/cluster"] == "east" for d in discovery)


def test_export_of_files_leaves_meshctl_kinds_out_unless_asked(capsys) -> None:
    _, out, _ = run(capsys, "export", "--demo")
    assert "kind: Cluster" not in out and "kind: VirtualGateway" in out
    _, out, _ = run(capsys, "export", "--demo", "--include-meshctl")
    assert "kind: Cluster" in out


def test_exported_demo_applies_to_a_cluster_and_routes_read_back_the_same(capsys, tmp_path: Path,
                                                                         kubeconfig_path: Path) -> None:
    _, exported, _ = run(capsys, "export", "--demo")
    path = tmp_path / "demo.yaml"
    path.write_text(exported)
    code, out, _ = run(capsys, "apply", "-f", str(path), "--context", "east", "--kubeconfig", str(kubeconfig_path))
    assert code == 0, out
    assert out.count(": created") == len(list(yaml.safe_load_all(exported)))

    def route_ids(*argv: str) -> list[str]:
        code, out, _ = run(capsys, "routes", *argv, "-o", "json")
        assert code == 0
        return [r["id"] for g in json.loads(out)["gateways"] for vh in g["virtualHosts"] for r in vh["routes"]]

    from_cluster = route_ids("--context", "east", "--kubeconfig", str(kubeconfig_path))
    assert from_cluster and from_cluster == route_ids("--demo")


def test_routes_follow_changes_in_the_cluster(capsys, kubeconfig_path: Path, east: FakeApiServer) -> None:
    load_demo_routing(east)
    argv = ("routes", "--context", "east", "--kubeconfig", str(kubeconfig_path), "-o", "json")
    _, before, _ = run(capsys, *argv)
    misc = east.get(GLOO_ENTERPRISE, "RouteTable", "gloo-mesh", "reviews-misc-rt")
    misc["spec"]["routes"] = misc["spec"]["routes"][:1]
    east.update(misc)
    _, after, _ = run(capsys, *argv)
    assert "v2-version" in before and "v2-version" not in after and "v1-version" in after


def test_context_and_files_load_together(capsys, kubeconfig_path: Path) -> None:
    _, alone, _ = run(capsys, "validate", "--demo")
    _, together, _ = run(capsys, "validate", "--demo", "--context", "west", "--kubeconfig", str(kubeconfig_path))
    count = lambda text: int(text.strip().splitlines()[-1].split()[0])  # noqa: E731
    assert count(together) == count(alone) + 4  # west: a node, a service, a pod, their endpoints
    # the only context is the management one, so its missing Gloo CRDs are worth a warning each
    from meshctl.sources.kube_client import GLOO_KIND_INFOS

    assert together.count("warning[kube-crd-missing]") == len(GLOO_KIND_INFOS) == 14  # v1beta1, v1, v2, resilience, admin v2


def test_apply_conflict_from_the_command_line(capsys, tmp_path: Path, kubeconfig_path: Path,
                                              east: FakeApiServer) -> None:
    east.create(route_table("reviews", "bookinfo", weight=1))
    edited = east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews")
    edited["spec"]["weight"] = 5
    (tmp_path / "edit.yaml").write_text(yaml.safe_dump(edited))
    meanwhile = copy.deepcopy(edited)
    meanwhile["spec"]["weight"] = 2
    east.update(meanwhile)
    code, out, _ = run(capsys, "apply", "-f", str(tmp_path / "edit.yaml"), "--context", "east", "--kubeconfig",
                       str(kubeconfig_path))
    assert code == 1 and "conflict" in out and "+++ yours" in out and "+  weight: 5" in out
    assert east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews")["spec"]["weight"] == 2


def test_read_only_refuses_apply(capsys, tmp_path: Path, kubeconfig_path: Path, east: FakeApiServer) -> None:
    (tmp_path / "rt.yaml").write_text(yaml.safe_dump(route_table("reviews", "bookinfo")))
    seen = len(east.requests)
    code, out, err = run(capsys, "--read-only", "apply", "-f", str(tmp_path / "rt.yaml"), "--context", "east",
                         "--kubeconfig", str(kubeconfig_path))
    assert code == 2 and "--read-only" in err and out == ""
    assert len(east.requests) == seen and east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews") is None


def test_sources_names_the_kinds_a_cluster_does_not_serve(capsys, kubeconfig_path: Path) -> None:
    code, out, _ = run(capsys, "sources", "--context", "west", "--kubeconfig", str(kubeconfig_path))
    assert code == 0 and "kube:west: not served: " in out and "routetables.networking" in out


def test_kubeconfig_alone_reads_its_current_context_for_every_command(capsys, kubeconfig_path: Path,
                                                                       east: FakeApiServer) -> None:
    load_demo_routing(east)  # east is the kubeconfig's current context
    code, out, err = run(capsys, "routes", "--kubeconfig", str(kubeconfig_path), "-o", "json")
    assert code == 0, err
    gateways = json.loads(out)["gateways"]
    assert [g["gateway"] for g in gateways] == ["gloo-mesh/demo-gateway"]
    names = [r["name"] for vh in gateways[0]["virtualHosts"] for r in vh["routes"]]
    assert "v1-version" in names and "ratings" in names


def test_cluster_names_from_the_config_file(capsys, kubeconfig_path: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "cfg" / "meshctl" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(yaml.safe_dump({"clusters": {"west": "cluster-2", "east": "cluster-1", "elsewhere": "c9"}}))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    code, out, err = run(capsys, "sources", "--context", "east", "--context", "west", "--kubeconfig",
                         str(kubeconfig_path), "-o", "json")
    assert code == 0, err  # the entry for a context not in use is not an error
    assert {d["context"]: d["cluster"] for d in json.loads(out)} == {"east": "cluster-1", "west": "cluster-2"}
    code, out, _ = run(capsys, "sources", "--context", "east", "--context", "west", "--kubeconfig",
                       str(kubeconfig_path), "--cluster-name", "west=flag-name", "-o", "json")
    assert {d["context"]: d["cluster"] for d in json.loads(out)}["west"] == "flag-name"  # the flag wins
