"""`meshctl test-route` with no REQUEST on a terminal opens the REPL (real CLI on a pseudo-terminal)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from pseudo_terminal import read_until

REPO_ROOT = Path(__file__).resolve().parents[2]



@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_cli_opens_the_repl_on_a_terminal(tmp_path: Path) -> None:
    master, slave = pty.openpty()
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "TERM": "xterm", "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "meshctl.cli.main", "test-route", "--demo",
                             "--from-locality", "us-east-2"], stdin=slave, stdout=slave, stderr=slave, env=env,
                            cwd=REPO_ROOT, close_fds=True)
    os.close(slave)
    seen = bytearray()
    try:
        assert read_until(master, b"test-route>", 20, seen), seen.decode(errors="replace")
        os.write(master, b"GET http://www.example.com/reviews/v3\r")
        assert read_until(master, b"custom not found", 10, seen)
        os.write(master, b":from-locality\r")  # the option reached the session
        assert read_until(master, b"from-locality: us-east-2", 10, seen)
        os.write(master, b":quit\r")
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        os.close(master)
    history = (tmp_path / "meshctl" / "test-route-history").read_text()
    assert "+GET http://www.example.com/reviews/v3" in history
