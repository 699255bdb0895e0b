"""Aggregated Discovery Service (state-of-the-world and delta) plus CSDS on grpcio asyncio, serving per-node snapshots."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import itertools
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Hashable, Iterable
from typing import Any

import grpc

from meshctl.xds import codec, status as status_api
from meshctl.xds.cache import NodeInfo, PreparedSnapshot, Snapshot, SnapshotCache
from meshctl.xds.codec import PUSH_ORDER, WILDCARD_TYPES, DeltaRequest, SotwRequest
from meshctl.xds.status import ClientStatus, TypeStatus

log = logging.getLogger(__name__)

ADS_SERVICE = "envoy.service.discovery.v3.AggregatedDiscoveryService"
SOTW_METHOD = f"/{ADS_SERVICE}/StreamAggregatedResources"
DELTA_METHOD = f"/{ADS_SERVICE}/DeltaAggregatedResources"

_CLOSE = object()  # queue item: end the stream
_SNAPSHOT = object()  # queue item: the stream's snapshot changed


@dataclasses.dataclass(frozen=True)
class ServerTls:
    """Server certificate; with `client_ca` set, clients must present a certificate it signed (mutual TLS)."""

    cert_chain: bytes
    private_key: bytes
    client_ca: bytes | None = None

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.private_key, self.cert_chain)],
            root_certificates=self.client_ca,
            require_client_auth=self.client_ca is not None,
        )


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


class _TypeState:
    """What one stream has asked for and been sent for one type URL."""

    __slots__ = (
        "subscribed", "names", "wildcard", "sent_names", "sent_version", "sent_nonce", "sent_at", "in_flight",
        "acked_version", "nacked", "nacked_version", "nack_reason", "latency_ms", "sent_resources", "pending",
        "last_updates",
    )

    def __init__(self) -> None:
        self.subscribed = False
        self.names: frozenset[str] | None = None  # SotW subscription; None is a wildcard
        self.wildcard = False  # delta wildcard subscription
        self.sent_names: frozenset[str] | None | bool = False  # False: nothing sent yet
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


class _Stream:
    """One ADS stream from one client."""

    def __init__(self, stream_id: int, kind: str, peer: str):
        self.id = stream_id
        self.kind = kind
        self.peer = peer
        self.node: NodeInfo | None = None
        self.group: Hashable = None
        self.connected_at = time.time()
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.types: dict[str, _TypeState] = {}
        self.done = asyncio.Event()

    def ordered_types(self) -> list[str]:
        core = [t for t in PUSH_ORDER if t in self.types]
        return core + sorted(t for t in self.types if t not in PUSH_ORDER)


class XdsServer:
    """ADS server for Envoy: one snapshot per node group, pushed in CDS→EDS→LDS→RDS order.

    `builder` is a Callable[[NodeInfo], Snapshot] or a ready SnapshotCache. Versions are content hashes
    prefixed by a per-process boot id; every response has a fresh nonce; a NACKed version is recorded and
    not sent again (only a newer version is).
    """

    def __init__(
        self,
        builder: Callable[[NodeInfo], Snapshot] | SnapshotCache,
        listen: str = "127.0.0.1:18000",
        tls: ServerTls | None = None,
        *,
        group_by: Callable[[NodeInfo], Hashable] | None = None,
    ):
        self.boot_id = secrets.token_hex(3)
        if isinstance(builder, SnapshotCache):
            self.cache = builder
            if not self.cache.version_prefix:
                self.cache.version_prefix = f"{self.boot_id}-"
        else:
            kwargs = {"group_by": group_by} if group_by else {}
            self.cache = SnapshotCache(builder, version_prefix=f"{self.boot_id}-", **kwargs)
        self.listen = listen
        self.tls = tls
        self.control_plane_id = f"meshctl/{self.boot_id}"
        self.bound_port: int | None = None
        self._server: grpc.aio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._streams: dict[int, _Stream] = {}
        self._stream_ids = itertools.count(1)
        self._nonces = itertools.count(1)
        self._listeners: list[Callable[[XdsEvent], None]] = []
        self._change_waiters: set[asyncio.Future[None]] = set()
        self._refresh_waiters: list[concurrent.futures.Future[Any]] = []
        self._refresh_task: asyncio.Task[None] | None = None
        self._builds = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="xds-build")
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def address(self) -> str:
        host = self.listen.rsplit(":", 1)[0]
        return f"{host}:{self.bound_port}"

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        options = [
            ("grpc.so_reuseport", 0),  # a port we bound must not be shared with another server
            ("grpc.max_send_message_length", -1),
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
        ]
        server = grpc.aio.server(options=options)
        ads = grpc.method_handlers_generic_handler(
            ADS_SERVICE,
            {
                "StreamAggregatedResources": grpc.stream_stream_rpc_method_handler(
                    self._sotw_stream,
                    request_deserializer=codec.decode_sotw_request,
                    response_serializer=codec.identity_bytes,
                ),
                "DeltaAggregatedResources": grpc.stream_stream_rpc_method_handler(
                    self._delta_stream,
                    request_deserializer=codec.decode_delta_request,
                    response_serializer=codec.identity_bytes,
                ),
            },
        )
        csds = grpc.method_handlers_generic_handler(
            status_api.CSDS_SERVICE,
            {
                "FetchClientStatus": grpc.unary_unary_rpc_method_handler(
                    self._csds_fetch, request_deserializer=_parse_csds_request, response_serializer=codec.identity_bytes
                ),
                "StreamClientStatus": grpc.stream_stream_rpc_method_handler(
                    self._csds_stream, request_deserializer=_parse_csds_request, response_serializer=codec.identity_bytes
                ),
            },
        )
        server.add_generic_rpc_handlers((ads, csds))
        if self.tls is None:
            self.bound_port = server.add_insecure_port(self.listen)
        else:
            self.bound_port = server.add_secure_port(self.listen, self.tls.credentials())
        if not self.bound_port:
            raise OSError(f"cannot listen on {self.listen}")
        await server.start()
        self._server = server
        self._stopping = False

    async def stop(self, grace: float = 1.0) -> None:
        """End every stream cleanly (OK status), then shut the gRPC server down."""
        self._stopping = True
        streams = list(self._streams.values())
        for stream in streams:
            stream.queue.put_nowait(_CLOSE)
        if streams:
            await asyncio.wait([asyncio.ensure_future(s.done.wait()) for s in streams], timeout=grace)
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None
        if self._refresh_task is not None:
            self._refresh_task.cancel()
            with contextlib.suppress(BaseException):
                await self._refresh_task
            self._refresh_task = None
        for waiter in self._refresh_waiters:
            if not waiter.done():
                waiter.cancel()
        self._refresh_waiters.clear()
        self._builds.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ events

    def add_listener(self, callback: Callable[[XdsEvent], None]) -> Callable[[], None]:
        """Subscribe to events (called on the server's event loop); returns an unsubscribe function."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _emit(self, event: XdsEvent) -> None:
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:  # a broken listener must not break a stream
                log.exception("xDS event listener failed")
        waiters, self._change_waiters = self._change_waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # ------------------------------------------------------------------ refresh

    def refresh(self) -> concurrent.futures.Future[Any]:
        """Rebuild every node group's snapshot and push changes. Thread-safe; returns a future of the result.

        Calls made while a rebuild runs are coalesced into one more rebuild.
        """
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        loop = self._loop
        if loop is None or loop.is_closed() or self._stopping:
            future.set_result(self.cache.refresh())
            return future
        loop.call_soon_threadsafe(self._queue_refresh, future)
        return future

    def _queue_refresh(self, future: concurrent.futures.Future[Any]) -> None:
        self._refresh_waiters.append(future)
        if self._refresh_task is None or self._refresh_task.done():
            self._refresh_task = asyncio.get_running_loop().create_task(self._refresh_loop())

    async def _refresh_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while self._refresh_waiters:
            waiters, self._refresh_waiters = self._refresh_waiters, []
            try:
                result = await loop.run_in_executor(self._builds, self.cache.refresh)
            except Exception as error:
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(error)
                continue
            for stream in self._streams.values():
                if stream.node is not None and stream.group in result.changed:
                    stream.queue.put_nowait(_SNAPSHOT)
            message = "; ".join(f"{group}: {error}" for group, error in result.errors.items())
            self._emit(XdsEvent("error" if result.errors else "refresh", message=message))
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(result)

    async def _prepared(self, stream: _Stream) -> PreparedSnapshot | None:
        prepared = self.cache.get(stream.group)
        if prepared is None and stream.node is not None:
            # First node of its group: build off the event loop so other streams keep flowing.
            prepared = await asyncio.get_running_loop().run_in_executor(
                self._builds, self.cache.prepared_for, stream.node
            )
            if prepared is None:
                error = self.cache.errors.get(stream.group, "no snapshot")
                self._emit(XdsEvent("error", stream.node.id, stream.id, message=error))
        return prepared

    # ------------------------------------------------------------------ streams

    async def _sotw_stream(self, requests: AsyncIterator[SotwRequest], context: Any) -> AsyncIterator[bytes]:
        async for response in self._serve(requests, context, "sotw"):
            yield response

    async def _delta_stream(self, requests: AsyncIterator[DeltaRequest], context: Any) -> AsyncIterator[bytes]:
        async for response in self._serve(requests, context, "delta"):
            yield response

    async def _serve(self, requests: AsyncIterator[Any], context: Any, kind: str) -> AsyncIterator[bytes]:
        if self._stopping:
            return
        stream = _Stream(next(self._stream_ids), kind, context.peer())
        self._streams[stream.id] = stream
        reader = asyncio.get_running_loop().create_task(self._pump(requests, stream.queue))
        try:
            while True:
                item = await stream.queue.get()
                if item is _CLOSE:
                    break
                if item is _SNAPSHOT:
                    responses = self._on_snapshot(stream)
                else:
                    if stream.node is None:
                        if item.node is None or not item.node.id:
                            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "first request must carry a node id")
                        self._identify(stream, item.node)
                    prepared = await self._prepared(stream)
                    if kind == "sotw":
                        responses = self._on_sotw_request(stream, item, prepared)
                    else:
                        responses = self._on_delta_request(stream, item, prepared)
                for response in responses:
                    yield response
        finally:
            reader.cancel()
            self._streams.pop(stream.id, None)
            if stream.node is not None:
                self.cache.detach(stream.node)
                self._emit(XdsEvent("disconnect", stream.node.id, stream.id))
            stream.done.set()
            with contextlib.suppress(BaseException):
                await reader

    async def _pump(self, requests: AsyncIterator[Any], queue: asyncio.Queue[Any]) -> None:
        try:
            async for request in requests:
                queue.put_nowait(request)
        except asyncio.CancelledError:
            raise
        except Exception:  # the client went away; the stream ends below
            pass
        queue.put_nowait(_CLOSE)

    def _identify(self, stream: _Stream, node_fields: codec.NodeFields) -> None:
        stream.node = NodeInfo.from_fields(node_fields)
        stream.group = self.cache.attach(stream.node)
        self._emit(XdsEvent("connect", stream.node.id, stream.id, message=f"{stream.kind} from {stream.peer}"))

    def _nonce(self) -> str:
        return f"{self.boot_id}.{next(self._nonces)}"

    def _record_answer(self, stream: _Stream, type_url: str, state: _TypeState, version: str | None,
                       sent_at: float | None, nack_reason: str | None) -> None:
        assert stream.node is not None
        latency = (time.monotonic() - sent_at) * 1000 if sent_at is not None else None
        state.latency_ms = latency
        if nack_reason is not None:
            state.nacked, state.nacked_version, state.nack_reason = True, version, nack_reason
            self._emit(XdsEvent("nack", stream.node.id, stream.id, type_url, version or "", message=nack_reason,
                                latency_ms=latency))
        else:
            state.nacked = False
            state.acked_version = version
            self._emit(XdsEvent("ack", stream.node.id, stream.id, type_url, version or "", latency_ms=latency))

    def _on_snapshot(self, stream: _Stream) -> list[bytes]:
        prepared = self.cache.get(stream.group)
        if prepared is None:
            return []
        responses = []
        # Envoy re-creates an updated cluster and keeps it warming until it receives its endpoints again,
        # so a CDS push is always followed by the endpoints of the clusters it touched.
        rewarm: set[str] = set()
        for type_url in stream.ordered_types():
            state = stream.types[type_url]
            if not state.subscribed:
                continue
            resources = prepared.types.get(type_url)
            if resources is None:
                continue
            if stream.kind == "sotw":
                # The version last sent (even if NACKed) is not sent again; only a new one is.
                changed = resources.version != state.sent_version
                if changed or (type_url == codec.ENDPOINT_TYPE and rewarm and not self._rejected(state, resources.version)):
                    responses.append(self._sotw_response(stream, type_url, state, prepared))
                    if type_url == codec.CLUSTER_TYPE:
                        rewarm = {prepared.eds_service_of.get(name, name) for name in resources.resources}
            else:
                resend = rewarm if type_url == codec.ENDPOINT_TYPE else set()
                response = self._delta_response(stream, type_url, state, prepared, force=False, resend=resend)
                if response is not None:
                    responses.append(response)
                    if type_url == codec.CLUSTER_TYPE:
                        rewarm = {prepared.eds_service_of.get(name, name) for name in state.last_updates}
        return responses

    @staticmethod
    def _rejected(state: _TypeState, version: str) -> bool:
        return state.nacked and state.nacked_version == version

    # state of the world

    def _on_sotw_request(self, stream: _Stream, request: SotwRequest, prepared: PreparedSnapshot | None) -> list[bytes]:
        type_url = request.type_url
        state = stream.types.setdefault(type_url, _TypeState())
        names = request.resource_names
        if "*" in names or (type_url in WILDCARD_TYPES and not names):
            subscription = None
        else:
            subscription = frozenset(names)
        if request.response_nonce:
            if request.response_nonce != state.sent_nonce:
                return []  # answers an older response; a newer one is on its way
            state.in_flight = False
            self._record_answer(stream, type_url, state, request.version_info if not request.is_nack else state.sent_version,
                                state.sent_at, request.error_message)
            state.names = subscription
            if subscription == state.sent_names or prepared is None or type_url not in prepared.types:
                return []
            if state.nacked and prepared.types[type_url].version == state.nacked_version:
                return []  # never re-send a rejected version, even for a changed subscription
            return [self._sotw_response(stream, type_url, state, prepared)]
        # A first request for this type (Envoy may carry the version it accepted before reconnecting).
        state.subscribed = True
        state.names = subscription
        if request.version_info:
            state.acked_version = request.version_info
        if prepared is None or type_url not in prepared.types:
            return []
        if request.version_info and request.version_info == prepared.types[type_url].version:
            # It already holds this content (versions are content hashes, so also when it comes from another
            # replica or from before a restart): nothing to send until the content changes.
            state.sent_version, state.sent_names = request.version_info, subscription
            return []
        return [self._sotw_response(stream, type_url, state, prepared)]

    def _sotw_response(self, stream: _Stream, type_url: str, state: _TypeState, prepared: PreparedSnapshot) -> bytes:
        assert stream.node is not None
        resources = prepared.types[type_url]
        nonce = self._nonce()
        body = codec.encode_sotw_response(
            resources.version, type_url, nonce, resources.resources_blob(state.names), self.control_plane_id
        )
        state.sent_version, state.sent_nonce, state.sent_names = resources.version, nonce, state.names
        state.sent_at, state.in_flight = time.monotonic(), True
        self._emit(XdsEvent("push", stream.node.id, stream.id, type_url, resources.version, nonce,
                            message=prepared.label))
        return body

    # delta

    def _on_delta_request(self, stream: _Stream, request: DeltaRequest, prepared: PreparedSnapshot | None) -> list[bytes]:
        type_url = request.type_url
        state = stream.types.setdefault(type_url, _TypeState())
        first = not state.subscribed
        if first:
            state.subscribed = True
            state.wildcard = type_url in WILDCARD_TYPES and (not request.subscribe or "*" in request.subscribe)
            state.names = frozenset()
            state.sent_resources = dict(request.initial_resource_versions)  # what the client already holds
        names = set(state.names or ())
        for name in request.subscribe:
            if name == "*":
                state.wildcard = True
            elif name not in names:
                names.add(name)
                if not first:
                    state.sent_resources.pop(name, None)  # a new subscription is always answered
        for name in request.unsubscribe:
            if name == "*":
                state.wildcard = False
            else:
                names.discard(name)
                state.sent_resources.pop(name, None)
        state.names = frozenset(names)
        if request.response_nonce:
            pending = state.pending.pop(request.response_nonce, None)
            if pending is not None:
                version, sent_at = pending
                state.in_flight = bool(state.pending)
                self._record_answer(stream, type_url, state, version, sent_at, request.error_message)
        if prepared is None:
            return []
        # a reconnecting client names what it holds; if that is all current there is nothing to say
        force = first and not request.initial_resource_versions
        response = self._delta_response(stream, type_url, state, prepared, force=force)
        return [response] if response is not None else []

    def _delta_response(self, stream: _Stream, type_url: str, state: _TypeState, prepared: PreparedSnapshot,
                        force: bool, resend: frozenset[str] | set[str] = frozenset()) -> bytes | None:
        assert stream.node is not None
        resources = prepared.types.get(type_url)
        if resources is None:
            return None
        if state.wildcard:
            wanted = resources.resources
        else:
            wanted = {n: resources.resources[n] for n in state.names or () if n in resources.resources}
        updates = [p for name, p in wanted.items() if state.sent_resources.get(name) != p.version or name in resend]
        removed = [name for name in state.sent_resources if name not in wanted]
        if not updates and not removed and not force:
            # Nothing new for this client; it is as current as this snapshot can make it.
            state.sent_version = resources.version
            if not state.in_flight and not state.nacked:
                state.acked_version = resources.version
            return None
        nonce = self._nonce()
        body = codec.encode_delta_response(resources.version, type_url, nonce, updates, removed)
        state.last_updates = [packed.name for packed in updates]
        for packed in updates:
            state.sent_resources[packed.name] = packed.version
        for name in removed:
            del state.sent_resources[name]
        now = time.monotonic()
        state.pending[nonce] = (resources.version, now)
        state.sent_version, state.sent_nonce, state.sent_at, state.in_flight = resources.version, nonce, now, True
        state.sent_names = state.names
        self._emit(XdsEvent("push", stream.node.id, stream.id, type_url, resources.version, nonce,
                            message=prepared.label))
        return body

    # ------------------------------------------------------------------ status

    def _type_status(self, stream: _Stream, type_url: str, state: _TypeState,
                     prepared: PreparedSnapshot | None) -> TypeStatus:
        current = prepared.version_of(type_url) if prepared is not None else None
        if state.sent_version is None:
            sync = "NOT SENT"
        elif state.nacked:
            sync = "NACKED"
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

    def _client_resources(self, stream: _Stream, type_url: str, state: _TypeState,
                          prepared: PreparedSnapshot | None) -> list[codec.PackedResource]:
        if prepared is None or type_url not in prepared.types or state.sent_names is False:
            return []
        resources = prepared.types[type_url]
        if stream.kind == "delta":
            return [resources.resources[n] for n in sorted(state.sent_resources) if n in resources.resources]
        return resources.select(state.sent_names)  # type: ignore[arg-type]

    def _client_status(self, stream: _Stream) -> ClientStatus:
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

    def _required_types(self, stream: _Stream) -> set[str]:
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

    async def wait_synced(self, timeout: float = 10.0, *, node_ids: Iterable[str] | None = None,
                          count: int | None = None) -> list[ClientStatus]:
        """Wait until the clients (all, given ids, or at least `count`) ACKed the current version of every type."""
        ids = list(node_ids) if node_ids is not None else None
        await self.wait_for(lambda: self._synced(ids, count), timeout)
        return self.status()

    # ------------------------------------------------------------------ CSDS

    def _csds_response(self, request: Any) -> bytes:
        include = not request.exclude_resource_contents
        configs = []
        for stream in list(self._streams.values()):
            if stream.node is None or not _node_matches(stream.node, request.node_matchers):
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


def _parse_csds_request(data: bytes) -> Any:
    from envoy_data_plane.envoy.service.status.v3 import ClientStatusRequest

    return ClientStatusRequest.parse(data)


def _node_matches(node: NodeInfo, matchers: list[Any]) -> bool:
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


class BackgroundXdsServer:
    """Runs an XdsServer on its own event-loop thread, for synchronous callers (CLI, tests, benchmarks)."""

    def __init__(self, builder: Callable[[NodeInfo], Snapshot] | SnapshotCache, listen: str = "127.0.0.1:0",
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
