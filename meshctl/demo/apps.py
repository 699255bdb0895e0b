"""Demo HTTP services (bookinfo-like reviews/ratings/productpage, databases) hosted in one process.

Run as ``python -m meshctl.demo.apps --spec SPEC.json --ready-file READY.json``. Every instance listens on
its own 127.0.0.1 port; a separate control port switches instances between ok / fail / hang / refuse so
failover drills act on real sockets.  `AppControl` is the client for the control port and
`launch_apps` starts the process under a `Supervisor`.
"""

from __future__ import annotations

import sys

from .app_behaviour import InstanceState, ModeError, UnknownInstance, call_upstream, failure_body, identity, kind_body
from .app_control import AppControl, AppControlError, RunningApps, launch_apps, read_ready_file
from .app_server import AppsHub, DemoServer, main
from .app_spec import HOST, KINDS, MODES, SELECT_KEYS, AppsSpec, InstanceSpec, SpecError, Upstream

__all__ = ["HOST", "KINDS", "MODES", "SELECT_KEYS", "AppControl", "AppControlError", "AppsHub", "AppsSpec",
           "DemoServer", "InstanceSpec", "InstanceState", "ModeError", "RunningApps", "SpecError", "UnknownInstance",
           "Upstream", "call_upstream", "failure_body", "identity", "kind_body", "launch_apps", "main",
           "read_ready_file"]

if __name__ == "__main__":
    sys.exit(main())
