"""Hand memory freed by a model swap back to the OS (glibc's malloc_trim; a no-op elsewhere)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading
from typing import Any

_libc: Any = None


def _malloc_trim() -> Any:
    global _libc
    if _libc is None:
        _libc = False
        if sys.platform.startswith("linux"):
            try:
                lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                _libc = lib if hasattr(lib, "malloc_trim") else False  # glibc only (not musl)
            except OSError:
                pass
    return _libc.malloc_trim if _libc else None


def trim_freed_memory(background: bool = True) -> bool:
    """Ask glibc to return free heap pages (the previous model's large blocks); True when it can.

    CPython's own small-object arenas are returned only when empty, which this cannot change; the large
    blocks (lists, dict tables, file texts) live in malloc's heaps, where freed pages stay resident until
    trimmed. ctypes releases the GIL for the call; in the background the UI thread does not wait at all."""
    trim = _malloc_trim()
    if trim is None:
        return False
    if background:
        threading.Thread(target=trim, args=(0,), name="malloc-trim", daemon=True).start()
    else:
        trim(0)
    return True
