"""Reading Envoy configuration: config dumps (static and RDS routes), bootstraps, bare RouteConfigurations,
choosing the listener, and one-line errors that name the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshctl.envoyconfig.select import envoy_config_from_data, load_envoy_config
from meshctl.envoyconfig.source import EnvoyConfigError

HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"


def _listener(name: str, port: int, hcm: dict) -> dict:
    return {"name": name, "address": {"socket_address": {"address": "0.0.0.0", "port_value": port}},
            "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                            "typed_config": {"@type": HCM, "stat_prefix": name, **hcm}}]}]}


def _rc(name: str, cluster: str) -> dict:
    return {"name": name, "virtual_hosts": [{"name": "vh", "domains": ["*"], "routes": [
        {"name": f"{name}-route", "match": {"prefix": "/"}, "route": {"cluster": cluster}}]}]}


def dump() -> dict:
    return {"configs": [
        {"@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump", "bootstrap": {"node": {"id": "x"}}},
        {"@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
         "static_clusters": [{"cluster": {"name": "admin"}}], "dynamic_active_clusters": [{"cluster": {"name": "web"}}]},
        {"@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
         "static_listeners": [{"listener": _listener("static", 9000, {"route_config": _rc("inline", "admin")})}],
         "dynamic_listeners": [{"name": "rds", "active_state": {"listener": _listener(
             "rds", 8080, {"rds": {"route_config_name": "from-rds"}})}}]},
        {"@type": "type.googleapis.com/envoy.admin.v3.RoutesConfigDump",
         "dynamic_route_configs": [{"version_info": "1", "route_config": {
             "@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration", **_rc("from-rds", "web")}}]},
    ]}


def test_config_dump_listeners_by_port_name_and_route_config() -> None:
    cfg = envoy_config_from_data(dump(), "dump.json")
    assert cfg.kind == "config dump"
    assert cfg.clusters == {"admin", "web"}
    assert cfg.select(port=8080).route_config.name == "from-rds"
    assert cfg.select(listener="static").route_config.name == "inline"
    assert cfg.select(route_config="from-rds").route_config.listener == "rds"
    with pytest.raises(EnvoyConfigError, match="2 HTTP listeners"):
        cfg.select()
    with pytest.raises(EnvoyConfigError, match=r"no HTTP listener on port 1 \(HTTP listeners: static \(port 9000\), "
                                               r"rds \(port 8080\)\)"):
        cfg.select(port=1)
    with pytest.raises(EnvoyConfigError, match="no route configuration named 'nope'"):
        cfg.select(route_config="nope")


def test_rds_name_missing_from_the_dump_is_explained() -> None:
    data = dump()
    data["configs"][3]["dynamic_route_configs"] = []
    with pytest.raises(EnvoyConfigError, match="takes routes from RDS 'from-rds'"):
        envoy_config_from_data(data, "dump.json").select(port=8080)


def test_bootstrap_in_camel_case_yaml(tmp_path: Path) -> None:
    path = tmp_path / "envoy.yaml"
    path.write_text("""
staticResources:
  listeners:
  - name: main
    address: {socketAddress: {address: 0.0.0.0, portValue: 10000}}
    filterChains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typedConfig:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          statPrefix: main
          stripAnyHostPort: true
          routeConfig:
            name: local
            virtualHosts:
            - name: web
              domains: ["*"]
              routes:
              - match: {prefix: /, caseSensitive: false}
                route: {cluster: web, prefixRewrite: /x}
  clusters: [{name: web}]
""")
    selection = load_envoy_config(path).select()
    rc = selection.route_config
    assert (rc.listener, rc.listener_port, rc.strip_any_host_port) == ("main", 10000, True)
    route = rc.virtual_hosts[0].routes[0]
    assert route.path.ignore_case and route.target.prefix_rewrite == "/x"


def test_bare_route_configuration() -> None:
    selection = envoy_config_from_data(_rc("bare", "c"), "rc.json").select()
    assert selection.route_config.name == "bare" and selection.listener is None


@pytest.mark.parametrize("text, message", [
    ('{"configs": [}', r"f\.json:1:14: invalid JSON"),
    ("a: [b", r"f\.json:2:1: invalid YAML"),  # not JSON-looking: read as YAML (PyYAML reports the end)
    ('{"foo": 1}', "not a config dump"),
    ('{"virtual_hosts": [{"name": "v", "domains": ["*"], "routes": [{"match": {"prefix": "/", "path": "/x"}, '
     '"route": {"cluster": "c"}}]}]}', r"\.virtual_hosts\[0\]\.routes\[0\]\.match: give exactly one of"),
    ('{"virtual_hosts": [{"name": "v", "domains": ["*"], "routes": [{"match": {"safe_regex": {"regex": "("}}, '
     '"route": {"cluster": "c"}}]}]}', r"routes\[0\]\.match\.safe_regex\.regex: RE2 rejects"),
    ('{"virtual_hosts": [{"name": "v", "domains": ["*"], "routes": [{"match": {"prefix": "/"}}]}]}',
     r"routes\[0\]: no action"),
])
def test_bad_input_is_one_line_naming_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "f.json"
    path.write_text(text)
    with pytest.raises(EnvoyConfigError, match=message) as info:
        load_envoy_config(path).select()
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_unmodelled_fields_are_named_per_route() -> None:
    rc = {"virtual_hosts": [{"name": "v", "domains": ["*"], "routes": [
        {"name": "tls", "match": {"prefix": "/", "tls_context": {"presented": True}}, "route": {"cluster": "c"}},
        {"name": "plugin", "match": {"prefix": "/"}, "route": {"cluster_specifier_plugin": "p"}}]}]}
    routes = envoy_config_from_data(rc, "rc").select().route_config.virtual_hosts[0].routes
    assert routes[0].unmodelled_match == ["match.tls_context"]
    assert any("cluster_specifier_plugin" in u for u in routes[1].unmodelled)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(EnvoyConfigError, match="no such file"):
        load_envoy_config(tmp_path / "none.json")
    with pytest.raises(EnvoyConfigError, match="is a directory"):
        load_envoy_config(tmp_path)


def test_large_dump_text_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(dump(), indent=2))
    assert load_envoy_config(path).select(port=9000).route_config.name == "inline"
