"""What the server keeps per ADS stream: the client's node and, per type URL, what it asked for, was sent and
answered (go-control-plane's pkg/server/stream)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable
from typing import Any

from .cache import NodeInfo
from .codec import STREAM_ORDER

CLOSE = object()  # queue item: end the stream
SNAPSHOT = object()  # queue item: the stream's snapshot changed


class TypeState:
    """What one stream has asked for and been sent for one type URL."""

    __slots__ = (
        "subscribed", "names", "wildcard", "sent", "sent_names", "sent_version", "sent_nonce", "sent_at", "in_flight",
        "acked_version", "nacked", "nacked_version", "nack_reason", "latency_ms", "sent_resources", "pending",
        "last_updates",
    )

    def __init__(self) -> None:
        self.subscribed = False
        self.names: frozenset[str] | None = None  # SotW subscription; None is a wildcard
        self.wildcard = False  # delta wildcard subscription
        self.sent = False  # anything sent yet for this type
        self.sent_names: frozenset[str] | None = None  # the subscription last answered (None: wildcard)
        self.sent_version: str | None = None
        self.sent_nonce: str | None = None
        self.sent_at: float | None = None
        self.in_flight = False
        self.acked_version: str | None = None
        self.nacked = False
        self.nacked_version: str | None = None
        self.nack_reason: str | None = None
        self.latency_ms: float | None = None
        self.sent_resources: dict[str, str] = {}  # delta: name → version the client was sent
        self.pending: dict[str, tuple[str, float]] = {}  # delta: nonce → (type version, sent at)
        self.last_updates: list[str] = []  # delta: names in the last response


class Stream:
    """One ADS stream from one client."""

    def __init__(self, stream_id: int, kind: str, peer: str):
        self.id = stream_id
        self.kind = kind
        self.peer = peer
        self.node: NodeInfo | None = None
        self.group: Hashable = None
        self.connected_at = time.time()
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.types: dict[str, TypeState] = {}
        self.done = asyncio.Event()

    def ordered_types(self) -> list[str]:
        core = [t for t in STREAM_ORDER if t in self.types]
        return core + sorted(t for t in self.types if t not in STREAM_ORDER)
