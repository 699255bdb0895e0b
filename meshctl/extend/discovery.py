"""Finding plugins: the `meshctl.plugins` entry-point group, the project's plugins/ directory, the user's plugin
directories, and k9s-style shell-command plugins declared in YAML. A broken plugin is reported, never fatal."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

from ..config import Paths, Settings
from .registry import PluginLoadError, PluginRegistry
from .shell import load_shell_plugins

ENTRY_POINT_GROUP = "meshctl.plugins"


def project_plugin_dir() -> Path | None:
    """`plugins/` beside the meshctl package in a source checkout (editable installs, the README's quick start)."""
    candidate = Path(__file__).resolve().parents[2] / "plugins"
    return candidate if candidate.is_dir() else None


def _short_error(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _register(registry: PluginRegistry, name: str, origin: str, loader: Callable[[], Any]) -> None:
    if name in registry.plugins:
        registry.errors.append(PluginLoadError(name, origin, f"plugin {name!r} already loaded from "
                                                             f"{registry.plugins[name]}; this copy is ignored"))
        return
    registry._current = (name, origin)
    before = set(registry.commands)
    try:
        target = loader()
        register = target if callable(target) and not hasattr(target, "register") else getattr(target, "register", None)
        if register is None:
            raise AttributeError("a plugin must define register(registry)")
        register(registry)
        registry.plugins[name] = origin
    except Exception as exc:  # a plugin must never break meshctl or another plugin
        for added in set(registry.commands) - before:
            del registry.commands[added]
        registry.errors.append(PluginLoadError(name, origin, _short_error(exc)))
    finally:
        registry._current = ("", "")


def _load_file(path: Path) -> Any:
    module_name = f"meshctl_plugin_{path.stem.replace('-', '_')}"
    target = path / "__init__.py" if path.is_dir() else path
    spec = importlib.util.spec_from_file_location(module_name, target,
                                                  submodule_search_locations=[str(path)] if path.is_dir() else None)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def plugin_dirs(settings: Settings, paths: Paths) -> list[tuple[Path, str]]:
    dirs: list[tuple[Path, str]] = []
    project = project_plugin_dir()
    if project is not None:
        dirs.append((project, "project plugins/"))
    dirs.append((paths.plugin_dir, "user plugin directory"))
    for d in settings.plugin_dirs:
        dirs.append((Path(d).expanduser(), "configured plugin directory"))
    return dirs


def discover(settings: Settings | None = None, paths: Paths | None = None) -> PluginRegistry:
    from ..config import load_settings

    paths = paths or Paths.current()
    settings = settings or load_settings(paths)
    registry = PluginRegistry()
    try:
        eps = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception as exc:  # broken metadata of some installed distribution
        eps = []
        registry.errors.append(PluginLoadError("entry points", ENTRY_POINT_GROUP, _short_error(exc)))
    for ep in eps:
        _register(registry, ep.name, f"entry point {ep.value}", ep.load)
    for directory, origin in plugin_dirs(settings, paths):
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            is_module = path.suffix == ".py" and not path.name.startswith("_")
            is_package = path.is_dir() and (path / "__init__.py").exists()
            if is_module or is_package:
                _register(registry, path.stem, f"{origin} {path}", lambda p=path: _load_file(p))
    for yaml_file in [paths.shell_plugins_file] + [d / "plugins.yaml" for d, _ in plugin_dirs(settings, paths)]:
        if yaml_file.is_file():
            load_shell_plugins(registry, yaml_file)
    return registry
