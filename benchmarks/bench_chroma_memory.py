"""Where the memory of a large ingest goes: resident memory of an embedded Chroma
collection as vectors are added, without the embedding model.

    python benchmarks/bench_chroma_memory.py [--batches 300] [--hnsw default|small|big]

Adds batches of 256 random unit vectors of the bundled model's size (384 floats), each
with a short document and metadata, to a persistent collection configured as readbot's
(cosine HNSW), and prints resident memory every 100 batches. The slope is the cost of one
stored vector in the process that writes (and in any process that searches the index):
embedded Chroma keeps the whole HNSW index in memory. ``--hnsw small|big`` changes
Chroma's ``batch_size``/``sync_threshold`` (how many vectors wait in the brute-force
buffer before they join the HNSW graph, and how often it is written out).
"""

from __future__ import annotations

import argparse
import tempfile
import time

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
    args = parser.parse_args()
    hnsw: dict[str, object] = {"space": "cosine"}
    if args.hnsw == "small":
        hnsw.update(batch_size=100, sync_threshold=100)
    elif args.hnsw == "big":
        hnsw.update(batch_size=10000, sync_threshold=50000)
    client = chromadb.PersistentClient(path=tempfile.mkdtemp(prefix="readbot-chroma-memory-"))
    collection = client.create_collection("memory", configuration={"hnsw": hnsw}, embedding_function=None)
    rng = np.random.default_rng(0)
    start = resident_mb()
    print(f"hnsw {args.hnsw}: start {start:.0f} MB", flush=True)
    t, n = time.perf_counter(), 0
    for step in range(args.batches):
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
