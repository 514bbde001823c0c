"""The C heap's free pages given back to the system between outputs (glibc's ``malloc_trim``).

Python keeps texts and containers larger than 512 bytes in glibc's heap. When an output lets them go (the
findings' and actions' details read as text, a form's fields), glibc keeps the freed pages resident for the
next allocation, and the next output's polars frames and DuckDB's buffers, which have allocators of their
own, never reuse them. At 1,000,000 employees 240 MB sat there while the transfer forms' pages were built.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _trim():
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None


def release_freed_memory() -> bool:
    """Return the heap's free pages to the system; False where the C library cannot (not glibc)."""
    trim = _trim()
    if trim is None:
        return False
    trim(0)
    return True
