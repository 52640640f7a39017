"""Keeping freed heap memory in the process, so large output columns reuse warm pages.

The sub-GC output cache keeps every new column until it is flushed. With columns of tens of kilobytes and
more (tables of thousands of rows), glibc's defaults hand freed memory back to the kernel (heap trimming)
and serve allocations from 128 KB up with fresh `mmap`s, so nearly every new column lands on pages the
kernel must fault in and zero one by one — which costs several times the numpy operation that fills the
column. Raising glibc's trim and mmap thresholds keeps that memory in the process's heap for reuse. It only
changes where freed memory waits; it never grows what the cache may hold (its byte budget still applies).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# glibc caps the mmap threshold at 32 MB on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX).
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024
# Columns smaller than this gain nothing: glibc already serves and reuses them from its bins.
LARGE_COLUMN_BYTES = 32 * 1024

_kept: int = 0


def keep_freed_memory(trim_bytes: int) -> bool:
    """Let the heap keep up to `trim_bytes` of freed memory (glibc only); True if the setting took effect.

    Called once per process with the largest output-cache budget seen; a smaller later budget leaves it.
    """
    global _kept
    if trim_bytes <= _kept:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt): keep the defaults
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    trim = min(int(trim_bytes), 2**31 - 1)
    if not mallopt(_M_TRIM_THRESHOLD, trim) or not mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX):
        return False
    _kept = trim
    return True
