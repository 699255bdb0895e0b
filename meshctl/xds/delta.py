"""Incremental (delta) ADS: responses carry only the resources that changed and the names removed
(go-control-plane's pkg/server/delta)."""

from __future__ import annotations

import time

from . import codec
from .cache import PreparedSnapshot, SnapshotCache
from .codec import WILDCARD_TYPES, DeltaRequest
from .events import XdsEvent
from .stream import Stream, TypeState


class DeltaStreams:
    """XdsServer's delta half: track subscriptions and what the client holds, send the difference."""

    # provided by XdsServer
    cache: SnapshotCache
    control_plane_id: str
    _streams: dict[int, Stream]

    def _nonce(self) -> str: ...

    def _emit(self, event: XdsEvent) -> None: ...

    def _record_answer(self, stream: Stream, type_url: str, state: TypeState, version: str | None,
                       sent_at: float | None, nack_reason: str | None) -> None: ...

    def _on_delta_request(self, stream: Stream, request: DeltaRequest, prepared: PreparedSnapshot | None) -> list[bytes]:
        type_url = request.type_url
        state = stream.types.setdefault(type_url, TypeState())
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

    def _delta_response(self, stream: Stream, type_url: str, state: TypeState, prepared: PreparedSnapshot,
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
        state.sent, state.sent_names = True, state.names
        self._emit(XdsEvent("push", stream.node.id, stream.id, type_url, resources.version, nonce,
                            message=prepared.label))
        return body
