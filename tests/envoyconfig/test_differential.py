"""Differential test, independent of meshctl's xDS translation: random Envoy RouteConfigurations written directly,
served by a real Envoy from a static bootstrap (inline and file-RDS routes), random requests through it, and the
Envoy-config sandbox over that Envoy's /config_dump must give the same answer every time."""

from __future__ import annotations

import pytest

from .differential import run_differential

pytestmark = pytest.mark.envoy

CONFIGS = 10
REQUESTS_PER_CONFIG = 110


def test_sandbox_over_config_dump_answers_like_envoy() -> None:
    total, disagreements = run_differential(range(1, CONFIGS + 1), REQUESTS_PER_CONFIG)
    assert total >= 1000
    report = "\n".join(d.render() for d in disagreements[:15])
    assert not disagreements, f"{len(disagreements)} of {total} answers differ:\n{report}"
