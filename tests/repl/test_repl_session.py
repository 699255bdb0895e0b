"""The prompt_toolkit session in-process (pipe input, DummyOutput): answers, completion, history, auto reload."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from meshctl.repl.session import history_path, run_repl_async
from meshctl.repl.state import ReplState

UP = "\x1b[A"


async def session(state: ReplState, keys: list[str | float], history: Path, poll: float = 0.1) -> list[str]:
    """Run the REPL over `keys` (text to type, or a pause in seconds) and return what it printed."""
    out: list[str] = []
    with create_pipe_input() as inp, create_app_session(input=inp, output=DummyOutput()):
        async def typist() -> None:
            for k in keys:
                if isinstance(k, float):
                    await asyncio.sleep(k)
                else:
                    inp.send_text(k)
                    await asyncio.sleep(0.05)

        typing = asyncio.ensure_future(typist())
        status = await asyncio.wait_for(run_repl_async(state, write=out.append, history_file=history,
                                                       poll_interval=poll), timeout=30)
        await typing
    assert status == 0
    return out


async def test_answers_and_commands_then_quit(state: ReplState, tmp_path: Path) -> None:
    out = await session(state, ["GET http://www.example.com/reviews/v1/version\r", ":json\r", "/ratings/1\r",
                                ":quit\r"], tmp_path / "h")
    assert out[0].startswith("meshctl test-route: 1 gateway(s), 6 route(s)")
    assert "direct response 200, body 'v1'" in out[1]
    assert out[2] == "output: json"
    assert '"upstreamPath": "/ratings/1"' in out[3]


async def test_tab_completes_the_path(state: ReplState, tmp_path: Path) -> None:
    out = await session(state, ["GET http://www.example.com/reviews/v2/ver\t", "\r", ":quit\r"], tmp_path / "h")
    assert any("request   GET http://www.example.com/reviews/v2/version" in o for o in out), out
    assert any("body 'v2'" in o for o in out)


async def test_history_is_kept_and_recalled(state: ReplState, tmp_path: Path) -> None:
    history = tmp_path / "state" / "meshctl" / "test-route-history"
    await session(state, ["GET http://www.example.com/reviews/v3\r", ":quit\r"], history)
    assert "+GET http://www.example.com/reviews/v3" in history.read_text()
    out = await session(state, [UP, UP, "\r", ":quit\r"], history)  # ↑↑ skips ":quit" back to the request
    assert any("'custom not found'" in o for o in out), out


async def test_ctrl_c_keeps_the_session_and_ctrl_d_ends_it(state: ReplState, tmp_path: Path) -> None:
    out = await session(state, ["GET http://www.exa", "\x03", ":routes\r", "\x04"], tmp_path / "h")
    assert any("v1-version" in o for o in out)  # :routes still answered after Ctrl-C


async def test_config_reloads_while_waiting_at_the_prompt(state: ReplState, config_dir: Path, tmp_path: Path) -> None:
    tables = config_dir / "route-tables.yaml"

    async def edit_later() -> None:
        await asyncio.sleep(0.4)
        tables.write_text(tables.read_text().replace("'custom not found'", "'gone fishing'"))
        st = tables.stat()
        os.utime(tables, (st.st_atime, st.st_mtime + 5))

    editing = asyncio.ensure_future(edit_later())
    out = await session(state, ["GET http://www.example.com/reviews/v3\r", 1.2,
                                "GET http://www.example.com/reviews/v3\r", ":quit\r"], tmp_path / "h", poll=0.1)
    await editing
    reloaded = [o for o in out if o.startswith("↻ config reloaded (files changed)")]
    assert len(reloaded) == 1, out
    assert out.index(reloaded[0]) < len(out) - 1
    assert "'custom not found'" in out[1] and "'gone fishing'" in out[-1]


def test_history_lives_in_the_xdg_state_dir(tmp_path: Path) -> None:
    assert history_path({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "meshctl" / "test-route-history"
    default = history_path({})
    assert default == Path(os.path.expanduser("~")) / ".local" / "state" / "meshctl" / "test-route-history"
