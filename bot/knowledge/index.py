"""The Chroma collection that holds the readings' chunks.

One collection, ``readbot``, in cosine space. Vectors are computed by readbot's
:class:`~bot.knowledge.embedder.Embedder` and passed to Chroma explicitly; the
collection records which embedder built it (``readbot:embedding``) and opening it with
another is refused with a message to re-ingest, never silently mixed.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.errors import ReadbotError
from bot.knowledge.chunking import Chunk
from bot.knowledge.embedder import Embedder

COLLECTION = "readbot"
EMBEDDING_KEY = "readbot:embedding"
SEEDED_KEY = "readbot_seeded"  # the shipped reading was indexed here once
ADD_BATCH = 2000


class IndexMismatchError(ReadbotError):
    """The index on disk was built with another embedding model."""


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
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


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
            metadata={EMBEDDING_KEY: self.embedder.id},
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

    def query(self, vector: np.ndarray, n: int, reading: str | None = None) -> list[DenseHit]:
        n = min(n, self.count())
        if n <= 0:
            return []
        result = self._collection.query(
            query_embeddings=[vector],
            n_results=n,
            include=["distances"],
            where={"reading": reading} if reading else None,
        )
        return [
            DenseHit(cid, 1.0 - float(dist)) for cid, dist in zip(result["ids"][0], result["distances"][0], strict=True)
        ]

    def readings(self) -> list[str]:
        return sorted({r.reading for r in self.files().values()})


def _chunk_from(meta: dict[str, Any]) -> Chunk:
    return Chunk(
        document=meta["document"],
        section=meta["section"],
        position=int(meta["position"]),
        text=meta["text"],
        parent=meta.get("parent", ""),
        title=meta.get("title", ""),
    )


def sources_under(records: Iterable[FileRecord], roots: Sequence[Path]) -> list[str]:
    resolved = [r.resolve() for r in roots]
    out = []
    for rec in records:
        path = Path(rec.source)
        if any(path == root or root in path.parents for root in resolved):
            out.append(rec.source)
    return out
