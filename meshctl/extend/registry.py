"""Plugin commands: how a plugin declares a command (name, help, typed arguments, mutating) and how we collect them."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

ArgType = type  # str, int, float, bool


@dataclass(frozen=True)
class Arg:
    """One argument of a plugin command. Names starting with '-' are options; others are positional."""

    name: str
    help: str = ""
    type: ArgType = str
    default: Any = None
    required: bool = False
    choices: tuple[Any, ...] | None = None
    multiple: bool = False  # positional: nargs='*'; option: repeatable

    @property
    def dest(self) -> str:
        return self.name.lstrip("-").replace("-", "_")

    @property
    def is_option(self) -> bool:
        return self.name.startswith("-")


@dataclass(frozen=True)
class LazyTarget:
    """A command's `module:function`, imported at the first call: declaring and listing commands imports nothing."""

    spec: str

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        module, _, function = self.spec.partition(":")
        return getattr(importlib.import_module(module), function)(*args, **kwargs)


@dataclass
class PluginCommand:
    name: str
    help: str
    run: Callable[..., Any]  # run(api, args) -> int | None
    args: tuple[Arg, ...] = ()
    mutating: bool = False
    example: str = ""
    plugin: str = ""  # the plugin (module) that declared it
    origin: str = ""  # entry point / project plugins dir / user plugins dir / shell plugins file
    shortcut: str = ""  # TUI key (shell plugins)
    shell: dict[str, Any] | None = None  # the YAML declaration of a shell-command plugin


@dataclass
class PluginLoadError:
    plugin: str
    origin: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"plugin": self.plugin, "origin": self.origin, "message": self.message}


@dataclass
class PluginRegistry:
    commands: dict[str, PluginCommand] = field(default_factory=dict)
    errors: list[PluginLoadError] = field(default_factory=list)
    plugins: dict[str, str] = field(default_factory=dict)  # plugin name -> origin
    _current: tuple[str, str] = ("", "")

    def command(self, name: str, help: str, args: list[Arg] | tuple[Arg, ...] = (), mutating: bool = False,
                example: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator used inside a plugin's `register(registry)`."""

        def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.add(PluginCommand(name, help, fn, tuple(args), mutating, example))
            return fn

        return wrap

    def declare(self, name: str, help: str, target: str, args: list[Arg] | tuple[Arg, ...] = (),
                mutating: bool = False, example: str = "") -> None:
        """Declare a command whose code (`target`, "module:function") is imported only when the command runs."""
        self.add(PluginCommand(name, help, LazyTarget(target), tuple(args), mutating, example))

    def add(self, cmd: PluginCommand) -> None:
        plugin, origin = self._current
        cmd.plugin = cmd.plugin or plugin
        cmd.origin = cmd.origin or origin
        if cmd.name in self.commands:
            other = self.commands[cmd.name]
            self.errors.append(PluginLoadError(cmd.plugin, cmd.origin,
                                               f"command {cmd.name!r} is already provided by plugin {other.plugin!r}"))
            return
        self.commands[cmd.name] = cmd
