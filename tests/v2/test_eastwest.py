"""East-west (E1-E5): which sidecars get a v2 RouteTable, the routes they serve, `routes --workload`,
`test-route --workload` and `xds dump --node sidecar:...`, on the reference's example (b) and its variants."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from meshctl.cli.main import main
from meshctl.model.snapshot import Snapshot, snapshot_from_text
from meshctl.routing.actions import action_dict
from meshctl.routing.evaluate import Request
from meshctl.routing.v2_eastwest import find_workload, sidecar_view
from meshctl.routing.view import build_routing_view
from meshctl.sandbox import Sandbox

DATA = Path(__file__).resolve().parent / "data"
B, DISCOVERY = DATA / "reference-b.yaml", DATA / "reference-b-discovery.yaml"
INTERNAL = "reviews.bookinfo.svc.cluster.local"


def example_b(edit=None) -> Snapshot:
    docs = [*yaml.safe_load_all(B.read_text()), *yaml.safe_load_all(DISCOVERY.read_text())]
    if edit is not None:
        edit(next(d for d in docs if d["kind"] == "RouteTable")["spec"])
    return snapshot_from_text(yaml.safe_dump_all(docs), "b.yaml")


def sidecar_hosts(snapshot: Snapshot, workload: str) -> list[str]:
    view = sidecar_view(snapshot, find_workload(snapshot, workload))
    return [vh.name for g in view.gateways for vh in g.virtual_hosts]


def gateway_hosts(snapshot: Snapshot) -> list[str]:
    return [vh.name for g in build_routing_view(snapshot).gateways for vh in g.virtual_hosts]


def test_example_b_selected_sidecars_get_both_hosts() -> None:
    snapshot = example_b()
    assert sidecar_hosts(snapshot, "bookinfo/productpage") == ["reviews.example.com", INTERNAL]
    assert sidecar_hosts(snapshot, "bookinfo/ratings@cluster1") == []  # plain Kubernetes routing
    assert gateway_hosts(snapshot) == ["reviews.example.com"]
    workload = find_workload(snapshot, "bookinfo/productpage")
    sandbox = Sandbox(snapshot, sidecar_view(snapshot, workload))
    jason = sandbox.evaluate(Request(authority=INTERNAL, path="/", headers={"end-user": "jason"}))
    assert jason.route.name == "jason-to-v2"
    other = sandbox.evaluate(Request(authority=INTERNAL, path="/"))
    assert [(d["subset"]["version"], d["weight"]) for d in action_dict(other.route)["destinations"]] == \
        [("v1", 90), ("v3", 10)]


def test_variants_e1_e2_e3() -> None:
    def gateway_only(spec: dict) -> None:
        spec["workloadSelectors"] = []

    def everyone(spec: dict) -> None:
        spec["workloadSelectors"] = [{}]

    def sidecars_only(spec: dict) -> None:
        spec["workloadSelectors"] = []
        del spec["virtualGateways"]

    e2 = example_b(gateway_only)
    assert sidecar_hosts(e2, "bookinfo/productpage") == [] and gateway_hosts(e2) == ["reviews.example.com"]
    e3 = example_b(everyone)
    assert sidecar_hosts(e3, "bookinfo/ratings") == ["reviews.example.com", INTERNAL]
    assert gateway_hosts(e3) == ["reviews.example.com"]
    e1 = example_b(sidecars_only)
    assert sidecar_hosts(e1, "bookinfo/ratings") == ["reviews.example.com", INTERNAL]
    assert sidecar_hosts(e1, "bookinfo/productpage") == ["reviews.example.com", INTERNAL]
    assert gateway_hosts(e1) == []


E5 = """
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: root, namespace: bookinfo}
spec:
  hosts: [api.bookinfo]
  workloadSelectors: [{selector: {labels: {version: v1}}}]
  http:
  - name: to-children
    delegate: {routeTables: [{labels: {child: "yes"}}]}
---
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: product-only, namespace: bookinfo, labels: {child: "yes"}}
spec:
  workloadSelectors: [{selector: {labels: {app: productpage}}}]
  http: [{name: p, matchers: [{uri: {prefix: /p}}], directResponse: {status: 200, body: p}}]
---
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: conflicting, namespace: bookinfo, labels: {child: "yes"}}
spec:
  workloadSelectors: [{selector: {labels: {version: v2}}}]
  http: [{name: c, matchers: [{uri: {prefix: /c}}], directResponse: {status: 200, body: c}}]
---
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: plain, namespace: bookinfo, labels: {child: "yes"}}
spec:
  http: [{name: all, matchers: [{uri: {prefix: /}}], directResponse: {status: 200, body: all}}]
"""


def test_e5_children_selectors_are_anded_and_conflicts_reported() -> None:
    snapshot = snapshot_from_text(E5 + "---\n" + DISCOVERY.read_text(), "e5.yaml")
    product = sidecar_view(snapshot, find_workload(snapshot, "bookinfo/productpage"))
    ratings = sidecar_view(snapshot, find_workload(snapshot, "bookinfo/ratings"))
    assert [r.name for r in product.gateways[0].virtual_hosts[0].routes] == ["all", "p"]  # R6: name order
    assert [r.name for r in ratings.gateways[0].virtual_hosts[0].routes] == ["all"]
    [conflict] = [d for d in product.diagnostics if d.code == "workload-selector-conflict"]
    assert conflict.resource == "RouteTable bookinfo/conflicting" and "version=v2" in conflict.message


def test_cli_routes_and_test_route_for_a_workload(capsys) -> None:
    files = [str(B), str(DISCOVERY)]
    assert main(["routes", *files, "--workload", "bookinfo/productpage", "-o", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["workload"]["labels"]["app"] == "productpage" and data["note"] is None
    assert [vh["name"] for g in data["gateways"] for vh in g["virtualHosts"]] == ["reviews.example.com", INTERNAL]
    assert main(["routes", *files, "--workload", "bookinfo/ratings"]) == 0
    assert "plain Kubernetes service routing applies" in capsys.readouterr().out
    assert main(["test-route", *files, "--workload", "bookinfo/productpage@cluster1", "-H", "end-user: jason",
                 "-o", "json", "GET", f"http://{INTERNAL}/r"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["route"]["name"] == "jason-to-v2" and "note" not in answer
    assert main(["test-route", *files, "--workload", "bookinfo/ratings", f"http://{INTERNAL}/r"]) == 0
    text = capsys.readouterr().out
    assert f"no Gloo route for host {INTERNAL} on the sidecar of bookinfo/ratings@cluster1" in text
    assert main(["routes", *files, "--workload", "bookinfo/nope"]) == 2
    assert "no Service bookinfo/nope" in capsys.readouterr().err


def test_xds_dump_gives_the_sidecar_the_same_routes(capsys) -> None:
    files = [str(B), str(DISCOVERY)]
    assert main(["xds", "dump", *files, "--node", "sidecar:bookinfo/productpage@cluster1", "--type", "rds",
                 "-o", "json"]) == 0
    [config] = json.loads(capsys.readouterr().out)["routes"]
    gloo = [vh for vh in config["virtualHosts"] if vh["name"] in ("reviews.example.com", INTERNAL)]
    assert [vh["domains"] for vh in gloo] == [["reviews.example.com"], [INTERNAL]]
    assert [r["name"] for r in gloo[1]["routes"]] == ["RouteTable/bookinfo/reviews#jason-to-v2",
                                                      "RouteTable/bookinfo/reviews#default"]
    # the per-service virtual host of reviews no longer claims the name the Gloo table serves
    others = [d for vh in config["virtualHosts"] if vh not in gloo for d in vh["domains"]]
    assert INTERNAL not in others
    assert main(["xds", "dump", *files, "--node", "sidecar:bookinfo/ratings@cluster1", "--type", "rds",
                 "-o", "json"]) == 0
    [config] = json.loads(capsys.readouterr().out)["routes"]
    assert not any(vh["name"] == INTERNAL for vh in config["virtualHosts"])


def test_case_file_workload_input(capsys, tmp_path) -> None:
    cases = DATA / "reference-b-eastwest-cases.yaml"
    assert main(["test-route", str(B), str(DISCOVERY), "--file", str(cases), "-o", "json"]) == 0
    capsys.readouterr()
    broken = tmp_path / "bad.yaml"
    broken.write_text(cases.read_text().replace("workload: bookinfo/ratings@cluster1", "workload: ratings"))
    assert main(["test-route", str(B), str(DISCOVERY), "--file", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "tests[1]" in err and "input.workload" in err and "NS/NAME[@CLUSTER]" in err
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(cases.read_text().replace("route_name: jason-to-v2", "route_name: default"))
    assert main(["test-route", str(B), str(DISCOVERY), "--file", str(wrong)]) == 1


def test_route_policies_apply_on_the_sidecar_too() -> None:
    docs = [*yaml.safe_load_all(B.read_text()), *yaml.safe_load_all(DISCOVERY.read_text())]
    table = next(d for d in docs if d["kind"] == "RouteTable")
    table["spec"]["http"][0]["labels"] = {"timeout": "short"}
    docs.append({"apiVersion": "resilience.policy.gloo.solo.io/v2", "kind": "RetryTimeoutPolicy",
                 "metadata": {"name": "short", "namespace": "bookinfo"},
                 "spec": {"applyToRoutes": [{"route": {"labels": {"timeout": "short"}}}],
                          "config": {"requestTimeout": "250ms"}}})
    snapshot = snapshot_from_text(yaml.safe_dump_all(docs), "b.yaml")
    view = sidecar_view(snapshot, find_workload(snapshot, "bookinfo/productpage"))
    routes = {r.name: r for vh in view.gateways[0].virtual_hosts for r in vh.routes}
    assert routes["jason-to-v2"].options.request_timeout == "250ms"
    assert routes["jason-to-v2"].applied_policies == ["RetryTimeoutPolicy/bookinfo/short"]
    assert routes["default"].applied_policies == []


def test_test_route_as_a_workload_takes_its_locality(capsys, tmp_path) -> None:
    """Without --from-locality, the sidecar's endpoint priorities are computed from where the workload runs;
    --from-locality still wins."""
    located = tmp_path / "cluster.yaml"
    located.write_text("apiVersion: meshctl.io/v1alpha1\nkind: Cluster\nmetadata: {name: cluster1}\n"
                       "spec: {locality: {region: us-east-1, zone: us-east-1a}}\n")
    files = [str(B), str(DISCOVERY), str(located)]
    assert main(["test-route", *files, "--workload", "bookinfo/productpage", "-o", "json",
                 "GET", f"http://{INTERNAL}/r"]) == 0
    assert json.loads(capsys.readouterr().out)["fromLocality"] == "us-east-1/us-east-1a"
    assert main(["test-route", *files, "--workload", "bookinfo/productpage", "--from-locality", "eu-west-1",
                 "-o", "json", "GET", f"http://{INTERNAL}/r"]) == 0
    assert json.loads(capsys.readouterr().out)["fromLocality"] == "eu-west-1"
    assert main(["test-route", str(B), str(DISCOVERY), "--workload", "bookinfo/productpage", "-o", "json",
                 "GET", f"http://{INTERNAL}/r"]) == 0
    assert json.loads(capsys.readouterr().out)["fromLocality"] is None  # nothing says where it runs
