"""Listeners: an HTTP connection manager with RDS by name (or scoped RDS: route_scopes.py), host ports stripped,
and the CORS, fault and router filters (CORS and fault are always present, so adding the first such policy never
replaces the listener)."""

from __future__ import annotations

from typing import Any

from envoy_data_plane.envoy.config.core.v3 import Address, SocketAddress
from envoy_data_plane.envoy.config.listener.v3 import Filter, FilterChain, Listener
from envoy_data_plane.envoy.extensions.filters.http.cors.v3 import Cors
from envoy_data_plane.envoy.extensions.filters.http.fault.v3 import HttpFault
from envoy_data_plane.envoy.extensions.filters.http.router.v3 import Router
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3 import (
    HttpConnectionManager,
    HttpFilter,
    Rds,
    ScopedRds,
    ScopedRoutes,
    ScopedRoutesScopeKeyBuilder,
    ScopedRoutesScopeKeyBuilderFragmentBuilder,
    ScopedRoutesScopeKeyBuilderFragmentBuilderHeaderValueExtractor,
)

from .translate_clusters import ads_config_source
from .translate_proto import msg
from .translate_routes import CORS_FILTER, FAULT_FILTER, _any

HCM_FILTER = "envoy.filters.network.http_connection_manager"
ROUTER_FILTER = "envoy.filters.http.router"


def http_connection_manager(route_config_name: str, stat_prefix: str, scoped: bool = False) -> HttpConnectionManager:
    """`scoped`: the routes come as one route configuration per first path segment (route_scopes.py), picked by
    the segment: :path split at "/", element 1."""
    filters = [
        msg(HttpFilter, name=CORS_FILTER, typed_config=_any(msg(Cors))),
        msg(HttpFilter, name=FAULT_FILTER, typed_config=_any(msg(HttpFault))),
        msg(HttpFilter, name=ROUTER_FILTER, typed_config=_any(msg(Router))),
    ]
    if scoped:
        first_segment = msg(ScopedRoutesScopeKeyBuilderFragmentBuilderHeaderValueExtractor, name=":path",
                            element_separator="/", index=1)
        routes: dict[str, Any] = {"scoped_routes": msg(
            ScopedRoutes, name=route_config_name, rds_config_source=ads_config_source(),
            scope_key_builder=msg(ScopedRoutesScopeKeyBuilder, fragments=[
                msg(ScopedRoutesScopeKeyBuilderFragmentBuilder, header_value_extractor=first_segment)]),
            scoped_rds=msg(ScopedRds, scoped_rds_config_source=ads_config_source()))}
    else:
        routes = {"rds": msg(Rds, config_source=ads_config_source(), route_config_name=route_config_name)}
    return msg(HttpConnectionManager, stat_prefix=stat_prefix, **routes, strip_any_host_port=True,
               http_filters=filters)


def http_listener(name: str, address: str, port: int, route_config_name: str, scoped: bool = False) -> Listener:
    hcm = http_connection_manager(route_config_name, name, scoped)
    return msg(Listener, name=name,
               address=msg(Address, socket_address=msg(SocketAddress, address=address, port_value=port)),
               filter_chains=[msg(FilterChain, filters=[msg(Filter, name=HCM_FILTER, typed_config=_any(hcm))])])
