"""The demo's control plane: an xDS server on the demo configuration plus the EDS health API, in one process.

Run as ``python -m meshctl.demo.env_server --config-dir DIR --ready-file READY.json``; the demo environment
starts it under its Supervisor so a detached demo keeps serving after `meshctl demo up --detach` returns.
`EnvServer` is the same thing in-process (for the TUI or tests that want the Workspace at hand).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from ..failover.eds_health import HealthApi


class EnvServer:
    """Workspace over the demo config dir (watched), an XdsService on it, and the health API beside it."""

    def __init__(self, config_dir: str | os.PathLike[str], listen: str = "127.0.0.1:0", health_port: int = 0,
                 watch_interval: float = 0.25, mtls_plan: str | os.PathLike[str] | None = None) -> None:
        from ..sources.files import FileSource
        from ..sources.workspace import Workspace
        from ..xds.service import XdsService

        self.config_dir = Path(config_dir)
        self.source = FileSource([self.config_dir], name="demo-environment", interval=watch_interval)
        self.workspace = Workspace([self.source])
        self.service = XdsService(self.workspace, listen=listen)
        self.health_port = health_port
        self.health: HealthApi | None = None
        self.rotation: Any = None
        if mtls_plan is not None:  # the CA lives here: certificates over SDS, rotated and re-pushed
            from ..xds.mesh_tls import RotationPusher
            from .env_mtls import load_mesh_tls

            self.service.mesh_tls = load_mesh_tls(Path(mtls_plan))
            self.rotation = RotationPusher(self.service.mesh_tls, self.service.refresh)

    def start(self) -> "EnvServer":
        self.workspace.load()
        self.service.start()
        try:
            self.health = HealthApi(self.service, self.health_port, reload=self.reload).start()
            self.workspace.start()
            if self.rotation is not None:
                self.rotation.start()
        except BaseException:
            self.stop()
            raise
        return self

    def reload(self) -> None:
        """Re-read the config dir now (the watcher would, a moment later) and rebuild the snapshot."""
        self.workspace.reload()  # one snapshot, not a second coalesced one for the source's announcement

    def stop(self) -> None:
        if self.rotation is not None and self.rotation.started:
            self.rotation.stop()
        self.workspace.stop()
        if self.health is not None:
            self.health.stop()
            self.health = None
        self.service.stop()

    @property
    def xds_port(self) -> int:
        return self.service.bound_port

    @property
    def health_url(self) -> str:
        assert self.health is not None
        return self.health.url

    def ready_info(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "xds_port": self.xds_port, "xds": f"127.0.0.1:{self.xds_port}",
                "health_port": self.health.port if self.health else None, "health_url": self.health_url}

    def __enter__(self) -> "EnvServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m meshctl.demo.env_server", description=__doc__)
    parser.add_argument("--config-dir", required=True, help="directory of YAML the xDS server serves")
    parser.add_argument("--ready-file", help="written with the bound ports once serving")
    parser.add_argument("--listen", default="127.0.0.1:0", help="xDS listen address (default: a free port)")
    parser.add_argument("--mtls", help="mTLS plan (JSON written by `meshctl demo up`): run the CA, serve SDS")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    try:
        server = EnvServer(args.config_dir, listen=args.listen, mtls_plan=args.mtls).start()
    except Exception as err:
        print(f"meshctl demo xDS server: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    ready = Path(args.ready_file) if args.ready_file else None
    try:
        if ready is not None:
            tmp = ready.with_name(f".{ready.name}.tmp")
            tmp.write_text(json.dumps(server.ready_info(), indent=2))
            os.replace(tmp, ready)  # atomic: the parent never reads half a file
        print(f"meshctl demo xDS server: xDS {server.service.address}, health API {server.health_url}", flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()
        if ready is not None:
            with contextlib.suppress(FileNotFoundError):
                ready.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
