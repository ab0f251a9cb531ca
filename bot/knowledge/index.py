"""The Chroma collection that holds the readings' chunks.

One collection, ``readbot``, in cosine space. Vectors are computed by readbot's
:class:`~bot.knowledge.embedder.Embedder` and passed to Chroma explicitly; the
collection records which embedder built it (``readbot:embedding``) and opening it with
another is refused with a message to re-ingest, never silently mixed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import BrokenInstall, ConfigError, ReadbotError
from bot.knowledge.chunking import Chunk
from bot.knowledge.embedder import Embedder

COLLECTION = "readbot"
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


class KnowledgeIndex:
    def __init__(self, client: Any, embedder: Embedder, name: str = COLLECTION, *, rebuild: bool = False) -> None:
        """``rebuild`` drops the existing collection first (the way out of a mismatch)."""
        self.embedder = embedder
        self._client = client
        self._name = name
        if rebuild:
            self._drop()
        self._collection = self._open()
        self.migrate_section_order()

    def _open(self) -> Any:
        function = self.embedder.chroma_function()  # registers it, so Chroma can rebuild it
        existing = {c.name if hasattr(c, "name") else c for c in self._client.list_collections()}
        if self._name in existing:
            collection = self._client.get_collection(self._name)
            built_with = (collection.metadata or {}).get(EMBEDDING_KEY)
            if built_with != self.embedder.id:
                raise IndexMismatchError(
                    f"the index was built with embeddings {built_with!r} but "
                    f"READBOT_EMBEDDINGS selects {self.embedder.id!r}; re-ingest with "
                    "`readbot ingest --rebuild` (or set READBOT_EMBEDDINGS back)"
                )
            return collection
        return self._client.create_collection(
            self._name,
            metadata={EMBEDDING_KEY: self.embedder.id, ORDERED_KEY: True},
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=function,
        )

    @property
    def seeded(self) -> bool:
        """Whether the shipped reading was indexed here once (so an index emptied by removing
        readings is not filled with it again)."""
        return bool((self._collection.metadata or {}).get(SEEDED_KEY))

    def mark_seeded(self) -> None:
        self._collection.modify(metadata={**(self._collection.metadata or {}), SEEDED_KEY: True})

    def migrate_section_order(self) -> int:
        """An index written before chunks carried ``section_order``: give every chunk its section's
        order in its file (from the stored positions and headings; nothing is embedded again), then
        record that it was done. Returns how many chunks were updated."""
        if (self._collection.metadata or {}).get(ORDERED_KEY):
            return 0
        got = self._collection.get(include=["metadatas"])
        by_source: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
        for cid, meta in zip(got["ids"], got["metadatas"] or [], strict=True):
            by_source.setdefault(meta["source"], []).append((int(meta["position"]), cid, dict(meta)))
        ids: list[str] = []
        metas: list[dict[str, Any]] = []
        for rows in by_source.values():
            rows.sort(key=lambda row: row[0])
            order, previous = -1, None
            for _, cid, meta in rows:
                if meta["section"] != previous:
                    order, previous = order + 1, meta["section"]
                if meta.get("section_order") != order:
                    meta["section_order"] = order
                    ids.append(cid)
                    metas.append(meta)
        for start in range(0, len(ids), ADD_BATCH):
            self._collection.update(ids=ids[start : start + ADD_BATCH], metadatas=metas[start : start + ADD_BATCH])
        self._collection.modify(metadata={**(self._collection.metadata or {}), ORDERED_KEY: True})
        return len(ids)

    def _drop(self) -> None:
        with contextlib.suppress(Exception):  # it may not exist; create below is what matters
            self._client.delete_collection(self._name)

    def reset(self) -> None:
        """Drop every chunk (and the embedding record) and start an empty collection."""
        self._drop()
        self._collection = self._open()

    def count(self) -> int:
        return int(self._collection.count())

    def files(self) -> dict[str, FileRecord]:
        """Every indexed file, read from the first chunk of each (which carries its hash
        and, once the whole file is stored, its chunk count)."""
        got = self._collection.get(where={"position": 0}, include=["metadatas"])
        records = {}
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
        self._collection.delete(where={"source": source})

    def stored_positions(self, source: str) -> int:
        """How many leading chunks of a file are stored (0, 1, ... without a gap): where an
        interrupted ingest of it resumes."""
        got = self._collection.get(where={"source": source}, include=[])
        positions = {int(cid.rsplit(":", 1)[1]) for cid in got["ids"]}
        n = 0
        while n in positions:
            n += 1
        return n

    def add_chunks(self, record: FileRecord, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Store one batch of a file's chunks (the first batch marks the file incomplete)."""
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
        for start in range(0, len(ids), ADD_BATCH):
            end = start + ADD_BATCH
            self._collection.upsert(
                ids=ids[start:end],
                embeddings=vectors[start:end],
                metadatas=metadatas[start:end],
                documents=documents[start:end],
            )

    def finish_file(self, record: FileRecord, chunks: int) -> None:
        """Mark a file complete: its first chunk records the chunk count."""
        first = _chunk_id(record.source, 0)
        got = self._collection.get(ids=[first], include=["metadatas"])
        meta = dict(got["metadatas"][0])
        meta.update(file_chunks=chunks, complete=True)
        self._collection.update(ids=[first], metadatas=[meta])

    def replace_file(self, record: FileRecord, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """A whole file at once (its old chunks dropped first)."""
        self.delete_file(record.source)
        self.add_chunks(record, chunks, vectors)
        self.finish_file(record, len(chunks))

    def all_chunks(self) -> list[IndexedChunk]:
        got = self._collection.get(include=["metadatas"])
        out = [
            IndexedChunk(cid, meta["reading"], _chunk_from(meta))
            for cid, meta in zip(got["ids"], got["metadatas"] or [], strict=True)
        ]
        out.sort(key=lambda ic: (ic.reading, ic.chunk.document, ic.chunk.position))
        return out

    def chunks(self, ids: Sequence[str]) -> dict[str, IndexedChunk]:
        """The chunks with these ids (those still stored)."""
        if not ids:
            return {}
        got = self._collection.get(ids=list(ids), include=["metadatas"])
        return {
            cid: IndexedChunk(cid, meta["reading"], _chunk_from(meta))
            for cid, meta in zip(got["ids"], got["metadatas"] or [], strict=True)
        }

    def query(
        self, vector: np.ndarray, n: int, reading: str | None = None, *, bound: Bound | None = None
    ) -> list[DenseHit]:
        """The ``n`` nearest chunks (of ``reading``), none of them past ``bound``: the bound is part
        of Chroma's ``where``, so the ``n`` are the nearest of what the group may see."""
        n = min(n, self.count())
        if n <= 0:
            return []
        result = self._collection.query(
            query_embeddings=[vector],
            n_results=n,
            include=["distances"],
            where=where_clause(reading, bound),
        )
        return [
            DenseHit(cid, 1.0 - float(dist)) for cid, dist in zip(result["ids"][0], result["distances"][0], strict=True)
        ]

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
