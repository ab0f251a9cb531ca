"""The Chroma collections that hold the readings' chunks.

Chunks live in cosine-space collections of at most :data:`SHARD_SIZE` vectors each, the
*shards* of one index: ``readbot``, then ``readbot-2``, ``readbot-3``, … A shard is made
when the newest one is full; a small index (the shipped reading: a few dozen chunks) is
the one collection ``readbot``, exactly as before shards existed, and an index written
then opens unchanged. Writes go to the newest shard; every read (``query``,
``all_chunks``, ``chunks``, ``files``, ``count``, ``readings``) and every delete goes over
all of them and merges (``query``: the ``n`` best by score across shards, each shard asked
for its own ``n`` with the same ``where``, so the merge is what one collection would
answer). A shard that a writer's delete leaves empty is dropped (never ``readbot``, which
carries the index's flags), so re-ingesting a large file does not pile up empty shards.
Vectors are computed by readbot's :class:`~bot.knowledge.embedder.Embedder` and passed to
Chroma explicitly; each shard records which embedder built it (``readbot:embedding``) and
opening one with another is refused with a message to re-ingest, never silently mixed.

Why shards: embedded Chroma (chromadb 1.x, Rust core) loads a collection's whole HNSW
index into the process at its first use (any get, count, delete or write: ~2 KB per
384-float vector) and keeps it until the client's system stops; a smaller HNSW cache in
the Rust core does not evict it (benchmarks/bench_chroma_memory.py ``--cache 1``). With one
collection a 50 MB ingest (567,797 chunks) peaked at 1.8 GB. Closing the last client of
the folder (``client.close()``: its system stops) does free a collection's index
(``--shard N --release``), so an index opened with ``reopen`` (a process that only
writes: ``readbot ingest``) lets go of every shard it is done with: when the newest fills,
and after each older shard a read or delete went through, it closes its client, gives the
freed heap back (``malloc_trim``, also after each stored batch) and carries on with a
fresh client from ``reopen``. Such a writer holds the newest shard and at most one other,
so its memory is bounded by :data:`SHARD_SIZE`, not by what it writes
(benchmarks/results/bench_retrieval.txt). A process that answers questions keeps every
shard it has searched, as it kept the one collection (its memory grows with the index, as
before), and never swaps its client under a question in flight. With a Chroma server
(READBOT_CHROMA_URL) the shards are the same collections on the server; nothing is
released from the client side (the memory is the server's).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import BrokenInstall, ConfigError, ReadbotError
from bot.knowledge.chunking import Chunk
from bot.knowledge.embedder import Embedder
from bot.knowledge.heap import trim_heap

COLLECTION = "readbot"
SHARD_SIZE = 30_000  # vectors per collection: a writer holds about one (~2.5 KB a vector), see above
EMBEDDING_KEY = "readbot:embedding"
SEEDED_KEY = "readbot_seeded"  # the shipped reading was indexed here once
ORDERED_KEY = "readbot_section_order"  # every chunk carries its section's order (see migrate_section_order)
ADD_BATCH = 2000


class IndexMismatchError(ReadbotError):
    """The index on disk was built with another embedding model."""


class IndexDamaged(BrokenInstall):
    """The embedded index can't be read (a damaged ``chroma.sqlite3`` or segment files)."""


def _reason(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return re.sub(r"^error returned from database: \(code: \d+\) ", "", text)[:120]


def index_damaged(path: Path, exc: BaseException) -> IndexDamaged:
    return IndexDamaged(f"the index at {path} is damaged ({_reason(exc)}): run `readbot ingest --rebuild`")


def index_failure(exc: BaseException, data_dir: Path, url: str | None = None) -> ReadbotError | None:
    """What a Chroma failure means to the person (None if ``exc`` isn't one): the embedded index
    damaged, or the Chroma server failing."""
    import sqlite3

    from chromadb.errors import ChromaError

    if isinstance(exc, ReadbotError) or not isinstance(exc, ChromaError | sqlite3.DatabaseError):
        return None
    if url:
        return BrokenInstall(f"the Chroma server at {url} failed ({_reason(exc)}): check it with `readbot doctor`")
    return index_damaged(data_dir / "chroma", exc)


@dataclass(frozen=True)
class FileRecord:
    source: str
    reading: str
    document: str
    file_hash: str
    chunks: int  # -1 while the file is being ingested
    complete: bool = True


@dataclass(frozen=True)
class IndexedChunk:
    id: str
    reading: str
    chunk: Chunk


@dataclass(frozen=True)
class DenseHit:
    id: str
    score: float  # cosine similarity, 1 = same direction


def chroma_client(data_dir: Path, url: str | None = None) -> Any:
    """An embedded (persistent) Chroma client under ``data_dir``, or a server client."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if url:
        from urllib.parse import urlparse

        parsed = urlparse(url)
        return chromadb.HttpClient(
            host=parsed.hostname or "localhost",
            port=parsed.port or (443 if parsed.scheme == "https" else 8000),
            ssl=parsed.scheme == "https",
            settings=chroma_settings,
        )
    path = data_dir / "chroma"
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        forget_system(path)
        denied = isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
        if denied or "readonly" in str(exc).replace(" ", "").lower():
            raise ConfigError(
                f"READBOT_DATA_DIR={data_dir}: can't write the index there ({_reason(exc)}); "
                "make it writable or point READBOT_DATA_DIR elsewhere"
            ) from None
        raise index_damaged(path, exc) from None


def forget_system(path: Path) -> None:
    """chromadb caches a client's system by its folder before starting it, and keeps one whose start
    failed: a second client for the folder (after ``ingest --rebuild`` moved a damaged index aside)
    would get that broken system. Dropped here (a private cache: nothing happens if it changes)."""
    with contextlib.suppress(Exception):
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(str(path), None)


def _chunk_id(source: str, position: int) -> str:
    return f"{hashlib.sha1(source.encode()).hexdigest()[:16]}:{position}"


def shard_name(name: str, number: int) -> str:
    """The ``number``-th shard of the index ``name``: ``name`` itself, then ``name-2``, ``name-3``, …"""
    return name if number == 1 else f"{name}-{number}"


def shard_names(client: Any, name: str = COLLECTION) -> list[str]:
    """The shards of the index ``name`` in this Chroma, in order (none: no index yet)."""
    numbers = []
    for collection in client.list_collections():
        found = re.fullmatch(rf"{re.escape(name)}(?:-([1-9][0-9]*))?", getattr(collection, "name", collection))
        if found and found.group(1) != "1":
            numbers.append(int(found.group(1) or 1))
    return [shard_name(name, k) for k in sorted(numbers)]


def _shard_number(name: str, shard: str) -> int:
    return 1 if shard == name else int(shard.rsplit("-", 1)[1])


class KnowledgeIndex:
    def __init__(
        self,
        client: Any,
        embedder: Embedder,
        name: str = COLLECTION,
        *,
        rebuild: bool = False,
        shard_size: int | None = None,
        reopen: Callable[[], Any] | None = None,
    ) -> None:
        """``rebuild`` drops the existing shards first (the way out of a mismatch). ``reopen``: a
        fresh client of the same embedded index; given, the index lets go of the shards it is done
        with (see the module docstring). Only for a process that writes: the client is swapped.
        ``shard_size``: vectors per shard (default :data:`SHARD_SIZE`)."""
        shard_size = SHARD_SIZE if shard_size is None else shard_size
        if shard_size < 1:
            raise ValueError("shard_size must be at least 1")
        self.embedder = embedder
        self._client = client
        self._name = name
        self._shard_size = shard_size
        self._reopen = reopen
        self._newest_count: int | None = None  # vectors in the newest shard, counted on the first write
        self.releases = 0  # how many times a shard's memory was let go (what tests and benchmarks check)
        if rebuild:
            self._drop()
        self._shards = self._open()
        self.migrate_section_order()

    def _open(self) -> list[Any]:
        self.embedder.chroma_function()  # registers it, so Chroma can rebuild it
        shards = [self._client.get_collection(shard) for shard in shard_names(self._client, self._name)]
        for collection in shards:
            built_with = (collection.metadata or {}).get(EMBEDDING_KEY)
            if built_with != self.embedder.id:
                raise IndexMismatchError(
                    f"the index was built with embeddings {built_with!r} but "
                    f"READBOT_EMBEDDINGS selects {self.embedder.id!r}; re-ingest with "
                    "`readbot ingest --rebuild` (or set READBOT_EMBEDDINGS back)"
                )
        return shards or [self._create(self._name)]

    def _create(self, shard: str) -> Any:
        return self._client.create_collection(
            shard,
            metadata={EMBEDDING_KEY: self.embedder.id, ORDERED_KEY: True},
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=self.embedder.chroma_function(),
        )

    @property
    def shards(self) -> list[str]:
        """The names of the index's collections, oldest first."""
        return [c.name for c in self._shards]

    def close(self) -> None:
        """Close the Chroma client the index uses now (it may be another than the one it was given)."""
        self._client.close()

    def _release(self) -> None:
        """A writer lets go of every shard loaded so far: close the client (the last one of the
        folder: its system stops, freeing the shards' HNSW indexes), then open a fresh one."""
        if self._reopen is None:
            return
        names = self.shards
        self._shards = []
        self._client.close()
        trim_heap()
        self._client = self._reopen()
        self._shards = [self._client.get_collection(shard) for shard in names]
        self.releases += 1

    def _each(self, action: Callable[[Any], Any]) -> list[Any]:
        """``action`` on every shard, oldest first; a writer lets go of each older shard after it
        (the newest, where writes go, stays)."""
        out = []
        for i in range(len(self._shards)):
            out.append(action(self._shards[i]))
            if i < len(self._shards) - 1:
                self._release()
        return out

    def _writable(self) -> tuple[Any, int]:
        """The newest shard and how many more vectors it takes (a new shard once it is full)."""
        newest = self._shards[-1]
        if self._newest_count is None or self._newest_count >= self._shard_size:
            self._newest_count = int(newest.count())  # exact again (upserts of stored ids count twice)
        if self._newest_count >= self._shard_size:
            self._release()  # the full shard is done with
            number = _shard_number(self._name, newest.name) + 1
            newest = self._create(shard_name(self._name, number))
            self._shards.append(newest)
            self._newest_count = 0
        return newest, self._shard_size - self._newest_count

    @property
    def seeded(self) -> bool:
        """Whether the shipped reading was indexed here once (so an index emptied by removing
        readings is not filled with it again)."""
        return bool((self._shards[0].metadata or {}).get(SEEDED_KEY))

    def mark_seeded(self) -> None:
        first = self._shards[0]
        first.modify(metadata={**(first.metadata or {}), SEEDED_KEY: True})

    def migrate_section_order(self) -> int:
        """An index written before chunks carried ``section_order``: give every chunk its section's
        order in its file (from the stored positions and headings; nothing is embedded again), then
        record that it was done. Returns how many chunks were updated."""
        if all((c.metadata or {}).get(ORDERED_KEY) for c in self._shards):
            return 0
        by_source: dict[str, list[tuple[int, int, str, dict[str, Any]]]] = {}
        for number, got in enumerate(self._each(lambda c: c.get(include=["metadatas"]))):
            for cid, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
                by_source.setdefault(meta["source"], []).append((int(meta["position"]), number, cid, dict(meta)))
        updates: dict[int, tuple[list[str], list[dict[str, Any]]]] = {}
        for rows in by_source.values():
            rows.sort(key=lambda row: row[0])
            order, previous = -1, None
            for _, number, cid, meta in rows:
                if meta["section"] != previous:
                    order, previous = order + 1, meta["section"]
                if meta.get("section_order") != order:
                    meta["section_order"] = order
                    ids, metas = updates.setdefault(number, ([], []))
                    ids.append(cid)
                    metas.append(meta)
        for number, (ids, metas) in updates.items():
            for start in range(0, len(ids), ADD_BATCH):
                self._shards[number].update(
                    ids=ids[start : start + ADD_BATCH], metadatas=metas[start : start + ADD_BATCH]
                )
        for collection in self._shards:
            collection.modify(metadata={**(collection.metadata or {}), ORDERED_KEY: True})
        return sum(len(ids) for ids, _ in updates.values())

    def _drop(self) -> None:
        for shard in shard_names(self._client, self._name) or [self._name]:
            with contextlib.suppress(Exception):  # it may not exist; create below is what matters
                self._client.delete_collection(shard)

    def reset(self) -> None:
        """Drop every chunk (and the embedding record) and start an empty index of one collection."""
        self._drop()
        self._shards = []
        self._release()  # a writer lets go of the dropped shards' memory too
        self._shards = self._open()
        self._newest_count = None

    def count(self) -> int:
        return sum(self._each(lambda c: int(c.count())))

    def files(self) -> dict[str, FileRecord]:
        """Every indexed file, read from the first chunk of each (which carries its hash
        and, once the whole file is stored, its chunk count)."""
        records = {}
        for got in self._each(lambda c: c.get(where={"position": 0}, include=["metadatas"])):
            for meta in got["metadatas"] or []:
                records[meta["source"]] = FileRecord(
                    meta["source"],
                    meta["reading"],
                    meta["document"],
                    meta["file_hash"],
                    int(meta["file_chunks"]),
                    bool(meta.get("complete", True)),
                )
        return records

    def delete_file(self, source: str) -> None:
        """Drop a file's chunks from every shard. A writer also drops the shards (not the first) left
        empty; a process answering questions keeps them (a question may be reading them)."""

        def delete(collection: Any) -> bool:
            collection.delete(where={"source": source})
            return self._reopen is not None and collection.name != self._name and int(collection.count()) == 0

        emptied = self._each(delete)
        for collection, empty in zip(list(self._shards), emptied, strict=True):
            if empty:
                self._client.delete_collection(collection.name)
                self._shards.remove(collection)
                self._newest_count = None

    def stored_positions(self, source: str) -> int:
        """How many leading chunks of a file are stored (0, 1, ... without a gap): where an
        interrupted ingest of it resumes."""
        positions: set[int] = set()
        for got in self._each(lambda c: c.get(where={"source": source}, include=[])):
            positions.update(int(cid.rsplit(":", 1)[1]) for cid in got["ids"])
        n = 0
        while n in positions:
            n += 1
        return n

    def add_chunks(self, record: FileRecord, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Store one batch of a file's chunks (the first batch marks the file incomplete) in the
        newest shard, and in a new one for what a full shard can't take."""
        ids = [_chunk_id(record.source, c.position) for c in chunks]
        metadatas = [
            {
                "source": record.source,
                "reading": record.reading,
                "document": c.document,
                "section": c.section,
                "position": c.position,
                "section_order": c.section_order,
                "parent": c.parent,
                "title": c.title,
                "text": c.text,
                "file_hash": record.file_hash,
                "file_chunks": -1,
                "complete": False,
            }
            for c in chunks
        ]
        documents = [c.search_text for c in chunks]
        start = 0
        while start < len(ids):
            collection, room = self._writable()
            end = min(len(ids), start + ADD_BATCH, start + room)
            collection.upsert(
                ids=ids[start:end],
                embeddings=vectors[start:end],
                metadatas=metadatas[start:end],
                documents=documents[start:end],
            )
            self._newest_count = (self._newest_count or 0) + end - start
            start = end
        if self._reopen is not None:
            trim_heap()  # a writer's heap, freed by the embedding model and Chroma, back to the system

    def finish_file(self, record: FileRecord, chunks: int) -> None:
        """Mark a file complete: its first chunk records the chunk count (looked for in the newest
        shard first: where a file that fits in one shard was just written)."""
        first = _chunk_id(record.source, 0)
        for i in reversed(range(len(self._shards))):
            collection = self._shards[i]
            got = collection.get(ids=[first], include=["metadatas"])
            if got["ids"]:
                meta = dict(got["metadatas"][0])
                meta.update(file_chunks=chunks, complete=True)
                collection.update(ids=[first], metadatas=[meta])
            if i < len(self._shards) - 1:
                self._release()
            if got["ids"]:
                return
        raise KeyError(f"the first chunk of {record.source} is not stored")

    def replace_file(self, record: FileRecord, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """A whole file at once (its old chunks dropped first)."""
        self.delete_file(record.source)
        self.add_chunks(record, chunks, vectors)
        self.finish_file(record, len(chunks))

    def all_chunks(self) -> list[IndexedChunk]:
        out = [
            IndexedChunk(cid, meta["reading"], _chunk_from(meta))
            for got in self._each(lambda c: c.get(include=["metadatas"]))
            for cid, meta in zip(got["ids"], got["metadatas"] or [], strict=True)
        ]
        out.sort(key=lambda ic: (ic.reading, ic.chunk.document, ic.chunk.position))
        return out

    def chunks(self, ids: Sequence[str]) -> dict[str, IndexedChunk]:
        """The chunks with these ids (those still stored)."""
        if not ids:
            return {}
        return {
            cid: IndexedChunk(cid, meta["reading"], _chunk_from(meta))
            for got in self._each(lambda c: c.get(ids=list(ids), include=["metadatas"]))
            for cid, meta in zip(got["ids"], got["metadatas"] or [], strict=True)
        }

    def query(
        self, vector: np.ndarray, n: int, reading: str | None = None, *, bound: Bound | None = None
    ) -> list[DenseHit]:
        """The ``n`` nearest chunks (of ``reading``), none of them past ``bound``: the bound is part
        of Chroma's ``where``, so the ``n`` are the nearest of what the group may see. Each shard
        gives its ``n`` nearest; the ``n`` best of those are the index's."""
        where = where_clause(reading, bound)

        def nearest(collection: Any) -> list[DenseHit]:
            if n <= 0:
                return []
            # Chroma (≥ 1.5) returns what it holds when asked for more, so no count() first (~2 ms a shard)
            result = collection.query(query_embeddings=[vector], n_results=n, include=["distances"], where=where)
            return [
                DenseHit(cid, 1.0 - float(dist))
                for cid, dist in zip(result["ids"][0], result["distances"][0], strict=True)
            ]

        hits = [hit for shard_hits in self._each(nearest) for hit in shard_hits]
        if len(self._shards) > 1:
            hits.sort(key=lambda hit: -hit.score)
        return hits[: max(n, 0)]

    def readings(self) -> list[str]:
        return sorted({r.reading for r in self.files().values()})


@dataclass(frozen=True)
class Bound:
    """How far a group has read ``reading``: chunks of it whose section comes after
    ``section_order`` are out of bounds (every other reading is not limited)."""

    reading: str
    section_order: int


def where_clause(reading: str | None, bound: Bound | None = None) -> dict[str, Any] | None:
    """Chroma's ``where`` for a search of ``reading`` (None: every reading) within ``bound``."""
    if bound is None:
        return {"reading": reading} if reading else None
    within = {"section_order": {"$lte": bound.section_order}}
    if reading == bound.reading:
        return {"$and": [{"reading": reading}, within]}
    if reading:
        return {"reading": reading}  # another reading than the bound one: nothing of it is limited
    return {"$or": [{"reading": {"$ne": bound.reading}}, within]}


def _chunk_from(meta: dict[str, Any]) -> Chunk:
    return Chunk(
        document=meta["document"],
        section=meta["section"],
        position=int(meta["position"]),
        text=meta["text"],
        parent=meta.get("parent", ""),
        title=meta.get("title", ""),
        section_order=int(meta.get("section_order", 0)),
    )


def sources_under(records: Iterable[FileRecord], roots: Sequence[Path]) -> list[str]:
    resolved = [r.resolve() for r in roots]
    out = []
    for rec in records:
        path = Path(rec.source)
        if any(path == root or root in path.parents for root in resolved):
            out.append(rec.source)
    return out
