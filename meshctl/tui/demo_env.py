"""`meshctl tui --demo`: bring up (or attach to) the demo environment — apps, xDS server, real Envoys — and
stop on exit only what this console started. Falls back to the packaged demo files and an in-process xDS
server when the environment cannot start (e.g. no Envoy binary)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..model.snapshot import demo_files
from ..sources.files import FileSource
from .integrations import Attachments, RemoteXdsLink, start_local_xds


class DemoConfigSource(FileSource):
    """The running demo's config dir (ports rewritten to the real apps); the packaged demo files without it."""

    kind = "demo"

    def __init__(self, config_dir: Path, interval: float = 0.25) -> None:
        super().__init__([str(config_dir)], name="demo", interval=interval)
        self.config_dir = config_dir

    def load(self) -> None:
        self.paths = [str(self.config_dir)] if self.config_dir.is_dir() else [str(p) for p in demo_files()]
        super().load()


class ConsoleDemo:
    def __init__(self, state_dir: str | os.PathLike[str] | None = None) -> None:
        from ..demo.environment import DemoEnvironment

        self.environment = DemoEnvironment(state_dir)
        self.state_dir = self.environment.state_dir
        self.started = False
        self.attempted = False  # up() was called: stop() must bring down whatever it started, even half-way
        self.source = DemoConfigSource(self.environment.config_dir)
        self.fallback: Any = None  # in-process xDS server when the environment could not start

    def start(self, workspace: Any) -> Attachments:
        """Blocking (run it in a worker): attach to a running demo, else start one."""
        from ..demo.environment import DemoError, DemoNotRunning, load_demo
        from ..envoy.admin import AdminClient
        from .integrations import default_failover_control

        try:
            info = load_demo(self.state_dir)
            how = "attached to the running demo"
        except DemoNotRunning:
            self.attempted = True
            try:
                info = self.environment.up()
            except (DemoError, OSError, RuntimeError) as exc:
                workspace.load()  # the packaged demo files, so the console still shows routes
                link, note = start_local_xds(workspace)
                self.fallback = getattr(link, "server", None)
                return Attachments(xds=link, xds_note=f"demo environment not started ({exc}); {note}")
            self.started = True
            how = "demo environment"
        admins = [AdminClient(url) for url in info.admin_urls().values()]
        failover = default_failover_control()
        if failover is not None and hasattr(failover, "state_dir"):
            failover.state_dir = self.state_dir
        return Attachments(xds=RemoteXdsLink(info.xds_address, follows_files=True),
                           xds_note=f"{how}: xDS {info.xds_address}, {len(admins)} Envoy(s)",
                           envoy_admins=admins, failover=failover)

    def stop(self) -> None:
        """Stop what this console started (a demo it merely attached to keeps running)."""
        if self.fallback is not None:
            self.fallback.stop()
            self.fallback = None
        if self.attempted:  # down() waits for an up() still running in the startup worker (supervisor lock)
            self.environment.down()
            self.started = self.attempted = False
