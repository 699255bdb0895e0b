"""The Gloo v2 reference's worked example (b), gateway part: only the admitted host is served on the gateway,
`end-user: jason` goes to v2, everything else 90% v1 / 10% v3 (the R14 remainder); `ref` namespaces default."""

from __future__ import annotations

from pathlib import Path

from meshctl.model.snapshot import load_snapshot
from meshctl.model.validate import validate
from meshctl.routing.actions import action_dict
from meshctl.routing.evaluate import Request
from meshctl.routing.flatten import build_routing_view
from meshctl.sandbox import Sandbox

B = Path(__file__).resolve().parent / "data" / "reference-b.yaml"


def test_example_b_gateway_part() -> None:
    snapshot = load_snapshot([B])
    assert [f.code for f in validate(snapshot) if f.severity.value == "error"] == []
    view = build_routing_view(snapshot)
    [gw] = view.gateways
    assert gw.name == "bookinfo/north-south" and [v.name for v in gw.virtual_hosts] == ["reviews.example.com"]
    sandbox = Sandbox(snapshot, view)
    jason = sandbox.evaluate(Request(authority="reviews.example.com", path="/", headers={"end-user": "jason"}))
    assert jason.route.name == "jason-to-v2"
    [dest] = action_dict(jason.route)["destinations"]
    assert dest["subset"] == {"version": "v2"} and dest["namespace"] == "bookinfo"
    other = sandbox.evaluate(Request(authority="reviews.example.com", path="/", headers={"end-user": "bob"}))
    assert other.route.name == "default"
    assert [(d["subset"]["version"], d["weight"]) for d in action_dict(other.route)["destinations"]] == \
        [("v1", 90), ("v3", 10)]
    internal = sandbox.evaluate(Request(authority="reviews.bookinfo.svc.cluster.local", path="/"))
    assert internal.route is None  # the internal name is for sidecars, not served on the gateway
