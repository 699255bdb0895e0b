"""What each connected client was sent and acknowledged (SYNCED / STALE / NACKED), waiting until clients are in
sync, and the same answers over CSDS (envoy.service.status.v3) for `meshctl xds status` and the console."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from . import codec
from . import status as status_api
from .cache import NodeInfo, PreparedSnapshot, SnapshotCache
from .events import EventBus
from .status import ClientStatus, TypeStatus
from .stream import Stream, TypeState


class ClientStatusReports:
    """XdsServer's status half: per-client sync state, waits on it, and the CSDS service."""

    # provided by XdsServer
    cache: SnapshotCache
    events: EventBus
    _streams: dict[int, Stream]
    _stopping: bool

    def _type_status(self, stream: Stream, type_url: str, state: TypeState,
                     prepared: PreparedSnapshot | None) -> TypeStatus:
        current = prepared.version_of(type_url) if prepared is not None else None
        if state.sent_version is None:
            sync = "NOT SENT"
        elif state.nacked:
            sync = "NACKED"
        elif type_url == codec.SCOPED_ROUTE_TYPE and prepared is not None and not prepared.types[type_url].resources:
            sync = "SYNCED"  # no listener uses scopes now: the ones the client keeps (see server.py) are not in use
        elif state.in_flight or current is None or state.acked_version != current:
            sync = "STALE"
        else:
            sync = "SYNCED"
        wall_sent = time.time() - (time.monotonic() - state.sent_at) if state.sent_at is not None else None
        return TypeStatus(
            state=sync,  # type: ignore[arg-type]
            sent_version=state.sent_version,
            acked_version=state.acked_version,
            nack_reason=state.nack_reason if state.nacked else None,
            nacked_version=state.nacked_version if state.nacked else None,
            last_push_at=wall_sent,
            last_push_latency_ms=state.latency_ms,
            resource_names=tuple(p.name for p in self._client_resources(stream, type_url, state, prepared)),
        )

    def _client_resources(self, stream: Stream, type_url: str, state: TypeState,
                          prepared: PreparedSnapshot | None) -> list[codec.PackedResource]:
        if prepared is None or type_url not in prepared.types or not state.sent:
            return []
        resources = prepared.types[type_url]
        if stream.kind == "delta":
            return [resources.resources[n] for n in sorted(state.sent_resources) if n in resources.resources]
        return resources.select(state.sent_names)

    def _client_status(self, stream: Stream) -> ClientStatus:
        assert stream.node is not None
        prepared = self.cache.get(stream.group)
        return ClientStatus(
            node_id=stream.node.id,
            cluster=stream.node.cluster,
            locality=stream.node.locality,
            connected_at=stream.connected_at,
            per_type={t: self._type_status(stream, t, stream.types[t], prepared) for t in stream.ordered_types()},
            stream_kind=stream.kind,
            user_agent=stream.node.user_agent,
        )

    def status(self) -> list[ClientStatus]:
        """Every connected client's per-type sync state (call on the server's loop, or via BackgroundXdsServer)."""
        return [self._client_status(s) for s in list(self._streams.values()) if s.node is not None]

    @property
    def stream_count(self) -> int:
        return len(self._streams)

    def _required_types(self, stream: Stream) -> set[str]:
        prepared = self.cache.get(stream.group)
        required = {codec.CLUSTER_TYPE, codec.LISTENER_TYPE} | set(stream.types)
        if prepared is not None:
            required |= {t for t in (codec.ENDPOINT_TYPE, codec.ROUTE_TYPE) if prepared.types[t].resources}
        return required

    def _synced(self, node_ids: Iterable[str] | None, count: int | None) -> bool:
        streams = [s for s in self._streams.values() if s.node is not None]
        if node_ids is not None:
            wanted = set(node_ids)
            streams = [s for s in streams if s.node is not None and s.node.id in wanted]
            if {s.node.id for s in streams if s.node is not None} != wanted:
                return False
        if len(streams) < (count if count is not None else 1):
            return False
        for stream in streams:
            client = self._client_status(stream)
            if not self._required_types(stream) <= set(client.per_type) or not client.synced:
                return False
        return True

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until predicate() (evaluated on the loop after every event) is true; TimeoutError otherwise."""
        await self.events.wait_for(predicate, timeout)

    async def wait_synced(self, timeout: float = 10.0, *, node_ids: Iterable[str] | None = None,
                          count: int | None = None) -> list[ClientStatus]:
        """Wait until the clients (all, given ids, or at least `count`) ACKed the current version of every type."""
        ids = list(node_ids) if node_ids is not None else None
        await self.wait_for(lambda: self._synced(ids, count), timeout)
        return self.status()

    # CSDS

    def _csds_response(self, request: Any) -> bytes:
        include = not request.exclude_resource_contents
        configs = []
        for stream in list(self._streams.values()):
            if stream.node is None or not node_matches(stream.node, request.node_matchers):
                continue
            prepared = self.cache.get(stream.group)
            client = self._client_status(stream)
            resources = {t: self._client_resources(stream, t, s, prepared) for t, s in stream.types.items()}
            configs.append(status_api.to_client_config(client, resources, include_contents=include))
        return status_api.encode_client_status_response(configs)

    async def _csds_fetch(self, request: Any, context: Any) -> bytes:
        return self._csds_response(request)

    async def _csds_stream(self, requests: AsyncIterator[Any], context: Any) -> AsyncIterator[bytes]:
        async for request in requests:
            if self._stopping:
                return
            yield self._csds_response(request)


def parse_csds_request(data: bytes) -> Any:
    from envoy_data_plane.envoy.service.status.v3 import ClientStatusRequest

    return ClientStatusRequest.parse(data)


def node_matches(node: NodeInfo, matchers: list[Any]) -> bool:
    """CSDS node_matchers on the node id (exact/prefix/suffix/contains); no matchers match every node."""
    if not matchers:
        return True
    for matcher in matchers:
        string = matcher.node_id
        if string is None:
            return True
        if string.exact is not None and node.id == string.exact:
            return True
        if string.prefix is not None and node.id.startswith(string.prefix):
            return True
        if string.suffix is not None and node.id.endswith(string.suffix):
            return True
        if string.contains is not None and string.contains in node.id:
            return True
    return False
