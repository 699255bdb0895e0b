"""Settings and paths: one YAML config file (XDG), overridden by MESHCTL_* environment variables, then by flags."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .model.findings import Finding, Severity
from .model.yamldoc import describe_type


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

_KEYS = {"theme", "readOnly", "keymap", "clusters", "xds", "pluginDirs", "sampleRequests"}


def _problem(file: Path, message: str, line: int | None = None, path: str | None = None) -> Finding:
    return Finding(Severity.ERROR, "config", message, file=str(file), line=line, column=1 if line else None,
                   path=path)


def _line_of(text: str, key: str) -> int | None:
    for i, raw in enumerate(text.splitlines(), 1):
        if raw.lstrip().startswith(f"{key}:"):
            return i
    return None


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
    try:
        text = file.read_text(encoding="utf-8")
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        s.problems.append(_problem(file, f"config file is not valid YAML ({getattr(exc, 'problem', exc)}); "
                                         "using defaults", mark.line + 1 if mark else None))
        return
    except (OSError, UnicodeDecodeError) as exc:
        s.problems.append(_problem(file, f"cannot read config file: {exc}; using defaults"))
        return
    if data is None:
        return
    if not isinstance(data, dict):
        s.problems.append(_problem(file, f"config must be a mapping, got {describe_type(data)}; using defaults", 1))
        return

    def expect(key: str, value: Any, kind: type, what: str) -> bool:
        if isinstance(value, kind):
            return True
        s.problems.append(_problem(file, f"{key}: expected {what}, got {describe_type(value)}; ignored",
                                   _line_of(text, key.split(".")[-1]), key))
        return False

    for key in data:
        if key not in _KEYS:
            s.problems.append(Finding(Severity.WARNING, "config", f"unknown setting {key!r} ignored",
                                      file=str(file), line=_line_of(text, str(key)), column=1, path=str(key)))
    if "theme" in data and expect("theme", data["theme"], str, "a theme name"):
        s.theme, s.origins["theme"] = data["theme"], "file"
    if "readOnly" in data and expect("readOnly", data["readOnly"], bool, "true or false"):
        s.read_only, s.origins["readOnly"] = data["readOnly"], "file"
    for key, attr in (("keymap", "keymap"), ("clusters", "clusters")):
        if key in data and expect(key, data[key], dict, "a mapping"):
            setattr(s, attr, {str(k): str(v) for k, v in data[key].items()})
            s.origins[key] = "file"
    for key, attr in (("pluginDirs", "plugin_dirs"), ("sampleRequests", "sample_requests")):
        if key in data and expect(key, data[key], list, "a list"):
            setattr(s, attr, [str(v) for v in data[key]])
            s.origins[key] = "file"
    xds = data.get("xds")
    if xds is not None and expect("xds", xds, dict, "a mapping"):
        for key, attr in (("listen", "listen"), ("tlsCert", "tls_cert"), ("tlsKey", "tls_key"),
                          ("tlsClientCa", "tls_client_ca")):
            if key in xds and expect(f"xds.{key}", xds[key], str, "a string"):
                setattr(s.xds, attr, xds[key])
                if key == "listen":
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
