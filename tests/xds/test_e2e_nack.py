"""A configuration Envoy rejects, edited on disk: NACKed with Envoy's reason, the previous config keeps serving."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fixtures_e2e import BIG_REGEX, mesh_harness, one_route_config  # noqa: F401 (mesh_harness is a fixture)

from meshctl.envoy.ports import free_port
from meshctl.xds.codec import ROUTE_TYPE

pytestmark = pytest.mark.envoy

# Envoy's fault filter only takes abort statuses in [200, 600).
BAD_ABORT = """  - name: bad-abort
    matchers: [{uri: {prefix: /abort}}]
    directResponseAction: {status: 200, body: never}
    options: {faultInjection: {abort: {httpStatus: 700}}}
"""


def _route_status(harness, node_id: str):
    clients = [c for c in harness.service.status() if c.node_id == node_id]
    assert len(clients) == 1
    return clients[0].per_type[ROUTE_TYPE]


def _wait_route_state(harness, node_id: str, state: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    status = _route_status(harness, node_id)
    while status.state != state and time.monotonic() < deadline:
        time.sleep(0.02)
        status = _route_status(harness, node_id)
    return status


@pytest.mark.parametrize("extra, reason", [
    (BIG_REGEX, "RE2 program size of 205 > max program size of 100"),
    (BAD_ABORT, "HttpStatus: value must be inside range [200, 600)"),
])
def test_rejected_edit_is_nacked_and_previous_config_keeps_serving(tmp_path: Path, mesh_harness, extra: str,  # noqa: F811
                                                                  reason: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(one_route_config("good", "probe", ""))
    port = free_port()
    harness = mesh_harness([tmp_path], listener_ports={"app/gw": port}).watch()
    harness.envoy("edge-1")
    client = harness.client(port)
    assert client.until("/probe", lambda a: a == (200, "good")) == (200, "good")
    # Envoy may serve the routes before its ACK reaches the server
    good_version = _wait_route_state(harness, "edge-1", "SYNCED").acked_version
    assert good_version is not None

    config.write_text(one_route_config("from-the-bad-version", "probe", extra))
    status = _wait_route_state(harness, "edge-1", "NACKED")
    assert status.state == "NACKED" and reason in (status.nack_reason or "")
    assert status.acked_version == good_version
    assert client.get("/probe") == (200, "good")  # Envoy kept the last accepted route configuration

    config.write_text(one_route_config("fixed", "probe", ""))
    assert _wait_route_state(harness, "edge-1", "SYNCED").state == "SYNCED"
    assert client.until("/probe", lambda a: a == (200, "fixed")) == (200, "fixed")
