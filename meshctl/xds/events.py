"""Server events (connect, push, ack, nack, refresh, error, disconnect) and the bus that hands them to listeners
and wakes whoever waits for a condition (go-control-plane's callbacks)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class XdsEvent:
    """Something that happened on the server: connect, disconnect, push, ack, nack, refresh, error."""

    kind: str
    node_id: str = ""
    stream_id: int = 0
    type_url: str = ""
    version: str = ""
    nonce: str = ""
    message: str = ""
    latency_ms: float | None = None
    at: float = dataclasses.field(default_factory=time.time)


class EventBus:
    """Listeners (called on the server's event loop) and waiters re-checking their condition after each event."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[XdsEvent], None]] = []
        self._change_waiters: set[asyncio.Future[None]] = set()

    def add_listener(self, callback: Callable[[XdsEvent], None]) -> Callable[[], None]:
        """Subscribe to events; returns an unsubscribe function."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def emit(self, event: XdsEvent) -> None:
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:  # a broken listener must not break a stream
                log.exception("xDS event listener failed")
        waiters, self._change_waiters = self._change_waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until predicate() (evaluated on the loop after every event) is true; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("xDS condition not reached in time")
            waiter = asyncio.get_running_loop().create_future()
            self._change_waiters.add(waiter)
            try:
                await asyncio.wait_for(waiter, min(remaining, 0.5))
            except asyncio.TimeoutError:
                pass
            finally:
                self._change_waiters.discard(waiter)
