"""Where the memory of a large ingest goes: resident memory of an embedded Chroma
collection as vectors are added, without the embedding model.

    python benchmarks/bench_chroma_memory.py [--batches 300] [--hnsw default|small|big]
        [--shard VECTORS [--release] [--cache N]]

Adds batches of 256 random unit vectors of the bundled model's size (384 floats), each
with a short document and metadata, to a persistent collection configured as readbot's
(cosine HNSW), and prints resident memory every 100 batches. The slope is the cost of one
stored vector in the process that writes (and in any process that searches the index):
embedded Chroma keeps the whole HNSW index in memory. ``--hnsw small|big`` changes
Chroma's ``batch_size``/``sync_threshold`` (how many vectors wait in the brute-force
buffer before they join the HNSW graph, and how often it is written out).

``--shard VECTORS`` starts a new collection every VECTORS vectors (readbot's shards);
with ``--release`` the client is closed when a collection is full (its system stops)
and the heap trimmed, then a fresh client opened, as readbot's ingest does: resident
memory then stays at about one shard's worth. ``--cache N`` sets the Rust core's HNSW
cache size instead (the number of collection indexes it keeps; default NOFILE / 5).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import tempfile
import time
from typing import Any

import chromadb
import numpy as np

DIMENSIONS = 384
BATCH = 256


def resident_mb() -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS"))
    return int(line.split()[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--hnsw", choices=["default", "small", "big"], default="default")
    parser.add_argument("--shard", type=int, default=0, help="vectors per collection (0: one collection)")
    parser.add_argument("--release", action="store_true", help="close the client when a collection is full")
    parser.add_argument("--cache", type=int, default=0, help="the Rust core's HNSW cache size (0: its default)")
    args = parser.parse_args()
    hnsw: dict[str, object] = {"space": "cosine"}
    if args.hnsw == "small":
        hnsw.update(batch_size=100, sync_threshold=100)
    elif args.hnsw == "big":
        hnsw.update(batch_size=10000, sync_threshold=50000)
    if args.cache:
        from chromadb.api.rust import RustBindingsAPI

        init = RustBindingsAPI.__init__

        def small_cache(self: Any, system: Any) -> None:
            init(self, system)
            self.hnsw_cache_size = args.cache

        RustBindingsAPI.__init__ = small_cache  # type: ignore[method-assign]
    path = tempfile.mkdtemp(prefix="readbot-chroma-memory-")
    client = chromadb.PersistentClient(path=path)

    def new_collection(number: int) -> Any:
        return client.create_collection(f"memory-{number}", configuration={"hnsw": hnsw}, embedding_function=None)

    shards = 1
    collection = new_collection(shards)
    rng = np.random.default_rng(0)
    start = resident_mb()
    print(
        f"hnsw {args.hnsw}, shard {args.shard or 'none'}, release {args.release}, cache {args.cache or 'default'}: "
        f"start {start:.0f} MB",
        flush=True,
    )
    t, n = time.perf_counter(), 0
    for step in range(args.batches):
        if args.shard and n and n % args.shard == 0:
            full = resident_mb()
            if args.release:
                del collection
                client.close()
                gc.collect()
                ctypes.CDLL("libc.so.6").malloc_trim(0)
                client = chromadb.PersistentClient(path=path)
            shards += 1
            collection = new_collection(shards)
            print(f"collection {shards - 1} full at {full:.0f} MB; next one started at {resident_mb():.0f} MB")
        vectors = rng.standard_normal((BATCH, DIMENSIONS)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        collection.add(
            ids=[str(n + i) for i in range(BATCH)],
            embeddings=vectors,
            metadatas=[{"text": "x" * 60, "reading": "r"}] * BATCH,
            documents=["y" * 60] * BATCH,
        )
        n += BATCH
        if step % 100 == 99:
            now = resident_mb()
            print(
                f"{n} vectors: {now:.0f} MB ({(now - start) * 1024 / n:.2f} KB per vector), "
                f"{time.perf_counter() - t:.0f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
