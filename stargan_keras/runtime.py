"""Process-wide settings, chosen by the program that runs (an entry point or your own),
never by importing the library.

``use_onednn`` picks TensorFlow's oneDNN kernels (or its own) for the whole process; it
must run before TensorFlow is imported. ``keep_freed_memory`` keeps freed memory in the
process: glibc's defaults cost a StarGAN step its page faults.

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
import os
import sys

from absl import logging

ONEDNN_VARIABLE = "TF_ENABLE_ONEDNN_OPTS"
# G's inference on an AVX2 CPU (AMD EPYC, 128 px, tools.benchmark): oneDNN is faster at
# batch 16 (155-161 against 179-196 ms per image) and 2.1-2.7x slower at batch 1, where it
# runs convolutions through a slower kernel. Between the two nothing was measured.
ONEDNN_MIN_INFERENCE_BATCH = 16


def onednn_helps(batch: int) -> bool:
    """Whether oneDNN was measured faster for G's inference at this batch size."""
    return batch >= ONEDNN_MIN_INFERENCE_BATCH


def use_onednn(enable: bool) -> bool:
    """Ask TensorFlow for its oneDNN kernels (or its own) in this process; returns whether
    oneDNN is asked for in the end.

    TensorFlow reads ``TF_ENABLE_ONEDNN_OPTS`` once, at its import, and on its own turns
    oneDNN on only on CPUs with AVX-512 VNNI/BF16 or AMX. Measured on an AVX2 CPU (AMD
    EPYC): training's D update is 5x faster with oneDNN, G's inference at batch 1 is
    2.1-2.7x slower (``onednn_helps``). The entry points call this after parsing their
    flags and before importing TensorFlow: training, the evaluation classifier, evaluate
    (batch 64) and tools.benchmark with ``True``; translate and the demo page (one photo
    at a time) with ``False``.

    A value already in the environment (the user's own choice) wins and is left as it is.
    Called after TensorFlow was imported, the setting no longer takes effect: a warning
    says so.
    """
    value = os.environ.setdefault(ONEDNN_VARIABLE, "1" if enable else "0")
    if "tensorflow" in sys.modules:
        logging.warning("%s=%s is set after TensorFlow was imported; it takes effect only "
                        "in processes started from here", ONEDNN_VARIABLE, value)
    return value.strip().lower() in ("1", "true")

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
