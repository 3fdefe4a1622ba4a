"""Keep freed memory in the process: glibc's defaults cost a StarGAN step its page faults.

glibc serves blocks of more than its mmap threshold (up to 32 MiB) with fresh ``mmap``
calls and returns them to the system on ``free``, and trims the heap's free top beyond
128 KiB. A training step allocates and frees the same large activations every time, so
every step page-faults and zero-fills them again. ``keep_freed_memory`` does in-process
what ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=<large> MALLOC_ARENA_MAX=1`` do from
the environment: large blocks come from the one heap and freed memory stays there for
the next step. Memory use then stays at its peak instead of shrinking between steps.
"""

from __future__ import annotations

import ctypes
import ctypes.util

from absl import logging

# From glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
M_ARENA_MAX = -8
# mallopt takes an int; 2 GiB - 1 keeps any realistic free heap top.
NEVER_TRIM = 2**31 - 1


def keep_freed_memory() -> bool:
    """Apply the settings; False (and a log line) where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        logging.info("malloc settings not applied: no glibc mallopt (%s)", name)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # One arena: TensorFlow's worker threads otherwise get arenas of their own, whose
    # heaps are unmapped when emptied whatever the trim threshold (measured: 200k page
    # faults per 64 px D update with the two settings alone, 3k-40k with this one too).
    settings = ((M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, NEVER_TRIM), (M_ARENA_MAX, 1))
    return all(mallopt(option, value) == 1 for option, value in settings)
