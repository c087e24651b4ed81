"""ner.backend.allocator: freed large blocks stay mapped, so reusing them costs no page faults."""

import json
import subprocess
import sys

import pytest

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


HEAP = """
import ctypes, json, sys

class Mallinfo2(ctypes.Structure):   # glibc >= 2.33
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Mallinfo2
libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
applied = []
if sys.argv[1] == "tuned":
    from ner.backend.allocator import keep_freed_memory
    applied = [keep_freed_memory(), keep_freed_memory()]
before = libc.mallinfo2()
block = libc.malloc(40 << 20)
held = libc.mallinfo2()
libc.free(block)
after = libc.mallinfo2()
print(json.dumps({"applied": applied, "own_mmap": held.hblks - before.hblks, "heap_grew": held.arena - before.arena,
                  "heap_kept": after.arena - before.arena}))
"""


def _heap(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", HEAP, mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_both_settings_take_effect_and_a_second_call_keeps_them():
    """glibc's own counters (mallinfo2), no timing: by default a 40 MiB block is a mapping of its own; after
    keep_freed_memory() (called twice, True both times) it comes from the heap (M_MMAP_THRESHOLD) and the heap
    keeps its pages once it is freed (M_TRIM_THRESHOLD: glibc would otherwise give the free top back)."""
    size = 40 << 20
    default = _heap("default")
    assert default["applied"] == [] and default["own_mmap"] == 1 and default["heap_grew"] < size
    tuned = _heap("tuned")
    assert tuned["applied"] == [True, True]
    assert tuned["own_mmap"] == 0 and tuned["heap_grew"] >= size   # served from the heap
    assert tuned["heap_kept"] >= size                                # and not trimmed after free
