"""deploy/control-plane: every object is a well-formed Kubernetes object (checked field by field against the
`kubernetes` client's typed models), the Deployment is wired to the replica's real flags and endpoints, and the
RBAC is least privilege yet enough: a replica runs against an API server that grants exactly these rules."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from waiting import wait_until

from meshctl.cli import cmd_xds
from meshctl.controlplane.leader import LeaseTiming
from meshctl.controlplane.replica import Replica, ReplicaOptions
from meshctl.sources.kube import KubeSource
from meshctl.sources.kube_client import GLOO_KIND_INFOS, WATCHED_KINDS
from meshctl.sources.workspace import Workspace

from .conftest import REPO
from .fakeapi import FakeApiServer
from .objects import GLOO_ENTERPRISE, load_demo_routing

DEPLOY = REPO / "deploy" / "control-plane"
MODELS = {
    ("v1", "Namespace"): "V1Namespace", ("v1", "ServiceAccount"): "V1ServiceAccount", ("v1", "Service"): "V1Service",
    ("apps/v1", "Deployment"): "V1Deployment", ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "V1ClusterRole",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "V1ClusterRoleBinding",
    ("rbac.authorization.k8s.io/v1", "Role"): "V1Role", ("rbac.authorization.k8s.io/v1", "RoleBinding"): "V1RoleBinding",
}


def _objects() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    out = []
    for name in kustomization["resources"]:
        out.extend(d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d)
    return out


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in _objects() if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


def _strip_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_empty(v) for k, v in value.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_strip_empty(v) for v in value]
    return value


@pytest.mark.parametrize("index", range(len(_objects())))
def test_each_object_round_trips_through_the_typed_model(index: int) -> None:
    """A misspelt or misplaced field is dropped by the typed model, so the round trip shows it; a missing
    required field fails to build."""
    obj = _objects()[index]
    model_name = MODELS[(obj["apiVersion"], obj["kind"])]
    api = k8s.ApiClient()
    model = api._ApiClient__deserialize(obj, model_name)  # type: ignore[attr-defined]
    back = api.sanitize_for_serialization(model)
    assert _strip_empty(back) == _strip_empty(obj)
    assert obj["metadata"]["name"]
    if obj["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
        assert obj["metadata"]["namespace"] == "gloo-mesh"


def test_deployment_runs_two_spread_replicas_with_probes_resources_and_a_restricted_context() -> None:
    deployment = _one("Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    assert spec["replicas"] == 2
    labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= labels.items()
    terms = pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert {t["podAffinityTerm"]["topologyKey"] for t in terms} >= {"kubernetes.io/hostname"}
    assert all(t["podAffinityTerm"]["labelSelector"]["matchLabels"].items() <= labels.items() for t in terms)
    [container] = pod["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http-admin"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http-admin"}
    assert container["resources"]["requests"].keys() == {"cpu", "memory"}
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] and security["runAsNonRoot"]
    assert not security["allowPrivilegeEscalation"] and security["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["serviceAccountName"] == _one("ServiceAccount")["metadata"]["name"]

    # the args are the real command line: parse them with meshctl's own parser
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    cmd_xds.register(sub)
    args = parser.parse_args(container["args"])
    assert args.in_cluster and args.leader_elect
    assert args.listen.rsplit(":", 1)[1] == str(ports["grpc-xds"])
    assert args.admin_listen.rsplit(":", 1)[1] == str(ports["http-admin"])
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"] if "valueFrom" in e}
    assert env == {"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}


def test_services_and_pdb_select_the_pods() -> None:
    labels = _one("Deployment")["spec"]["template"]["metadata"]["labels"]
    container_ports = {p["name"] for p in _one("Deployment")["spec"]["template"]["spec"]["containers"][0]["ports"]}
    xds = _one("Service", "meshctl-xds")
    metrics = _one("Service", "meshctl-xds-metrics")
    for service in (xds, metrics):
        assert service["spec"]["selector"].items() <= labels.items()
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= container_ports
    assert [p["name"] for p in xds["spec"]["ports"]] == ["grpc-xds"]  # what `xds status --context` looks for
    assert [p["name"] for p in metrics["spec"]["ports"]] == ["http-admin"]
    pdb = _one("PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1 and pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_rbac_is_least_privilege_and_covers_what_the_code_reads_and_writes() -> None:
    cluster_role = _one("ClusterRole")
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in cluster_role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    for info in WATCHED_KINDS:
        assert granted.get((info.group, info.plural)) == {"list", "watch"}, info
    for info in GLOO_KIND_INFOS:
        assert granted.get((info.group, f"{info.plural}/status")) == {"get", "patch", "update"}, info
    expected = {(i.group, i.plural) for i in WATCHED_KINDS} | {(i.group, f"{i.plural}/status") for i in GLOO_KIND_INFOS}
    assert set(granted) == expected  # nothing else: no secrets, no writes to the objects themselves
    role = _one("Role")
    assert role["metadata"]["namespace"] == "gloo-mesh"
    assert role["rules"] == [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                              "verbs": ["get", "create", "update"]}]
    account = _one("ServiceAccount")["metadata"]
    for binding, role_kind in (("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")):
        bound = _one(binding)
        assert bound["roleRef"]["kind"] == role_kind and bound["roleRef"]["name"] == _one(role_kind)["metadata"]["name"]
        assert bound["subjects"] == [{"kind": "ServiceAccount", "name": account["name"],
                                      "namespace": account["namespace"]}]


def test_a_replica_needs_no_more_than_these_rules(kubeconfig_path: Path, east: FakeApiServer, closing) -> None:
    load_demo_routing(east)
    east.grant(_one("ClusterRole"))
    east.grant(_one("Role"), namespace="gloo-mesh")
    source = KubeSource("east", kubeconfig=str(kubeconfig_path), backoff_base=0.05, backoff_max=0.2)
    workspace = closing(Workspace([source], coalesce_seconds=0.01).load())
    assert source.status.state == "ok", source.status.reason
    options = ReplicaOptions(replica_id="rbac", leader_elect=True, lease_namespace="gloo-mesh", listen="127.0.0.1:0",
                             timing=LeaseTiming(1.0, 0.6, 0.1))
    replica = closing(Replica(workspace, options)).start()
    workspace.start()
    wait_until(replica.is_leader, timeout=5)
    wait_until(lambda: (east.get(GLOO_ENTERPRISE, "RouteTable", "gloo-mesh", "demo-routetable") or {}).get("status"),
               timeout=10)
    time.sleep(0.3)
    assert east.forbidden == []
    # and the rules do bite: a Lease elsewhere, or a write to an object itself, is refused
    east.grant({"rules": []})
    from meshctl.sources.kube_client import KubeClient, KubeError

    client = closing(KubeClient("east", str(kubeconfig_path)))
    with pytest.raises(KubeError) as caught:
        client.request("GET", "/apis/coordination.k8s.io/v1/namespaces/default/leases/x")
    assert caught.value.code == 403
    with pytest.raises(KubeError) as caught:
        client.request("PATCH", f"/apis/{GLOO_ENTERPRISE}/namespaces/gloo-mesh/routetables/demo-routetable",
                       body={"spec": {"weight": 1}}, content_type="application/merge-patch+json")
    assert caught.value.code == 403


def test_containerfile_is_multi_stage_locked_and_non_root() -> None:
    text = (REPO / "deploy" / "Containerfile").read_text()
    stages = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert len(stages) >= 2 and " AS build" in stages[0]
    assert "COPY requirements.lock" in text and "-c requirements.lock" in text
    assert "COPY --from=build" in text
    user = [line for line in text.splitlines() if line.startswith("USER ")][-1].split()[1]
    assert user.split(":")[0] not in ("0", "root")


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its built-in kustomize) not installed")
def test_kustomize_renders_every_object() -> None:
    rendered = subprocess.run(["kubectl", "kustomize", str(DEPLOY)], capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    assert sorted((d["kind"], d["metadata"]["name"]) for d in docs) == \
        sorted((o["kind"], o["metadata"]["name"]) for o in _objects())
    [deployment] = [d for d in docs if d["kind"] == "Deployment"]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "meshctl:0.1.0"
    assert all(d["metadata"]["labels"]["app.kubernetes.io/part-of"] == "meshctl" for d in docs)
