"""k9s-style shell-command plugins declared in YAML, run with meshctl's current context in the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from .registry import Arg, PluginCommand, PluginLoadError, PluginRegistry

# environment variables a shell plugin receives (documented in docs/plugins.md)
CONTEXT_VARS = {
    "gateway": "MESHCTL_GATEWAY",
    "virtual_host": "MESHCTL_VIRTUAL_HOST",
    "route": "MESHCTL_ROUTE",
    "route_owner": "MESHCTL_ROUTE_OWNER",
    "resource_file": "MESHCTL_RESOURCE_FILE",
    "kube_context": "MESHCTL_KUBE_CONTEXT",
    "xds_address": "MESHCTL_XDS_ADDRESS",
}
_FIELDS = {"shortcut": str, "description": str, "scopes": list, "command": str, "args": list, "confirm": bool,
           "dangerous": bool, "background": bool}


def context_env(context: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    for key, var in CONTEXT_VARS.items():
        env[var] = context.get(key, "")
    return env


def load_shell_plugins(registry: PluginRegistry, path: Path) -> None:
    origin = f"shell plugins {path}"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        registry.errors.append(PluginLoadError(path.name, origin, f"cannot read: {exc}"))
        return
    plugins = data.get("plugins") if isinstance(data, dict) else None
    if not isinstance(plugins, dict):
        registry.errors.append(PluginLoadError(path.name, origin, "expected a mapping `plugins: {name: {...}}`"))
        return
    for name, spec in plugins.items():
        problem = _check(spec)
        if problem:
            registry.errors.append(PluginLoadError(str(name), origin, problem))
            continue
        registry._current = (str(name), origin)
        registry.add(PluginCommand(
            name=str(name), help=spec.get("description", f"runs {spec['command']}"),
            run=_runner(spec), args=(Arg("--yes", "do not ask for confirmation", bool, False),),
            mutating=bool(spec.get("dangerous", False)), shortcut=spec.get("shortcut", ""),
            example=f"meshctl {name} --demo", shell=spec))
        registry._current = ("", "")


def _check(spec: Any) -> str | None:
    if not isinstance(spec, dict):
        return "each shell plugin must be a mapping"
    if "command" not in spec:
        return "missing `command`"
    for key, kind in _FIELDS.items():
        if key in spec and not isinstance(spec[key], kind):
            return f"`{key}` must be a {kind.__name__}"
    if any(not isinstance(a, (str, int, float)) for a in spec.get("args", [])):
        return "`args` must be a list of strings"
    return None


def _runner(spec: dict[str, Any]) -> Any:
    def run(api: Any, args: Any) -> int:
        env = context_env(api.context)
        argv = [os.path.expandvars(spec["command"])] + [_expand(str(a), env) for a in spec.get("args", [])]
        if spec.get("confirm") and not getattr(args, "yes", False):
            if not sys.stdin.isatty():
                api.output.write(f"refusing to run {argv[0]} without confirmation (pass --yes)")
                return 1
            answer = input(f"run {' '.join(argv)}? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                return 1
        proc = subprocess.run(argv, env=env, capture_output=True, text=True)
        if proc.stdout:
            api.output.write(proc.stdout)
        if proc.stderr:
            sys.stderr.write(proc.stderr)
        return proc.returncode

    return run


def _expand(text: str, env: dict[str, str]) -> str:
    for var in sorted(env, key=len, reverse=True):
        if var.startswith("MESHCTL_") or var in ("HOME", "USER", "PATH"):
            text = text.replace(f"${{{var}}}", env[var]).replace(f"${var}", env[var])
    return text
