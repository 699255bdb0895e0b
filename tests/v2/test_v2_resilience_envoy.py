"""Real Envoy accepts what the v2 resilience policies translate to: EDS priorities and locality weights per the
FailoverPolicy, outlier detection from the OutlierDetectionPolicy, for a node in the mapped region."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from meshctl.envoy.bootstrap import make_bootstrap
from meshctl.envoy.ports import free_port
from meshctl.envoy.process import EnvoyProcess
from meshctl.sources.files import FileSource
from meshctl.sources.workspace import Workspace
from meshctl.xds.service import XdsService
from meshctl.xds.translate import LISTENER_PORT_KEY

pytestmark = pytest.mark.envoy

FIXTURE = Path(__file__).parent / "data" / "resilience.yaml"
REVIEWS = "outbound|9080||reviews.global"


def _endpoint_config(dump: dict, cluster: str) -> dict | None:
    for section in dump.get("configs", []):
        for entry in section.get("dynamic_endpoint_configs", []):
            config = entry.get("endpoint_config", {})
            if config.get("cluster_name") == cluster:
                return config
    return None


def test_envoy_takes_the_policy_priorities_weights_and_outlier_detection(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(FIXTURE.read_text())
    workspace = Workspace([FileSource([tmp_path], name="resilience")]).load()
    service = XdsService(workspace, listen="127.0.0.1:0").start()
    admin = free_port()
    envoy = EnvoyProcess("gw", bootstrap=make_bootstrap("gw", "gateway", ("us-east", "us-east-a", ""), "127.0.0.1",
                                                       service.bound_port, admin,
                                                       node_metadata={LISTENER_PORT_KEY: free_port()}),
                         admin_port=admin)
    try:
        envoy.start().wait_live(20)
        config = None
        deadline = time.monotonic() + 20
        while config is None and time.monotonic() < deadline:
            config = _endpoint_config(json.loads(envoy.admin.get("/config_dump?include_eds")), REVIEWS)
            time.sleep(0.1)
        assert config is not None, "Envoy never received the reviews.global endpoints"
        got = sorted((e.get("priority", 0), e["locality"].get("region"), e.get("load_balancing_weight"))
                     for e in config["endpoints"])
        assert got == [(0, "us-east", 1), (1, "us-east", 1), (2, "ap-south", 1), (2, "eu-west", 3),
                       (3, "us-west", 1)]
        clusters = json.loads(envoy.admin.get("/config_dump?resource=dynamic_active_clusters"))
        reviews = next(c["cluster"] for c in clusters["configs"] if c["cluster"]["name"] == REVIEWS)
        assert reviews["outlier_detection"]["consecutive_5xx"] == 2
        assert reviews["outlier_detection"]["consecutive_gateway_failure"] == 1
        assert "locality_weighted_lb_config" in reviews["common_lb_config"]
    finally:
        envoy.stop()
        service.stop()
