"""Ingest .txt/.md files into the index: incremental by content hash, per-file safe,
streamed in batches and resumable.

Unchanged files are skipped (the hash covers the file's bytes and the chunker
version), changed ones replaced, and with ``prune`` files under the given roots that
are gone from disk are dropped. A file that can't be read or decoded is reported by
name and skipped; the rest still lands.

A file is read line by line and chunked as it streams; every :data:`BATCH` chunks are
embedded (one embedding per chunk) and stored, so memory stays bounded whatever the
file size and an interrupted ingest keeps what it stored: the file is marked complete
only at its end, and a rerun on the same bytes resumes at the first missing chunk.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.knowledge.chunking import Chunk, chunk_file, document_name
from bot.knowledge.embedder import Embedder
from bot.knowledge.index import FileRecord, KnowledgeIndex, sources_under

SUFFIXES = (".txt", ".md", ".markdown")
CHUNKER_VERSION = "4"  # 4: control characters stripped; bump when chunking or chunk vectors change: forces re-embedding
BATCH = 256  # chunks embedded and stored together


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def merged(self, other: IngestReport) -> IngestReport:
        return IngestReport(
            self.added + other.added,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.removed + other.removed,
            self.failed + other.failed,
            self.chunks + other.chunks,
        )

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.updated)} updated", f"{len(self.unchanged)} unchanged"]
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return f"{', '.join(parts)}; {self.chunks} chunks embedded"


def discover(paths: Sequence[Path]) -> tuple[list[tuple[Path, Path]], list[tuple[str, str]]]:
    """(file, root) pairs for every readable-looking file, and paths that don't exist."""
    found: list[tuple[Path, Path]] = []
    missing: list[tuple[str, str]] = []
    for root in paths:
        if root.is_dir():
            found.extend(
                (p, root)
                for p in sorted(root.rglob("*"))
                if p.is_file()
                and p.suffix.lower() in SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(root).parts)
            )
        elif root.is_file():
            found.append((root, root.parent))
        else:
            missing.append((str(root), "no such file or folder"))
    return found, missing


def reading_name(path: Path, root: Path) -> str:
    """The reading a file belongs to: its first folder below the root, else its name."""
    relative = path.relative_to(root)
    return relative.parts[0] if len(relative.parts) > 1 else path.stem


def file_hash(path: Path) -> str:
    """sha256 of the chunker version and the file's bytes, read in blocks."""
    digest = hashlib.sha256(CHUNKER_VERSION.encode() + b"\0")
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def chunk_vectors(embedder: Embedder, chunks: Sequence[Chunk]) -> np.ndarray:
    """Each chunk's vector: the embedding of its text (one pass per chunk)."""
    return embedder.embed_documents([c.text for c in chunks])


class Ingester:
    def __init__(
        self, index: KnowledgeIndex, progress: Callable[[int], None] | None = None, *, batch: int = BATCH
    ) -> None:
        self.index = index
        self.progress = progress
        self.batch = batch

    def run(self, paths: Sequence[Path], *, reading: str | None = None, prune: bool = False) -> IngestReport:
        report = IngestReport()
        files, missing = discover(paths)
        report.failed.extend(missing)
        known = self.index.files()
        seen: set[str] = set()
        for path, root in files:
            source = str(path.resolve())
            seen.add(source)
            try:
                digest = file_hash(path)
            except OSError as exc:
                report.failed.append((str(path), exc.strerror or str(exc)))
                continue
            name = reading or reading_name(path, root)
            previous = known.get(source)
            same = previous is not None and previous.file_hash == digest and previous.reading == name
            if same and previous is not None and previous.complete:
                report.unchanged.append(str(path))
                continue
            resume = self.index.stored_positions(source) if same else 0
            if not same and previous is not None:
                self.index.delete_file(source)
            record = FileRecord(source, name, document_name(path), digest, -1, False)
            try:
                total, embedded = self._store(path, record, resume)
            except UnicodeDecodeError:
                report.failed.append((str(path), "not UTF-8 text"))
                self._drop_stale(source, known, report)
                continue
            except OSError as exc:
                report.failed.append((str(path), exc.strerror or str(exc)))
                continue
            if total == 0:
                report.failed.append((str(path), "no text to index"))
                self._drop_stale(source, known, report)
                continue
            self.index.finish_file(record, total)
            (report.updated if previous and previous.complete else report.added).append(str(path))
            report.chunks += embedded
        if prune:
            roots = [p for p in paths if p.exists()]
            for source in sources_under(known.values(), roots):
                if source not in seen:
                    self.index.delete_file(source)
                    report.removed.append(source)
            for source in known:
                if source not in seen and source not in report.removed and not Path(source).exists():
                    self.index.delete_file(source)
                    report.removed.append(source)
        return report

    def _store(self, path: Path, record: FileRecord, resume: int) -> tuple[int, int]:
        """Stream the file's chunks into the index from position ``resume`` on; returns
        (chunks in the file, chunks embedded now)."""
        total = embedded = 0
        batch: list[Chunk] = []
        for chunk in chunk_file(path, record.document):
            total += 1
            if chunk.position < resume:
                continue
            batch.append(chunk)
            if len(batch) >= self.batch:
                embedded += self._flush(record, batch)
        if batch:
            embedded += self._flush(record, batch)
        return total, embedded

    def _flush(self, record: FileRecord, batch: list[Chunk]) -> int:
        self.index.add_chunks(record, batch, chunk_vectors(self.index.embedder, batch))
        if self.progress:
            self.progress(sum(len(c.text.encode()) + 1 for c in batch))
        n = len(batch)
        batch.clear()
        return n

    def _drop_stale(self, source: str, known: dict[str, FileRecord], report: IngestReport) -> None:
        """A file that no longer holds indexable text must not keep answering questions
        (nor keep the part of it stored before the bad bytes)."""
        self.index.delete_file(source)
        if source in known:
            report.removed.append(source)


def progress_bar(total_bytes: int) -> Callable[[int], None] | None:
    """A tqdm bar over bytes ingested, shown on a terminal for long ingests only."""
    if total_bytes < 1_000_000 or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(total=total_bytes, unit="B", unit_scale=True, desc="ingest", file=sys.stderr)

    def advance(done: int) -> None:
        bar.update(done)

    return advance
