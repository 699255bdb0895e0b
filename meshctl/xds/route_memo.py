"""Envoy routes kept across snapshots: a flattened route the incremental routing view reused is not translated again.

A route's Envoy messages depend on its model route, effective matchers, options, id and name (all the same
objects when the routing view reused it) and on how its destinations resolve in this snapshot's mesh index. The
memo records each resolution a translation made; an entry is reused only when every one resolves the same way now,
and it then reports the clusters and notes the translation reported. Reused routes keep their encoded bytes
pinned in the codec, so packing a route configuration of 10,000 routes only encodes the changed ones.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from envoy_data_plane.envoy.config.route.v3 import Route as EnvoyRoute

from ..mesh.index import Backend
from ..model.common import KubeServiceDestination, WeightedDestination
from ..routing.types import FlattenedRoute
from . import codec
from .translate_routes import RouteContext, envoy_routes


@dataclass(slots=True)
class _Entry:
    route: Any  # the model Route, matchers tuple and options the messages were built from (held: identity keys)
    matchers: Any
    options: Any
    replaced: tuple[int, str] | None
    messages: list[EnvoyRoute]
    resolved: list[tuple[str, Any, str, Backend]]  # ("dest" | "kube", destination, owner namespace, backend)
    clusters: list[Backend]  # in the order the translation added them
    notes: list[str]


class RouteMemo:
    """Per flattened route (by id and gateway scope), its Envoy routes; shared by a service's translators."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._used: set[tuple[str, str]] = set()
        # backend comparisons already made (thousands of routes share a few backends): (id, id) -> (a, b, equal),
        # the objects held so their ids stay theirs
        self._same: dict[tuple[int, int], tuple[Backend, Backend, bool]] = {}
        self.translated = 0  # routes translated (misses), for tests and benchmarks
        self.reused = 0

    def envoy_routes(self, scope: str, route: FlattenedRoute, ctx: RouteContext) -> list[EnvoyRoute]:
        key = (scope, route.id)
        entry = self._entries.get(key)  # a dict read is atomic; writes below hold the lock
        if entry is not None and self._holds(entry, route, ctx):
            for backend in entry.clusters:
                ctx.add_cluster(backend)
            if entry.notes:
                ctx.notes.extend(entry.notes)
            self._used.add(key)
            self.reused += 1
            return entry.messages
        entry = self._translate(route, ctx)
        for message in entry.messages:
            codec.pin(message)
        with self._lock:
            old = self._entries.get(key)
            if old is not None and old is not entry:
                for message in old.messages:
                    codec.unpin(message)
            self._entries[key] = entry
            self._used.add(key)
            self.translated += 1
        return entry.messages

    def sweep(self) -> None:
        """Forget the routes not asked for since the previous sweep (a full rebuild of every route set)."""
        with self._lock:
            for key in [k for k in self._entries if k not in self._used]:
                for message in self._entries.pop(key).messages:
                    codec.unpin(message)
            self._used = set()
            self._same = {}

    def _equal(self, a: Backend, b: Backend) -> bool:
        if a is b:
            return True
        hit = self._same.get((id(a), id(b)))
        if hit is None or hit[0] is not a or hit[1] is not b:
            hit = self._same[(id(a), id(b))] = (a, b, a == b)
        return hit[2]

    def _holds(self, entry: _Entry, route: FlattenedRoute, ctx: RouteContext) -> bool:
        if (entry.route is not route.route or entry.matchers is not route.matchers
                or entry.options is not route.options or entry.replaced != route.replaced_by_direct_response):
            return False
        for kind, destination, namespace, backend in entry.resolved:
            now = ctx.resolve(destination, namespace) if kind == "dest" else ctx.resolve_kube(destination, namespace)
            if not self._equal(now, backend):
                return False
        return True

    @staticmethod
    def _translate(route: FlattenedRoute, ctx: RouteContext) -> _Entry:
        resolved: list[tuple[str, Any, str, Backend]] = []
        clusters: list[Backend] = []

        def resolve(d: WeightedDestination, namespace: str) -> Backend:
            backend = ctx.resolve(d, namespace)
            resolved.append(("dest", d, namespace, backend))
            return backend

        def resolve_kube(k: KubeServiceDestination, namespace: str) -> Backend:
            backend = ctx.resolve_kube(k, namespace)
            resolved.append(("kube", k, namespace, backend))
            return backend

        def add_cluster(backend: Backend) -> str:
            clusters.append(backend)
            return ctx.add_cluster(backend)

        recording = RouteContext(resolve, add_cluster, resolve_kube, [])
        messages = envoy_routes(route, recording)
        ctx.notes.extend(recording.notes)
        return _Entry(route.route, route.matchers, route.options, route.replaced_by_direct_response, messages,
                      resolved, clusters, recording.notes)
