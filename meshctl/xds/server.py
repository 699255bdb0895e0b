"""The ADS server on grpcio asyncio: lifecycle, rebuilds and the per-stream loop, serving per-node snapshots.

Split as go-control-plane splits pkg/server/v3: stream state (stream.py), state-of-the-world (sotw.py) and delta
(delta.py) answers, events and listeners (events.py), client status and CSDS (client_status.py), and a thread
runner for synchronous callers (runner.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import itertools
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Hashable
from typing import Any

import grpc

from meshctl.xds import codec
from meshctl.xds import status as status_api
from meshctl.xds.cache import NodeInfo, PreparedSnapshot, SnapshotCache, TypeResources, XdsSnapshot
from meshctl.xds.client_status import ClientStatusReports, parse_csds_request
from meshctl.xds.codec import DeltaRequest, SotwRequest
from meshctl.xds.delta import DeltaStreams
from meshctl.xds.events import EventBus, XdsEvent
from meshctl.xds.sotw import SotwStreams
from meshctl.xds.stream import CLOSE, SNAPSHOT, Stream, TypeState

__all__ = ["ADS_SERVICE", "DELTA_METHOD", "SOTW_METHOD", "ServerTls", "XdsEvent", "XdsServer"]

log = logging.getLogger(__name__)

ADS_SERVICE = "envoy.service.discovery.v3.AggregatedDiscoveryService"
SOTW_METHOD = f"/{ADS_SERVICE}/StreamAggregatedResources"
DELTA_METHOD = f"/{ADS_SERVICE}/DeltaAggregatedResources"

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


class XdsServer(SotwStreams, DeltaStreams, ClientStatusReports):
    """ADS server for Envoy: one snapshot per node group, pushed in CDS→EDS→LDS→RDS order.

    `builder` is a Callable[[NodeInfo], XdsSnapshot] or a ready SnapshotCache. Versions are content hashes
    prefixed by a per-process boot id; every response has a fresh nonce; a NACKed version is recorded and
    not sent again (only a newer version is).
    """

    def __init__(
        self,
        builder: Callable[[NodeInfo], XdsSnapshot] | SnapshotCache,
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
        self._streams: dict[int, Stream] = {}
        self._stream_ids = itertools.count(1)
        self._nonces = itertools.count(1)
        self.events = EventBus()
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
                    self._csds_fetch, request_deserializer=parse_csds_request, response_serializer=codec.identity_bytes
                ),
                "StreamClientStatus": grpc.stream_stream_rpc_method_handler(
                    self._csds_stream, request_deserializer=parse_csds_request, response_serializer=codec.identity_bytes
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
            stream.queue.put_nowait(CLOSE)
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
        return self.events.add_listener(callback)

    def _emit(self, event: XdsEvent) -> None:
        self.events.emit(event)

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
                    stream.queue.put_nowait(SNAPSHOT)
            message = "; ".join(f"{group}: {error}" for group, error in result.errors.items())
            self._emit(XdsEvent("error" if result.errors else "refresh", message=message))
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(result)

    async def _prepared(self, stream: Stream) -> PreparedSnapshot | None:
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
        stream = Stream(next(self._stream_ids), kind, context.peer())
        self._streams[stream.id] = stream
        reader = asyncio.get_running_loop().create_task(self._pump(requests, stream.queue))
        try:
            while True:
                item = await stream.queue.get()
                if item is CLOSE:
                    break
                if item is SNAPSHOT:
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
        queue.put_nowait(CLOSE)

    def _identify(self, stream: Stream, node_fields: codec.NodeFields) -> None:
        stream.node = NodeInfo.from_fields(node_fields)
        stream.group = self.cache.attach(stream.node)
        self._emit(XdsEvent("connect", stream.node.id, stream.id, message=f"{stream.kind} from {stream.peer}"))

    def _nonce(self) -> str:
        return f"{self.boot_id}.{next(self._nonces)}"

    def _record_answer(self, stream: Stream, type_url: str, state: TypeState, version: str | None,
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

    def _on_snapshot(self, stream: Stream) -> list[bytes]:
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
            if _retired_scopes(type_url, resources, state):
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
    def _rejected(state: TypeState, version: str) -> bool:
        return state.nacked and state.nacked_version == version


def _retired_scopes(type_url: str, resources: TypeResources, state: TypeState) -> bool:
    """No listener uses scoped routes any more (route_scopes.py): the client keeps the scopes it has, for the
    connections its replaced listener drains (as it keeps a route configuration no listener names), instead of being
    sent none, which would answer those connections 404. See ClientStatusReports._type_status."""
    return type_url == codec.SCOPED_ROUTE_TYPE and not resources.resources and state.sent
