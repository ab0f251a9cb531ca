"""Ingest .txt/.md files into the index: incremental by content hash, per-file safe.

Unchanged files are skipped (the hash covers the file's bytes and the chunker
version), changed ones replaced, and with ``prune`` files under the given roots that
are gone from disk are dropped. A file that can't be read or decoded is reported by
name and skipped; the rest still lands.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.knowledge.chunking import Chunk, chunk_text, document_name
from bot.knowledge.embedder import Embedder
from bot.knowledge.index import FileRecord, KnowledgeIndex, sources_under

SUFFIXES = (".txt", ".md", ".markdown")
CHUNKER_VERSION = "2"  # bump when chunking or chunk vectors change: forces re-embedding


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


def file_hash(data: bytes) -> str:
    return hashlib.sha256(CHUNKER_VERSION.encode() + b"\0" + data).hexdigest()


def chunk_vectors(embedder: Embedder, chunks: Sequence[Chunk]) -> np.ndarray:
    """Each chunk's vector: the normalised mean of its bare and heading-prefixed text."""
    texts = [c.text for c in chunks] + [c.search_text for c in chunks]
    vectors = embedder.embed_documents(texts)
    mean = vectors[: len(chunks)] + vectors[len(chunks) :]
    return mean / np.clip(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12, None)


class Ingester:
    def __init__(self, index: KnowledgeIndex, progress: Callable[[int], None] | None = None) -> None:
        self.index = index
        self.progress = progress

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
                data = path.read_bytes()
                text = data.decode("utf-8-sig")
            except OSError as exc:
                report.failed.append((str(path), exc.strerror or str(exc)))
                continue
            except UnicodeDecodeError:
                report.failed.append((str(path), "not UTF-8 text"))
                self._drop_stale(source, known, report)
                continue
            digest = file_hash(data)
            name = reading or reading_name(path, root)
            previous = known.get(source)
            if previous and previous.file_hash == digest and previous.reading == name:
                report.unchanged.append(str(path))
                continue
            chunks = chunk_text(text, document_name(path))
            if not chunks:
                report.failed.append((str(path), "no text to index"))
                self._drop_stale(source, known, report)
                continue
            vectors = chunk_vectors(self.index.embedder, chunks)
            record = FileRecord(source, name, document_name(path), digest, len(chunks))
            self.index.replace_file(record, chunks, vectors)
            (report.updated if previous else report.added).append(str(path))
            report.chunks += len(chunks)
            if self.progress:
                self.progress(len(data))
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

    def _drop_stale(self, source: str, known: dict[str, FileRecord], report: IngestReport) -> None:
        """A file that no longer holds indexable text must not keep answering questions."""
        if source in known:
            self.index.delete_file(source)
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
