"""State-of-the-world ADS: each response carries every resource of a type the client subscribed to
(go-control-plane's pkg/server/sotw)."""

from __future__ import annotations

import time

from . import codec
from .cache import PreparedSnapshot, SnapshotCache
from .codec import WILDCARD_TYPES, SotwRequest
from .events import XdsEvent
from .stream import Stream, TypeState


class SotwStreams:
    """XdsServer's state-of-the-world half: answer a request, build a response."""

    # provided by XdsServer
    cache: SnapshotCache
    control_plane_id: str
    _streams: dict[int, Stream]

    def _nonce(self) -> str: ...

    def _emit(self, event: XdsEvent) -> None: ...

    def _record_answer(self, stream: Stream, type_url: str, state: TypeState, version: str | None,
                       sent_at: float | None, nack_reason: str | None) -> None: ...

    def _on_sotw_request(self, stream: Stream, request: SotwRequest, prepared: PreparedSnapshot | None) -> list[bytes]:
        type_url = request.type_url
        state = stream.types.setdefault(type_url, TypeState())
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
            if (state.sent and subscription == state.sent_names) or prepared is None or type_url not in prepared.types:
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
            state.sent, state.sent_version, state.sent_names = True, request.version_info, subscription
            return []
        return [self._sotw_response(stream, type_url, state, prepared)]

    def _sotw_response(self, stream: Stream, type_url: str, state: TypeState, prepared: PreparedSnapshot) -> bytes:
        assert stream.node is not None
        resources = prepared.types[type_url]
        nonce = self._nonce()
        blob = None
        if type_url == codec.ROUTE_TYPE:
            # Route configurations the client holds stay until a listener or scope stops naming them (the xDS
            # protocol: only LDS and CDS responses are the whole state), so only the ones whose content changed
            # are sent: with scoped routes (route_scopes.py) an edit re-sends one scope, and Envoy parses only it.
            named = resources.select(state.names)
            fresh = [r for r in named if state.sent_resources.get(r.name) != r.version]
            if fresh and len(fresh) < len(named):
                blob = codec.encode_resources_blob(fresh)
            state.sent_resources = {r.name: r.version for r in named}
        body = codec.encode_sotw_response(
            resources.version, type_url, nonce, blob if blob is not None else resources.resources_blob(state.names),
            self.control_plane_id
        )
        state.sent_version, state.sent_nonce, state.sent_names = resources.version, nonce, state.names
        state.sent = True
        state.sent_at, state.in_flight = time.monotonic(), True
        self._emit(XdsEvent("push", stream.node.id, stream.id, type_url, resources.version, nonce,
                            message=prepared.label))
        return body
