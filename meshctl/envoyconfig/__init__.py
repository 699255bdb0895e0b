"""The sandbox over Envoy's own configuration: read a config dump, bootstrap or RouteConfiguration, match as Envoy.

Layers (no grpc, no UI): `source` reads files into plain dicts, `select` finds listeners and route
configurations, `compile` turns a RouteConfiguration into matchable `routes` objects, `matching` answers a
request, `answer` says what happens next, `cases` runs router_check files, `table` and `verify` build on them.
"""

from .select import EnvoyConfig, EnvoyConfigError, RouteSelection, load_envoy_config

__all__ = ["EnvoyConfig", "EnvoyConfigError", "RouteSelection", "load_envoy_config"]
