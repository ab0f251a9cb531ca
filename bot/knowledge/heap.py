"""Giving freed heap back to the system.

glibc keeps memory a process has freed for its own later use. Loading an ONNX model frees a
lot at once (the embedding model's int8 weights are folded to float32 at load, through
copies), so without a trim ``readbot ask`` would carry ~80 MB it no longer uses for its
whole life (measured: after the embedding model 264 → 204 MB, after the cross-encoder
268 → 249 MB)."""

from __future__ import annotations

import contextlib
import ctypes
import sys


def trim_heap() -> None:
    """Return freed heap to the system (glibc's ``malloc_trim``; elsewhere nothing to do)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


M_ARENA_MAX = -8  # glibc's mallopt() parameter number
WRITER_ARENAS = 2


def limit_arenas(arenas: int = WRITER_ARENAS) -> None:
    """Let glibc keep at most ``arenas`` malloc arenas in this process (default: 8 per core).

    Each thread that allocates (onnxruntime's pool, Chroma's) can get an arena of its own, and
    freed memory inside one is not reused by the others: 27 MB into a 50 MB ingest, seven
    anonymous mappings of up to 64 MB (an arena's size) held 25–45 MB each, and the process's
    low point crept up shard after shard. Set at the start of
    ``readbot ingest``, before those threads exist; elsewhere nothing to do."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, arenas)
