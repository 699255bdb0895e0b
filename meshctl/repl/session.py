"""The prompt_toolkit session: history in the XDG state dir, completion, toolbar, automatic config reload."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from prompt_toolkit import PromptSession
from prompt_toolkit.application import run_in_terminal
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, History, InMemoryHistory

from .commands import handle_line, vocabulary
from .completer import complete
from .state import ReplState
from .toolbar import toolbar_text

PROMPT = "test-route> "


def history_path(env: Mapping[str, str] | None = None) -> Path:
    """$XDG_STATE_HOME/meshctl/test-route-history (default ~/.local/state)."""
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "meshctl" / "test-route-history"


def open_history(path: Path | None) -> History:
    """File history, or in-memory history when the state dir cannot be written (read-only home)."""
    if path is None:
        return InMemoryHistory()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    except OSError:
        return InMemoryHistory()
    return FileHistory(str(path))


class ReplCompleter(Completer):
    """Adapts the pure `complete()` to prompt_toolkit, reading the state's current vocabulary."""

    def __init__(self, state: ReplState) -> None:
        self.state = state

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        for s in complete(document.text_before_cursor, vocabulary(self.state)):
            yield Completion(s.text, start_position=s.start, display_meta=s.meta)


def build_session(state: ReplState, history: History, **prompt_kwargs: Any) -> PromptSession[str]:
    return PromptSession(
        history=history,
        completer=ReplCompleter(state),
        complete_while_typing=False,
        bottom_toolbar=lambda: toolbar_text(state),
        refresh_interval=1.0,
        **prompt_kwargs,
    )


async def _watch_config(state: ReplState, session: PromptSession[str], write: Callable[[str], None],
                        interval: float) -> None:
    """Reload in the background when files change, and say so above the prompt."""
    while True:
        await asyncio.sleep(interval)
        message = state.check_reload(settle=True)
        if message is None:
            continue
        app = session.app
        if app.is_running:
            await run_in_terminal(lambda message=message: write(message))
            app.invalidate()
        else:
            write(message)


async def run_repl_async(state: ReplState, *, write: Callable[[str], None] | None = None,
                         history_file: Path | None = None, poll_interval: float = 0.5,
                         **prompt_kwargs: Any) -> int:
    """Read lines until :quit or end of input. Returns the exit status (0)."""
    out = write or (lambda text: print(text, flush=True))
    session = build_session(state, open_history(history_file), **prompt_kwargs)
    watcher = asyncio.ensure_future(_watch_config(state, session, out, poll_interval))
    out(f"meshctl test-route: {len(state.sandbox.gateways)} gateway(s), {len(state.sandbox.all_routes())} "
        f"route(s) from {state.config.name or 'the configuration'}. :help for commands, Ctrl-D to leave.")
    try:
        while True:
            message = state.check_reload()
            if message:
                out(message)
            try:
                line = await session.prompt_async(PROMPT)
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            reply = handle_line(state, line)
            if reply.text:
                out(reply.text)
            if reply.quit:
                break
    finally:
        watcher.cancel()
        try:
            await watcher
        except asyncio.CancelledError:
            pass
    return 0


def run_repl(state: ReplState, **kwargs: Any) -> int:
    return asyncio.run(run_repl_async(state, **kwargs))
