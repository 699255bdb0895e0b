"""Scoped routes: a large gateway route configuration served as one route configuration per first path segment.

Envoy re-reads a whole RouteConfiguration on every RDS update (~2 µs a route: ~20 ms at 10,000 routes, ~190 ms at
100,000), whatever the edit. With scoped RDS the HTTP connection manager picks a route configuration per request
by a key taken from the request (here: the first segment of `:path`), and an edit re-sends only its segment's
configuration (sotw.py sends a stream only the route configurations whose content changed).

The split keeps Envoy's answers only when every route pins its first segment, so it is made only then:
- each route's path condition is a case-sensitive prefix or exact path "/K/..." (K not empty): such a route
  matches only requests whose :path has first segment K. Envoy's key is the :path split at "/", element 1, with
  the query string left on the last element, so "/K/x?q" keys "K"; "/K?q" keys "K?q", which no such route matches;
- no virtual host requires TLS (a redirect that answers before any route would not be given for a key no scope
  has).
Every scope keeps every virtual host, with only its routes (an empty one answers 404, as the host did when no route
matched), so the virtual host Envoy picks is the one it picked before; a request whose key is no scope's gets 404,
as no route matched it before. Route order within a scope is the host's order.

Only one route configuration of a node is scoped: Envoy subscribes to ScopedRouteConfigurations as a wildcard, so
every scoped connection manager of a node would get every scope.
"""

from __future__ import annotations

import dataclasses
import threading
from itertools import compress, count, groupby, islice
from operator import is_not, itemgetter
from typing import Any, Sequence

from envoy_data_plane.envoy.config.route.v3 import (
    Route,
    RouteConfiguration,
    ScopedRouteConfiguration,
    ScopedRouteConfigurationKey,
    ScopedRouteConfigurationKeyFragment,
    VirtualHostTlsRequirementType,
)

from ..routing.matchers import pinned_segment
from .translate_proto import msg, with_fields

_KEY_OF = itemgetter(1)  # of (position, key)


def scope_key(route: Route) -> str | None:
    """The first path segment every request `route` matches has, or None when its path condition does not pin one."""
    match = route.match
    if match is None:
        return None
    return pinned_segment(match.prefix if match.prefix is not None else match.path, match.case_sensitive)


def scoped_name(config_name: str, key: str) -> str:
    """The name of the route configuration, and of its ScopedRouteConfiguration, serving key `key`."""
    return f"{config_name}/{key}"


@dataclasses.dataclass
class Scopes:
    """A route configuration split by first path segment: the scopes' route configurations and the
    ScopedRouteConfigurations that key them, in the order the segments first appear."""

    name: str  # the route configuration split (the connection manager's scoped_routes name)
    route_configs: list[RouteConfiguration]
    scopes: list[ScopedRouteConfiguration]

    @property
    def routes(self) -> int:
        return sum(len(vh.routes) for rc in self.route_configs for vh in rc.virtual_hosts)


@dataclasses.dataclass
class _Scope:
    routes: list[list[Route]]  # per virtual host: this scope's routes
    config: RouteConfiguration
    scope: ScopedRouteConfiguration


Run = tuple[str, int, int]  # a key and the stretch [start, end) of a host's routes that have it


@dataclasses.dataclass
class _Split:
    headers: list[Any]  # the configuration without its hosts, then each virtual host without its routes
    scopes: dict[str, _Scope]  # by key
    routes: list[Sequence[Route]]  # per virtual host: its routes
    runs: list[list[Run]]  # per virtual host: its routes' keys, run by run


class ScopeMemo:
    """Splits route configurations across snapshots. A host's routes that are the very Envoy route objects of last
    time (RouteMemo keeps those for unchanged routes) at its start and end keep their keys, and the scopes none of
    whose routes changed keep their messages, so that an edit costs a scan of the host by identity plus the changed
    stretch, and the pack cache encodes and hashes only the scopes it touched. One split at a time (translators of
    two snapshots may split at once)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, _Split] = {}  # by route configuration name

    def split(self, config: RouteConfiguration, minimum: int) -> Scopes | None:
        """`config` split by first path segment, or None when it has fewer than `minimum` routes, fewer than two
        segments, or a route or virtual host the split would answer differently (see the module's text)."""
        with self._lock:
            split = self._split(config, minimum)
            if split is None:
                self._last.pop(config.name, None)
                return None
            self._last[config.name] = split
            return Scopes(config.name, [s.config for s in split.scopes.values()],
                          [s.scope for s in split.scopes.values()])

    def _split(self, config: RouteConfiguration, minimum: int) -> _Split | None:
        hosts = list(config.virtual_hosts)
        last = self._last.get(config.name)
        if last is not None:
            # split last time: stays split down to half the minimum, so that a configuration near it does not
            # switch back and forth (each switch replaces the listener's connection manager; see translate.py)
            minimum //= 2
        if sum(len(vh.routes) for vh in hosts) < minimum or any(
                vh.require_tls not in (None, VirtualHostTlsRequirementType.NONE) for vh in hosts):
            return None
        headers = [with_fields(config, virtual_hosts=()), *(with_fields(vh, routes=()) for vh in hosts)]
        if last is not None and last.headers != headers:  # compared once, not per scope
            last = None
        runs: list[list[Run]] = []
        changed: set[str] = set()  # keys with a route added or removed
        for h, vh in enumerate(hosts):
            host_runs = _runs(vh.routes, last.routes[h], last.runs[h], changed) if last is not None else \
                _runs(vh.routes, (), [], changed)
            if host_runs is None:
                return None
            runs.append(host_runs)
        keys = list(dict.fromkeys(key for host_runs in runs for key, _, _ in host_runs))
        if len(keys) < 2:
            return None
        scopes: dict[str, _Scope] = {}
        kept = last.scopes if last is not None else {}
        for key in keys:
            was = kept.get(key)
            if was is not None and key not in changed:
                scopes[key] = was
                continue
            lists: list[list[Route]] = [[] for _ in hosts]
            for h, vh in enumerate(hosts):
                for run_key, begin, end in runs[h]:
                    if run_key == key:
                        lists[h].extend(vh.routes[begin:end])
            name = scoped_name(config.name, key)
            rc = with_fields(config, name=name, virtual_hosts=[
                with_fields(vh, routes=routes) for vh, routes in zip(hosts, lists, strict=True)])
            scope = was.scope if was is not None else msg(
                ScopedRouteConfiguration, name=name, route_configuration_name=name,
                key=msg(ScopedRouteConfigurationKey, fragments=[msg(ScopedRouteConfigurationKeyFragment,
                                                                    string_key=key)]))
            scopes[key] = _Scope(lists, rc, scope)
        return _Split(headers, scopes, [vh.routes for vh in hosts], runs)


def _runs(routes: Sequence[Route], before: Sequence[Route], runs_before: list[Run],
          changed: set[str]) -> list[Run] | None:
    """The runs of keys of `routes`, those of `before` (with `runs_before`) kept where both have the very same route
    objects at the start and at the end; the keys of the routes in between, added or removed, go to `changed`.
    None: a route pins no segment."""
    limit = min(len(routes), len(before))
    start = next(compress(count(), map(is_not, routes, before)), limit)  # by identity, in C, without copies
    end_same = next(compress(count(), islice(map(is_not, reversed(routes), reversed(before)), limit - start)),
                    limit - start)
    shift = len(routes) - len(before)
    middle: list[Run] = []
    for key, run in groupby(enumerate(map(scope_key, routes[start:len(routes) - end_same]), start), key=_KEY_OF):
        if key is None:
            return None
        items = list(run)
        middle.append((key, items[0][0], items[-1][0] + 1))
        changed.add(key)
    out: list[Run] = []
    tail_from = len(before) - end_same
    for key, begin, end in runs_before:
        if begin < start:
            out.append((key, begin, min(end, start)))
        if max(begin, start) < min(end, tail_from):
            changed.add(key)  # a removed (or replaced) route had it
    out += middle
    for key, begin, end in runs_before:
        if end > tail_from:
            out.append((key, max(begin, tail_from) + shift, end + shift))
    return out
