"""Give memory freed by a finished request back to the operating system.

Each request allocates and frees hundreds of megabytes (audio features, motion, frames) from
two worker threads. glibc keeps freed blocks in per-thread arenas, so a long-running server's
resident size creeps up and swings by the size of the last request even though nothing is
held. ``malloc_trim(0)`` returns the free pages of every arena; where the C library has no
such call (musl, macOS) nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


def return_freed_memory() -> bool:
    """Return freed heap pages to the OS; whether the C library could (glibc only)."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
