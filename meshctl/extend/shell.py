"""k9s-style shell-command plugins declared in YAML, run with meshctl's current context in the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model.findings import Finding, Severity
from ..model.schema import Model
from ..model.yamldoc import Document, describe_type
from ..yamlfile import check_document, load_file
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


@dataclass
class ShellPluginSpec(Model):
    """One `plugins:` entry, typed by the model's schema (so its problems carry file:line and field path)."""

    command: str | None = None
    shortcut: str | None = None
    description: str | None = None
    scopes: list[Any] | None = None
    args: list[Any] | None = None
    confirm: bool | None = None
    dangerous: bool | None = None
    background: bool | None = None


@dataclass
class _ShellPluginsFile(Model):
    plugins: dict[str, Any] | None = None


def context_env(context: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    for key, var in CONTEXT_VARS.items():
        env[var] = context.get(key, "")
    return env


def load_shell_plugins(registry: PluginRegistry, path: Path) -> None:
    origin = f"shell plugins {path}"
    data, doc, problems = load_file(path, _ShellPluginsFile, "shell-plugin", unknown=None)
    errors = [p for p in problems if p.severity is Severity.ERROR]
    if errors or data is None or doc is None or not isinstance(data.plugins, dict):
        message = "; ".join(p.render() for p in errors) or "expected a mapping `plugins: {name: {...}}`"
        registry.errors.append(PluginLoadError(path.name, origin, message))
        return
    for name, spec in data.plugins.items():
        problems = _check(doc, str(name))
        if problems:
            registry.errors.append(PluginLoadError(str(name), origin, "; ".join(p.render() for p in problems)))
            continue
        registry._current = (str(name), origin)
        registry.add(PluginCommand(
            name=str(name), help=spec.get("description", f"runs {spec['command']}"),
            run=_runner(spec), args=(Arg("--yes", "do not ask for confirmation", bool, False),),
            mutating=bool(spec.get("dangerous", False)), shortcut=spec.get("shortcut", ""),
            example=f"meshctl {name} --demo", shell=spec))
        registry._current = ("", "")


def _check(doc: Document, name: str) -> list[Finding]:
    """Problems of `plugins.NAME` (none: it can run)."""
    base = ("plugins", name)
    spec, problems = check_document(doc, ShellPluginSpec, "shell-plugin", base, unknown=None)
    if spec is None or problems:
        return problems
    if spec.command is None:
        return [doc.finding(Severity.ERROR, "shell-plugin", "missing `command`", base)]
    return [doc.finding(Severity.ERROR, "shell-plugin", f"expected a string, got {describe_type(a)}",
                        base + ("args", i)) for i, a in enumerate(spec.args or []) if not isinstance(a, (str, int, float))]


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
