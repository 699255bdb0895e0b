"""The REPL's bottom toolbar: gateway, client locality, output mode, sticky headers, config state."""

from __future__ import annotations

import time

from .state import ReplState


def toolbar_text(state: ReplState) -> str:
    gateway = state.gateway or "auto (by host)"
    parts = [f"gateway: {gateway}", f"from: {state.locality or '-'}", f"output: {state.output}"]
    if state.headers:
        parts.append(f"headers: {len(state.headers)}")
    config = f"config: {state.config.name or '-'}"
    if state.last_reload_at is not None:
        config += f" (reloaded {time.strftime('%H:%M:%S', time.localtime(state.last_reload_at))})"
    parts.append(config)
    parts.append(":help")
    return " " + "  │  ".join(parts)
