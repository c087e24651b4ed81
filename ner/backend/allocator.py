"""Process-wide tuning of the C allocator for training and decoding on the CPU.

XLA's CPU runtime (JAX) allocates each step's buffers afresh: one temporary arena per step (36 MiB for a
training batch of 32 x 24 words of bilstm-cnn + CRF), the dense gradient of the word embedding (7.5 MiB
on CoNLL-2003) and the optimizer's new slots. glibc serves blocks above its mmap threshold (adaptive, at
most 32 MiB) with a fresh ``mmap`` and unmaps them on free, and trims freed memory at the top of the heap,
so every step pays a page fault per 4 KiB page it writes. Raising the threshold and never trimming keeps
those pages mapped. ``bench/speed.py --malloc default`` measures training without it; bench/README.md
gives the figures.
"""

from __future__ import annotations

import ctypes
import functools
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 1 << 30
"""Blocks up to 1 GiB come from the heap instead of their own mmap (bytes)."""


@functools.cache
def keep_freed_memory() -> bool:
    """Serve blocks up to ``MMAP_THRESHOLD`` bytes from the heap and never return freed heap memory to the
    system (glibc ``mallopt``). Idempotent; True when applied, False where the C library is not glibc.

    Costs resident memory: the process keeps its peak heap until it exits, as long-running training
    processes do anyway.
    """
    return sys.platform.startswith("linux") and _mallopt()


def _mallopt() -> bool:
    try:
        mallopt = ctypes.CDLL(None).mallopt   # the C library already loaded; no library search at start-up
    except AttributeError:                    # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
