"""Finding the route configuration to answer with: in a config dump, a bootstrap, or a bare RouteConfiguration.

HTTP listeners are the filter chains whose HTTP connection manager has an inline route_config or an RDS name;
the operator picks one by listener name or port, or names a route configuration directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..routing.matchers import pinned_segment
from .compile import compile_route_config
from .routes import EnvoyRouteConfig
from .source import EnvoyConfigError, parse_text, read_file

HCM_NAME = "envoy.filters.network.http_connection_manager"


@dataclass
class HttpListener:
    """One filter chain of a listener that routes HTTP: where its routes come from and what it does first."""

    listener: str
    port: int | None
    where: str  # field path of the HTTP connection manager in the file
    hcm: dict[str, Any]
    route_config_name: str | None  # RDS name, the inline configuration's name, or the scoped routes' name
    inline: dict[str, Any] | None  # the inline route_config, when not RDS


@dataclass
class EnvoyConfig:
    """Everything the file holds that routing needs: HTTP listeners, route configurations by name, clusters."""

    source: str
    kind: str  # "config dump" | "bootstrap" | "route configuration"
    listeners: list[HttpListener] = field(default_factory=list)
    route_configs: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # name -> (where, raw)
    clusters: set[str] | None = None
    # listeners whose connection manager picks a route configuration per request (scoped RDS) that could not be
    # read as one (see _merged_scopes): name -> why
    scoped: dict[str, str] = field(default_factory=dict)
    scopes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # scoped_routes name -> its scopes
    _compiled: dict[tuple[str, int], EnvoyRouteConfig] = field(default_factory=dict, repr=False)

    # -- choosing -----------------------------------------------------------------------------
    def describe_listeners(self) -> str:
        return ", ".join(f"{h.listener} (port {h.port})" if h.port else h.listener for h in self.listeners) or "none"

    def select(self, listener: str | None = None, port: int | None = None,
               route_config: str | None = None) -> "RouteSelection":
        """The route configuration for the listener named, on the port given, or named itself; else the only one."""
        if route_config is not None:
            if route_config not in self.route_configs and not any(h.route_config_name == route_config
                                                                  for h in self.listeners):
                known = ", ".join(sorted(self.route_configs)) or "none"
                raise EnvoyConfigError(f"{self.source}: no route configuration named {route_config!r} (known: {known})")
            chosen = [h for h in self.listeners if h.route_config_name == route_config]
            return self._selection(chosen[0] if chosen else None, route_config)
        candidates = self.listeners
        if listener is not None:
            candidates = [h for h in candidates if h.listener == listener]
            if not candidates:
                raise EnvoyConfigError(f"{self.source}: no HTTP listener named {listener!r} "
                                       f"(HTTP listeners: {self.describe_listeners()})")
        if port is not None:
            candidates = [h for h in candidates if h.port == port]
            if not candidates:
                raise EnvoyConfigError(f"{self.source}: no HTTP listener on port {port} "
                                       f"(HTTP listeners: {self.describe_listeners()})")
        if not candidates:
            if self.scoped and listener is None and port is None:
                why = "; ".join(f"listener {name}: {reason}" for name, reason in self.scoped.items())
                raise EnvoyConfigError(
                    f"{self.source}: scoped routes meshctl cannot read as one route configuration ({why}); name one "
                    "of its route configurations with --route-config, or serve it with "
                    "`meshctl xds serve --scoped-routes 0`")
            if len(self.route_configs) == 1 and listener is None and port is None:
                return self._selection(None, next(iter(self.route_configs)))
            if not self.route_configs:
                raise EnvoyConfigError(f"{self.source}: no HTTP listener and no route configuration in this "
                                       f"{self.kind}")
            raise EnvoyConfigError(f"{self.source}: no HTTP listener; pick a route configuration with "
                                   f"--route-config (known: {', '.join(sorted(self.route_configs))})")
        distinct = {(h.listener, h.route_config_name) for h in candidates}
        if len(distinct) > 1:
            raise EnvoyConfigError(f"{self.source}: {len(distinct)} HTTP listeners or filter chains could answer "
                                   f"({self.describe_listeners()}); pick one with --listener, --port or "
                                   f"--route-config")
        return self._selection(candidates[0], candidates[0].route_config_name)

    def _selection(self, http: HttpListener | None, name: str | None) -> "RouteSelection":
        if http is not None and http.inline is not None:
            where, raw = http.where + ".route_config", http.inline
        else:
            found = self.route_configs.get(name or "")
            if found is None:
                raise EnvoyConfigError(f"{self.source}: listener {http.listener if http else '?'} takes routes from "
                                       f"RDS {name!r}, which this {self.kind} does not hold (is the dump taken "
                                       f"before the routes arrived?)")
            where, raw = found
        key = (where, id(raw))
        rc = self._compiled.get(key)
        if rc is None:
            rc = compile_route_config(raw, self.source, where)
            if http is not None:
                _apply_hcm(rc, http)
            rc.clusters = frozenset(self.clusters) if self.clusters is not None else None
            self._compiled[key] = rc
        return RouteSelection(self, http, rc)


@dataclass
class RouteSelection:
    config: EnvoyConfig
    listener: HttpListener | None
    route_config: EnvoyRouteConfig

    @property
    def label(self) -> str:
        rc = self.route_config.name or "(unnamed route configuration)"
        return f"{self.listener.listener}/{rc}" if self.listener is not None else rc


def _apply_hcm(rc: EnvoyRouteConfig, http: HttpListener) -> None:
    """What the listener's HTTP connection manager does to a request before routing."""
    hcm = http.hcm
    rc.listener = http.listener
    rc.listener_port = http.port
    rc.strip_any_host_port = bool(hcm.get("strip_any_host_port"))
    rc.strip_matching_host_port = bool(hcm.get("strip_matching_host_port"))
    rc.merge_slashes = bool(hcm.get("merge_slashes"))
    normalize = hcm.get("normalize_path")
    if isinstance(normalize, dict):
        normalize = normalize.get("value")
    if normalize:
        rc.notes.append("unmodelled: normalize_path (Envoy normalises dot segments and percent-encoding first)")
    action = hcm.get("path_with_escaped_slashes_action")
    if action not in (None, "IMPLEMENTATION_SPECIFIC_DEFAULT", "KEEP_UNCHANGED", 0, 1):
        rc.notes.append(f"unmodelled: path_with_escaped_slashes_action {action}")
    if hcm.get("strip_trailing_host_dot"):
        rc.notes.append("unmodelled: strip_trailing_host_dot")
    if hcm.get("scoped_routes"):
        rc.notes.append("scoped routes read as one route configuration: every route pins its scope's first path "
                        "segment")


# -- reading the three shapes ----------------------------------------------------------------------

def _socket_port(listener: dict[str, Any]) -> int | None:
    address = (listener.get("address") or {}).get("socket_address") or {}
    port = address.get("port_value")
    try:
        return int(port) if port is not None else None
    except (TypeError, ValueError):
        return None


def _http_listeners(listener: dict[str, Any], where: str) -> list[HttpListener]:
    out = []
    name = str(listener.get("name", ""))
    port = _socket_port(listener)
    chains = [(f"{where}.filter_chains[{i}]", c) for i, c in enumerate(listener.get("filter_chains") or [])]
    if isinstance(listener.get("default_filter_chain"), dict):
        chains.append((f"{where}.default_filter_chain", listener["default_filter_chain"]))
    for chain_where, chain in chains:
        for j, f in enumerate((chain or {}).get("filters") or []):
            if not isinstance(f, dict):
                continue
            config = f.get("typed_config") or {}
            if f.get("name") != HCM_NAME and not str(config.get("@type", "")).endswith("HttpConnectionManager"):
                continue
            hcm_where = f"{chain_where}.filters[{j}].typed_config"
            if isinstance(config.get("route_config"), dict):
                inline = config["route_config"]
                out.append(HttpListener(name, port, hcm_where, config, str(inline.get("name", "")), inline))
            elif isinstance(config.get("rds"), dict):
                out.append(HttpListener(name, port, hcm_where, config, str(config["rds"].get("route_config_name", "")),
                                        None))
            elif isinstance(config.get("scoped_routes"), dict):
                out.append(HttpListener(name, port, hcm_where, config, None, None))  # named by _resolve_scopes
    return out


def _resolve_scopes(cfg: EnvoyConfig) -> None:
    """A scoped listener reads as one route configuration, its scopes' routes merged, when that answers as Envoy
    does: the scope key is the first path segment (`meshctl xds serve`'s scoped routes), every scope holds the same
    virtual hosts, and every route's path pins its scope's segment, so routes of two scopes never compete."""
    listeners = []
    for h in cfg.listeners:
        if h.route_config_name is not None or h.inline is not None:
            listeners.append(h)
            continue
        name = str(h.hcm["scoped_routes"].get("name", ""))
        merged = _merged_scopes(h.hcm, cfg.scopes.get(name, cfg.scopes.get("", [])), cfg.route_configs)
        if isinstance(merged, str):
            cfg.scoped[h.listener] = merged
            continue
        cfg.route_configs[name] = (h.where + ".scoped_routes", merged)
        h.route_config_name = name
        listeners.append(h)
    cfg.listeners = listeners


def _merged_scopes(hcm: dict[str, Any], scopes: list[dict[str, Any]],
                   route_configs: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, Any] | str:
    """The scopes' route configurations as one, or why they do not read as one."""
    fragments = ((hcm["scoped_routes"].get("scope_key_builder") or {}).get("fragments") or [])
    extractor = (fragments[0].get("header_value_extractor") or {}) if len(fragments) == 1 else {}
    if (extractor.get("name"), extractor.get("element_separator"), int(extractor.get("index") or 0),
            extractor.get("element")) != (":path", "/", 1, None):
        return "its scope key is not the first segment of :path"
    hosts: list[dict[str, Any]] | None = None
    top: dict[str, Any] = {}
    merged: list[list[dict[str, Any]]] = []
    for scope in scopes:
        keys = [f.get("string_key") for f in (scope.get("key") or {}).get("fragments") or []]
        found = scope.get("route_configuration") or route_configs.get(str(scope.get("route_configuration_name")),
                                                                        ("", None))[1]
        if len(keys) != 1 or not isinstance(found, dict):
            return f"scope {scope.get('name')!r} has no single key or no route configuration in this file"
        vhs = found.get("virtual_hosts") or []
        header = [{k: v for k, v in vh.items() if k != "routes"} for vh in vhs]
        rest = {k: v for k, v in found.items() if k not in ("name", "virtual_hosts")}
        if hosts is None:
            hosts, top, merged = header, rest, [[] for _ in vhs]
        elif header != hosts or rest != top:
            return "its scopes' route configurations differ in more than their routes"
        for i, vh in enumerate(vhs):
            for route in vh.get("routes") or []:
                if _first_segment(route) != keys[0]:
                    return f"a route of scope {keys[0]!r} does not pin that first path segment"
                merged[i].append(route)
    return {**top, "name": str(hcm["scoped_routes"].get("name", "")),
            "virtual_hosts": [{**vh, "routes": routes} for vh, routes in zip(hosts or [], merged, strict=True)]}


def _first_segment(route: dict[str, Any]) -> str | None:
    """The first path segment every request the route matches has (as meshctl/xds/route_scopes.py scope_key)."""
    match = route.get("match") or {}
    return pinned_segment(match.get("prefix") if match.get("prefix") is not None else match.get("path"),
                          match.get("case_sensitive"))


def _from_dump(data: dict[str, Any], cfg: EnvoyConfig) -> None:
    for i, section in enumerate(data.get("configs") or []):
        if not isinstance(section, dict):
            continue
        kind = str(section.get("@type", "")).rsplit(".", 1)[-1]
        where = f"configs[{i}]"
        if kind == "ListenersConfigDump":  # (the bootstrap's static listeners and clusters are repeated here)
            for j, item in enumerate(section.get("static_listeners") or []):
                cfg.listeners += _http_listeners(item.get("listener") or {}, f"{where}.static_listeners[{j}].listener")
            for j, item in enumerate(section.get("dynamic_listeners") or []):
                active = (item.get("active_state") or {}).get("listener")
                if isinstance(active, dict):
                    cfg.listeners += _http_listeners(active, f"{where}.dynamic_listeners[{j}].active_state.listener")
        elif kind == "RoutesConfigDump":
            for key in ("static_route_configs", "dynamic_route_configs"):
                for j, item in enumerate(section.get(key) or []):
                    rc = item.get("route_config")
                    if isinstance(rc, dict):
                        cfg.route_configs.setdefault(str(rc.get("name", "")), (f"{where}.{key}[{j}].route_config", rc))
        elif kind == "ScopedRoutesConfigDump":
            for key in ("inline_scoped_route_configs", "dynamic_scoped_route_configs"):
                for item in section.get(key) or []:
                    cfg.scopes.setdefault(str(item.get("name", "")), []).extend(
                        c for c in item.get("scoped_route_configs") or [] if isinstance(c, dict))
        elif kind == "ClustersConfigDump":
            names = cfg.clusters if cfg.clusters is not None else set()
            for key in ("static_clusters", "dynamic_active_clusters", "dynamic_warming_clusters"):
                for item in section.get(key) or []:
                    cluster = item.get("cluster") or {}
                    if cluster.get("name"):
                        names.add(str(cluster["name"]))
            cfg.clusters = names


def _from_bootstrap(data: dict[str, Any], cfg: EnvoyConfig, where: str) -> None:
    static = data.get("static_resources") or {}
    for i, listener in enumerate(static.get("listeners") or []):
        if isinstance(listener, dict):
            cfg.listeners += _http_listeners(listener, f"{where}static_resources.listeners[{i}]")
    cfg.clusters = {str(c.get("name")) for c in static.get("clusters") or [] if isinstance(c, dict) and c.get("name")}


def envoy_config_from_data(data: dict[str, Any], source: str) -> EnvoyConfig:
    if "configs" in data:
        cfg = EnvoyConfig(source, "config dump")
        _from_dump(data, cfg)
        # dynamic listeners win over the same listener written in the bootstrap
        by_name: dict[tuple[str, str | None], HttpListener] = {}
        for h in cfg.listeners:
            by_name.setdefault((h.listener, h.route_config_name), h)
        cfg.listeners = list(by_name.values())
    elif isinstance(data.get("listeners"), list) and isinstance(data.get("routes"), list):
        cfg = EnvoyConfig(source, "xds dump")  # what `meshctl xds dump -o json` prints for one node
        for i, listener in enumerate(data["listeners"]):
            if isinstance(listener, dict):
                cfg.listeners += _http_listeners(listener, f"listeners[{i}]")
        for i, rc in enumerate(data["routes"]):
            if isinstance(rc, dict):
                cfg.route_configs.setdefault(str(rc.get("name", "")), (f"routes[{i}]", rc))
        cfg.clusters = {str(c.get("name")) for c in data.get("clusters") or [] if isinstance(c, dict)}
        cfg.scopes[""] = [c for c in data.get("scoped_routes") or [] if isinstance(c, dict)]  # one node's scopes
    elif "static_resources" in data or "dynamic_resources" in data or "admin" in data or "node" in data:
        cfg = EnvoyConfig(source, "bootstrap")
        _from_bootstrap(data, cfg, "")
        if not cfg.clusters or (data.get("dynamic_resources") or {}).get("cds_config"):
            cfg.clusters = None  # clusters may come from CDS: do not call every cluster unknown
        if not cfg.listeners and "dynamic_resources" in data:
            raise EnvoyConfigError(f"{source}: this bootstrap takes its listeners from xDS; give a config dump "
                                   f"(curl ADMIN/config_dump) or --envoy-admin URL instead")
    elif "virtual_hosts" in data or "vhds" in data:
        cfg = EnvoyConfig(source, "route configuration")
        cfg.route_configs[str(data.get("name", ""))] = ("", data)
    else:
        keys = ", ".join(list(data)[:6])
        raise EnvoyConfigError(f"{source}: top level: not a config dump (configs), bootstrap (static_resources) "
                               f"or RouteConfiguration (virtual_hosts); found keys {keys}")
    _resolve_scopes(cfg)
    for h in cfg.listeners:
        if h.inline is not None:
            cfg.route_configs.setdefault(h.route_config_name or "", (h.where + ".route_config", h.inline))
    return cfg


def load_envoy_config(path: str | Path) -> EnvoyConfig:
    return envoy_config_from_data(read_file(path), str(path))


def envoy_config_from_text(text: str, source: str) -> EnvoyConfig:
    return envoy_config_from_data(parse_text(text, source), source)


def fetch_envoy_config(admin_url: str, timeout: float = 10.0) -> EnvoyConfig:
    """A live Envoy's /config_dump?include_eds (its admin listener)."""
    from ..envoy.admin import AdminClient

    url = admin_url if "://" in admin_url else f"http://{admin_url}"
    client = AdminClient(url, timeout=timeout)
    try:
        status, body = client.request("/config_dump?include_eds")
    except OSError as exc:
        reason = getattr(exc, "reason", None) or exc
        raise EnvoyConfigError(f"{admin_url}: cannot reach Envoy's admin API: {reason}") from None
    if status != 200:
        raise EnvoyConfigError(f"{admin_url}/config_dump: HTTP {status}: {body.strip()[:120]}")
    return envoy_config_from_text(body, f"{url.rstrip('/')}/config_dump")
