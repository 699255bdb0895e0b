"""Reading a program's pseudo-terminal output in tests (the REPL needs a terminal)."""

from __future__ import annotations

import os
import select
import time


def read_until(fd: int, wanted: bytes, seconds: float, seen: bytearray) -> bool:
    """Append what `fd` prints to `seen` until `wanted` appears (True) or `seconds` pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and wanted not in seen:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen.extend(os.read(fd, 65536))
            except OSError:  # the program closed the terminal
                break
    return wanted in seen
