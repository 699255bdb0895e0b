"""Fixtures for the sandbox tests: the 004 guide steps, small inline configurations, the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from meshctl.model.snapshot import load_snapshot, snapshot_from_text
from meshctl.sandbox.engine import Sandbox

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / "docs" / "examples" / "004-advanced-routing"
CASES = REPO_ROOT / "tests" / "cases"
GLOO = "networking.enterprise.mesh.gloo.solo.io/v1beta1"


def gateway_yaml(name: str = "gw", namespace: str = "gloo-mesh", labels: dict[str, str] | None = None) -> str:
    """A VirtualGateway selecting VirtualHosts of its namespace (optionally by label)."""
    selector = "{namespaces: [%s]%s}" % (namespace, f", labels: {labels}" if labels else "")
    return f"""apiVersion: {GLOO}
kind: VirtualGateway
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  connectionHandlers:
  - http:
      routeConfig:
      - virtualHostSelector: {selector}
"""


def vhost_yaml(name: str, domains: list[str], routes: str, namespace: str = "gloo-mesh",
               labels: dict[str, str] | None = None) -> str:
    """A VirtualHost; `routes` is the YAML list of routes, indented by two spaces."""
    label_text = f"\n  labels: {labels}" if labels else ""
    return f"""apiVersion: {GLOO}
kind: VirtualHost
metadata:
  name: {name}
  namespace: {namespace}{label_text}
spec:
  domains: {domains}
  routes:
{routes}"""


@pytest.fixture(scope="session")
def guide_sandbox() -> Callable[[str], Sandbox]:
    cache: dict[str, Sandbox] = {}

    def get(step: str) -> Sandbox:
        if step not in cache:
            cache[step] = Sandbox(load_snapshot([GUIDE / step]))
        return cache[step]

    return get


@pytest.fixture
def sandbox_from() -> Callable[..., Sandbox]:
    def build(*docs: str) -> Sandbox:
        return Sandbox(snapshot_from_text("---\n".join(docs)))

    return build


def run_cli(*args: str, cwd: Path = REPO_ROOT, timeout: float = 120, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The real `meshctl` entry point in a child process (stdin is not a terminal)."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("MESHCTL_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "meshctl.cli.main", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, input=stdin, env=env)
