"""An XdsServer on its own event-loop thread, for synchronous callers (CLI, console, tests, benchmarks)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

from .cache import NodeInfo, SnapshotCache, XdsSnapshot
from .events import XdsEvent
from .server import ServerTls, XdsServer
from .status import ClientStatus


class BackgroundXdsServer:
    """Runs an XdsServer on its own event-loop thread, for synchronous callers (CLI, tests, benchmarks)."""

    def __init__(self, builder: Callable[[NodeInfo], XdsSnapshot] | SnapshotCache, listen: str = "127.0.0.1:0",
                 tls: ServerTls | None = None, **kwargs: Any):
        self.server = XdsServer(builder, listen, tls, **kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="xds-server", daemon=True)

    def start(self) -> "BackgroundXdsServer":
        self._thread.start()
        self.call(self.server.start())
        return self

    def call(self, coroutine: Any, timeout: float | None = 30.0) -> Any:
        """Run a coroutine on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def run(self, function: Callable[[], Any], timeout: float | None = 30.0) -> Any:
        """Run a plain function on the server's loop (where server state lives) and return its result."""
        async def wrapper() -> Any:
            return function()
        return self.call(wrapper(), timeout)

    @property
    def bound_port(self) -> int:
        assert self.server.bound_port is not None
        return self.server.bound_port

    @property
    def address(self) -> str:
        return self.server.address

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def refresh(self) -> concurrent.futures.Future[Any]:
        return self.server.refresh()

    def status(self) -> list[ClientStatus]:
        return self.run(self.server.status)

    def add_listener(self, callback: Callable[[XdsEvent], None]) -> Callable[[], None]:
        return self.server.add_listener(callback)

    def wait_synced(self, timeout: float = 10.0, **kwargs: Any) -> list[ClientStatus]:
        return self.call(self.server.wait_synced(timeout, **kwargs), timeout + 5)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        self.call(self.server.wait_for(predicate, timeout), timeout + 5)

    def refresh_and_wait(self, timeout: float = 10.0, **kwargs: Any) -> list[ClientStatus]:
        """Rebuild, push, and wait until the clients ACKed the new versions."""
        self.refresh().result(timeout)
        return self.wait_synced(timeout, **kwargs)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        try:
            self.call(self.server.stop(), timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    def __enter__(self) -> "BackgroundXdsServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
