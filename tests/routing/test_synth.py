"""The synthetic configuration generator used by benchmarks: deterministic, the size asked for, clean, loadable."""

from __future__ import annotations

from meshctl.devtools.synth import synthetic_config_text, synthetic_documents, synthetic_requests
from meshctl.model.findings import Severity
from meshctl.model.snapshot import snapshot_from_text
from meshctl.routing.evaluate import first_failure
from meshctl.routing.view import build_routing_view


def test_synthetic_config_flattens_to_the_requested_size_without_errors() -> None:
    snapshot = snapshot_from_text(synthetic_config_text(500, seed=4), "synth.yaml")
    assert not [f for f in snapshot.findings if f.severity is Severity.ERROR]
    view = build_routing_view(snapshot)
    (g,) = view.gateways
    (v,) = g.virtual_hosts
    assert 500 <= len(v.routes) <= 502 and not v.invalid
    assert not [d for d in view.diagnostics if d.severity is Severity.ERROR]
    assert {r.position.reason for r in v.routes} >= {"table weight", "route specificity", "written order"}
    assert max(len(r.chain) for r in v.routes) == 4  # three levels of delegation


def test_synthetic_output_is_deterministic_per_seed() -> None:
    assert synthetic_documents(300, seed=1) == synthetic_documents(300, seed=1)
    assert synthetic_documents(300, seed=1) != synthetic_documents(300, seed=2)


def test_synthetic_requests_mostly_hit_routes() -> None:
    view = build_routing_view(snapshot_from_text(synthetic_config_text(300, seed=2), "synth.yaml"))
    routes = view.gateways[0].virtual_hosts[0].routes
    requests = synthetic_requests(view, 200, seed=3)
    assert len(requests) == 200
    hits = sum(any(first_failure(m, req) is None for r in routes[:-1] for m in r.matchers) for req in requests)
    assert hits >= 150  # the rest aim at nothing specific (the catch-all is left out above)
    assert [r.path for r in requests] == [r.path for r in synthetic_requests(view, 200, seed=3)]
