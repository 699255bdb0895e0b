"""Listeners: an HTTP connection manager with RDS by name, host ports stripped, and the CORS, fault and router
filters (CORS and fault are always present, so adding the first such policy never replaces the listener)."""

from __future__ import annotations

from envoy_data_plane.envoy.config.core.v3 import Address, SocketAddress
from envoy_data_plane.envoy.config.listener.v3 import Filter, FilterChain, Listener
from envoy_data_plane.envoy.extensions.filters.http.cors.v3 import Cors
from envoy_data_plane.envoy.extensions.filters.http.fault.v3 import HttpFault
from envoy_data_plane.envoy.extensions.filters.http.router.v3 import Router
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3 import (
    HttpConnectionManager,
    HttpFilter,
    Rds,
)

from .translate_clusters import ads_config_source
from .translate_proto import msg
from .translate_routes import CORS_FILTER, FAULT_FILTER, _any

HCM_FILTER = "envoy.filters.network.http_connection_manager"
ROUTER_FILTER = "envoy.filters.http.router"


def http_connection_manager(route_config_name: str, stat_prefix: str) -> HttpConnectionManager:
    filters = [
        msg(HttpFilter, name=CORS_FILTER, typed_config=_any(msg(Cors))),
        msg(HttpFilter, name=FAULT_FILTER, typed_config=_any(msg(HttpFault))),
        msg(HttpFilter, name=ROUTER_FILTER, typed_config=_any(msg(Router))),
    ]
    return msg(HttpConnectionManager, stat_prefix=stat_prefix,
               rds=msg(Rds, config_source=ads_config_source(), route_config_name=route_config_name),
               strip_any_host_port=True, http_filters=filters)


def http_listener(name: str, address: str, port: int, route_config_name: str) -> Listener:
    hcm = http_connection_manager(route_config_name, name)
    return msg(Listener, name=name,
               address=msg(Address, socket_address=msg(SocketAddress, address=address, port_value=port)),
               filter_chains=[msg(FilterChain, filters=[msg(Filter, name=HCM_FILTER, typed_config=_any(hcm))])])
