"""Every shell command printed in README.md and docs/getting-started.md works as printed.

The commands run in document order through bash, from the repository root, with the test venv's `bin` on PATH
(the tour says to put `.venv/bin` there) and a private XDG directory, so `meshctl demo up --detach` starts a demo
that the later commands (status, curl, xds status, failover) talk to and `meshctl demo down` stops. Three kinds of
line are not run here, each for a reason the tests below check:
- the README's two install commands: they are `.ci/run` itself, which CI runs from a clean clone;
- `meshctl tui --demo`: the real console in a real terminal is tests/tui/test_tmux.py;
- the REPL (`meshctl test-route` with no request) needs a terminal: it runs here on a pseudo-terminal.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pseudo_terminal import read_until

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = ("README.md", "docs/getting-started.md")
TEST_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -c requirements.lock -e '.[test]' && .venv/bin/python -m pytest"
TUI_COMMAND = "python3 -m venv .venv && .venv/bin/pip install -c requirements.lock -e '.[test]' && .venv/bin/meshctl tui --demo"
REPL = re.compile(r"^meshctl test-route( --demo| \S+)*\s*(#.*)?$")  # no METHOD/URL: the interactive sandbox


def shell_commands(document: str) -> list[str]:
    """The command lines of the document's ```sh blocks (comment-only and blank lines dropped)."""
    commands, inside = [], False
    for line in (REPO / document).read_text().splitlines():
        if line.startswith("```"):
            inside = line.strip() == "```sh" if not inside else False
        elif inside and line.strip() and not line.lstrip().startswith("#"):
            commands.append(line.strip())
    return commands


def is_install(command: str) -> bool:
    return "pip install" in command


def is_repl(command: str) -> bool:
    return bool(REPL.match(command)) and "http" not in command and "--file" not in command


def test_documents_have_commands() -> None:
    for document in DOCUMENTS:
        assert shell_commands(document), f"{document} has no ```sh block: the parser no longer finds them"


def test_install_commands_are_the_ones_ci_runs() -> None:
    """The install lines are exactly the README's two, and .ci/run runs the test one verbatim."""
    for document in DOCUMENTS:
        installs = [c for c in shell_commands(document) if is_install(c)]
        assert installs == [TUI_COMMAND, TEST_COMMAND], document
    assert TEST_COMMAND in (REPO / ".ci/run").read_text().splitlines()
    # the console part of the first command is the real program that test_tmux starts in a terminal
    assert "meshctl.cli.main tui --demo" in (REPO / "tests/tui/test_tmux.py").read_text()


@pytest.fixture
def shell_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "TERM": "xterm", "COLUMNS": "200"}
    for name in ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        env[name] = str(tmp_path / name.lower())
    yield env
    # stop whatever the commands started, also when one of them failed half-way
    subprocess.run(["meshctl", "demo", "down"], env=env, cwd=REPO, capture_output=True, timeout=120)


@pytest.mark.envoy
@pytest.mark.slow
def test_every_command_runs_as_printed(shell_env: dict[str, str]) -> None:
    ran: list[str] = []
    for document in DOCUMENTS:
        for command in shell_commands(document):
            if is_install(command):
                continue
            if is_repl(command):
                run_repl(command, shell_env)
            else:
                done = subprocess.run(["bash", "-c", command], env=shell_env, cwd=REPO, capture_output=True,
                                      text=True, timeout=240)
                assert done.returncode == 0, (f"{document}: `{command}` exited {done.returncode}\n"
                                              f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}")
            ran.append(command)
    # the tour talks to a real demo: the curl through the gateway and `xds status` both ran against it
    assert any(c.startswith("meshctl demo up") for c in ran) and ran[-1].startswith("meshctl demo down")
    assert any(c.startswith("curl") for c in ran) and any(c.startswith("meshctl xds status") for c in ran)


def run_repl(command: str, env: dict[str, str]) -> None:
    """The REPL on a pseudo-terminal: it must show its prompt and leave with status 0 on `:quit`."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(["bash", "-c", command], stdin=slave, stdout=slave, stderr=slave, env=env, cwd=REPO,
                            close_fds=True)
    os.close(slave)
    seen = bytearray()
    try:
        assert read_until(master, b"test-route>", 30, seen), seen.decode(errors="replace")
        os.write(master, b":quit\r")
        assert proc.wait(timeout=15) == 0, seen.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        os.close(master)

