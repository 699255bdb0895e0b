"""Plugin support: declare commands with a `register(registry)` function; they receive a `MeshctlAPI`."""

from .api import MeshctlAPI, Output, ReadOnlyError
from .registry import Arg, PluginCommand, PluginRegistry

__all__ = ["Arg", "MeshctlAPI", "Output", "PluginCommand", "PluginRegistry", "ReadOnlyError"]
