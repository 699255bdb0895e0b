"""Settings and paths: one YAML config file (XDG), overridden by MESHCTL_* environment variables, then by flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model.findings import Finding
from .model.schema import Model
from .yamlfile import load_file


def _xdg(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else Path.home() / default


@dataclass(frozen=True)
class Paths:
    config_dir: Path
    state_dir: Path

    @classmethod
    def current(cls) -> "Paths":
        return cls(_xdg("XDG_CONFIG_HOME", ".config") / "meshctl", _xdg("XDG_STATE_HOME", ".local/state") / "meshctl")

    @property
    def config_file(self) -> Path:
        override = os.environ.get("MESHCTL_CONFIG")
        return Path(override) if override else self.config_dir / "config.yaml"

    @property
    def plugin_dir(self) -> Path:
        return self.config_dir / "plugins"

    @property
    def shell_plugins_file(self) -> Path:
        return self.config_dir / "plugins.yaml"

    @property
    def themes_dir(self) -> Path:
        return self.config_dir / "themes"

    @property
    def history_file(self) -> Path:
        return self.state_dir / "test-route-history"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def demo_state_dir(self) -> Path:
        return self.state_dir / "demo"

    def as_dict(self) -> dict[str, str]:
        return {
            "config": str(self.config_file),
            "configDir": str(self.config_dir),
            "state": str(self.state_dir),
            "history": str(self.history_file),
            "plugins": str(self.plugin_dir),
            "shellPlugins": str(self.shell_plugins_file),
            "themes": str(self.themes_dir),
            "logs": str(self.log_dir),
            "demoState": str(self.demo_state_dir),
        }


@dataclass
class XdsSettings:
    listen: str = "127.0.0.1:18000"
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None


@dataclass
class Settings:
    theme: str = "dark"
    read_only: bool = False
    keymap: dict[str, str] = field(default_factory=dict)
    clusters: dict[str, str] = field(default_factory=dict)  # kube context -> Gloo cluster name
    xds: XdsSettings = field(default_factory=XdsSettings)
    plugin_dirs: list[str] = field(default_factory=list)
    sample_requests: list[str] = field(default_factory=list)  # router_check case files used for edit previews
    origins: dict[str, str] = field(default_factory=dict)  # setting -> "default" | "file" | "env" | "flag"
    problems: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "theme": self.theme, "readOnly": self.read_only, "keymap": dict(self.keymap),
            "clusters": dict(self.clusters),
            "xds": {"listen": self.xds.listen, "tlsCert": self.xds.tls_cert, "tlsKey": self.xds.tls_key,
                    "tlsClientCa": self.xds.tls_client_ca},
            "pluginDirs": list(self.plugin_dirs), "sampleRequests": list(self.sample_requests),
        }


DEFAULT_CONFIG = """\
# meshctl configuration. Every setting is optional; this file shows the defaults.
# Precedence: this file < MESHCTL_* environment variables < command-line flags.

# Colour theme of the TUI: dark, light, colorblind, or a file name from the themes directory
# (env MESHCTL_THEME, flag --theme).
theme: dark

# Forbid every change: editor applies, kube applies, failover triggers, mutating plugins
# (env MESHCTL_READ_ONLY=1, flag --read-only).
readOnly: false

# Key bindings of the TUI: action id -> key. `meshctl tui` shows the ids with `?`.
# keymap:
#   tree.filter: slash
#   editor.apply: ctrl+s
keymap: {}

# Kubernetes context -> Gloo cluster name (flag --cluster-name CTX=NAME).
# clusters:
#   kind-mgmt: cluster-1
#   kind-remote: cluster-2
clusters: {}

# The embedded xDS server (env MESHCTL_XDS_LISTEN, MESHCTL_XDS_TLS_CERT, MESHCTL_XDS_TLS_KEY,
# MESHCTL_XDS_TLS_CLIENT_CA; flag --listen). A client CA turns on mutual TLS.
xds:
  listen: 127.0.0.1:18000
  # tlsCert: /path/to/server.crt
  # tlsKey: /path/to/server.key
  # tlsClientCa: /path/to/ca.crt

# Extra directories searched for Python plugins (env MESHCTL_PLUGIN_DIRS, separated by ':').
pluginDirs: []

# router_check style case files whose requests the TUI editor replays to preview what an edit changes.
sampleRequests: []
"""

@dataclass
class _XdsFile(Model):
    listen: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None


@dataclass
class _ConfigFile(Model):
    """The config file as written; every key optional (None: not set, or set wrongly and reported)."""

    theme: str | None = None
    read_only: bool | None = None
    keymap: dict[str, Any] | None = None
    clusters: dict[str, Any] | None = None
    xds: _XdsFile | None = None
    plugin_dirs: list[Any] | None = None
    sample_requests: list[Any] | None = None


def load_settings(paths: Paths | None = None, env: dict[str, str] | None = None) -> Settings:
    """Settings from the config file then the environment. A broken file is reported, never fatal."""
    paths = paths or Paths.current()
    env = dict(os.environ if env is None else env)
    s = Settings()
    s.origins = {k: "default" for k in ("theme", "readOnly", "keymap", "clusters", "xds.listen", "pluginDirs",
                                       "sampleRequests")}
    file = paths.config_file
    if file.exists():
        _apply_file(s, file)
    _apply_env(s, env)
    return s


def _apply_file(s: Settings, file: Path) -> None:
    """The file's settings, typed by the model's schema (meshctl.yamlfile): a wrong value is reported with its
    file:line and field and the default stays; unknown keys are warnings."""
    data, _, problems = load_file(file, _ConfigFile, "config")
    s.problems.extend(problems)
    if data is None:
        return
    if data.theme is not None:
        s.theme, s.origins["theme"] = data.theme, "file"
    if data.read_only is not None:
        s.read_only, s.origins["readOnly"] = data.read_only, "file"
    if data.keymap is not None:
        s.keymap, s.origins["keymap"] = {str(k): str(v) for k, v in data.keymap.items()}, "file"
    if data.clusters is not None:
        s.clusters, s.origins["clusters"] = {str(k): str(v) for k, v in data.clusters.items()}, "file"
    if data.plugin_dirs is not None:
        s.plugin_dirs, s.origins["pluginDirs"] = [str(v) for v in data.plugin_dirs], "file"
    if data.sample_requests is not None:
        s.sample_requests, s.origins["sampleRequests"] = [str(v) for v in data.sample_requests], "file"
    if data.xds is not None:
        for attr in ("listen", "tls_cert", "tls_key", "tls_client_ca"):
            value = getattr(data.xds, attr)
            if value is not None:
                setattr(s.xds, attr, value)
                if attr == "listen":
                    s.origins["xds.listen"] = "file"


_TRUE = {"1", "true", "yes", "on"}


def _apply_env(s: Settings, env: dict[str, str]) -> None:
    if "MESHCTL_THEME" in env:
        s.theme, s.origins["theme"] = env["MESHCTL_THEME"], "env"
    if "MESHCTL_READ_ONLY" in env:
        s.read_only, s.origins["readOnly"] = env["MESHCTL_READ_ONLY"].strip().lower() in _TRUE, "env"
    if "MESHCTL_XDS_LISTEN" in env:
        s.xds.listen, s.origins["xds.listen"] = env["MESHCTL_XDS_LISTEN"], "env"
    for var, attr in (("MESHCTL_XDS_TLS_CERT", "tls_cert"), ("MESHCTL_XDS_TLS_KEY", "tls_key"),
                      ("MESHCTL_XDS_TLS_CLIENT_CA", "tls_client_ca")):
        if var in env:
            setattr(s.xds, attr, env[var])
    if "MESHCTL_PLUGIN_DIRS" in env:
        s.plugin_dirs = [p for p in env["MESHCTL_PLUGIN_DIRS"].split(os.pathsep) if p]
        s.origins["pluginDirs"] = "env"


def apply_flags(s: Settings, *, theme: str | None = None, read_only: bool | None = None,
                listen: str | None = None, cluster_names: list[str] | None = None) -> Settings:
    """Flags win over file and environment."""
    if theme:
        s.theme, s.origins["theme"] = theme, "flag"
    if read_only:
        s.read_only, s.origins["readOnly"] = True, "flag"
    if listen:
        s.xds.listen, s.origins["xds.listen"] = listen, "flag"
    for item in cluster_names or []:
        if "=" in item:
            ctx, name = item.split("=", 1)
            s.clusters[ctx] = name
            s.origins["clusters"] = "flag"
    return s


def cluster_name_flags(settings: Settings, contexts: list[str], flags: list[str]) -> list[str]:
    """`--cluster-name CTX=NAME` values: the flags given, plus the config file's names for the other contexts
    in use (a flag wins; names of contexts not in use are left out)."""
    given = {item.split("=", 1)[0] for item in flags if "=" in item}
    return list(flags) + [f"{ctx}={name}" for ctx, name in settings.clusters.items()
                          if ctx in contexts and ctx not in given]


def write_default_config(path: Path, force: bool = False) -> Path:
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists (use --force to overwrite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(DEFAULT_CONFIG, encoding="utf-8")
    os.replace(tmp, path)
    return path
