"""ner.backend.allocator: freed large blocks stay mapped, so reusing them costs no page faults."""

import subprocess
import sys

import pytest

from ner.backend.allocator import keep_freed_memory

PROBE = """
import ctypes, resource, sys
if sys.argv[1] == "tuned":
    from ner.backend.allocator import keep_freed_memory
    assert keep_freed_memory()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
size = 40 << 20   # above the largest mmap threshold glibc adapts to by itself (32 MiB)
faults = []
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)   # touch every page, as XLA's buffers are written
    libc.free(block)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(sum(faults[1:]))
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_reused_blocks_do_not_fault_again():
    pages = (40 << 20) // 4096 * 4           # four 40 MiB blocks after the first
    assert _faults("default") > pages // 2   # glibc's default: a fresh mmap each time
    assert _faults("tuned") < pages // 20    # the heap keeps the pages: reused without faults


def test_idempotent():
    assert keep_freed_memory() == keep_freed_memory()
