"""Hybrid retrieval: dense (Chroma) + BM25, aggregated to sections, with a coverage call.

For a question readbot:

1. removes the reading's frame names (the guest's name) from the text it embeds, so
   "What did Ilya say about X?" is searched as "What did say about X?"; a question that
   is *only* a name keeps it;
2. asks Chroma for the nearest chunks and scores every chunk with BM25 over the same
   stripped terms;
3. scores each section by its best chunk, ``dense + BM25_WEIGHT * bm25`` (weighted sum,
   not reciprocal-rank fusion: the fusion measured worse than dense alone);
4. decides whether the reading covers the question with the calibrated model in
   :mod:`bot.knowledge.coverage`.

All figures behind these choices come from ``benchmarks/bench_retrieval.py``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.knowledge.coverage import CoverageModel, coverage_features
from bot.knowledge.index import KnowledgeIndex
from bot.knowledge.lexical import LexicalIndex
from bot.knowledge.terms import content_terms

BM25_WEIGHT = 0.06
DENSE_CANDIDATES = 40
PASSAGES_PER_SECTION = 3
SUMMARY_INTENT = re.compile(
    r"\b(gist|tl;?dr|summar(y|ize|ise)|overview|in a nutshell|main (point|idea|argument|"
    r"thesis|takeaways?)|central (argument|idea|point|claim)|key (points|takeaways?)|"
    r"what('s| is) (this|the) (episode|reading|podcast|summary) about)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Passage:
    reading: str
    document: str
    section: str
    position: int
    text: str
    score: float
    details: tuple[str, ...] = ()  # the bullets under a passage that ends with ":"


@dataclass(frozen=True)
class SectionHit:
    reading: str
    document: str
    section: str
    score: float
    passages: tuple[Passage, ...]


@dataclass(frozen=True)
class Retrieval:
    question: str
    hits: list[SectionHit]
    covered: bool
    confidence: float
    features: dict[str, float] = field(default_factory=dict)


class Retriever:
    """Thread-safe: the lexical side is swapped atomically when the index changes."""

    def __init__(
        self, index: KnowledgeIndex, coverage: CoverageModel | None = None, *, bm25_weight: float = BM25_WEIGHT
    ) -> None:
        self.index = index
        self.bm25_weight = bm25_weight
        self.coverage = coverage or CoverageModel.load()
        self._lock = threading.Lock()
        self._lexical: LexicalIndex | None = None

    def refresh(self) -> None:
        """Rebuild the lexical side from the index (after an ingest)."""
        lexical = LexicalIndex(self.index.all_chunks())
        with self._lock:
            self._lexical = lexical

    @property
    def lexical(self) -> LexicalIndex:
        if self._lexical is None:
            self.refresh()
        assert self._lexical is not None
        return self._lexical

    def search_text(self, question: str) -> str:
        """The question without the reading's frame names (unless that leaves nothing)."""
        frame = self.lexical.all_frame_terms()
        if not frame:
            return question
        pattern = r"\b(" + "|".join(map(re.escape, sorted(frame))) + r")(['’]s)?\b"
        stripped = re.sub(r"\s+", " ", re.sub(pattern, " ", question, flags=re.IGNORECASE))
        return stripped.strip() if re.search(r"[A-Za-z]{3}", stripped) else question

    def search(self, question: str, *, reading: str | None = None, k: int = 3) -> Retrieval:
        lexical = self.lexical
        if not lexical.chunks:
            return Retrieval(question, [], False, 0.0)
        frame = lexical.all_frame_terms()
        vector = self.index.embedder.embed_query(self.search_text(question))
        dense_hits = self.index.query(vector, DENSE_CANDIDATES, reading=reading)
        query_terms = content_terms(question, frame)
        bm25 = lexical.scores(query_terms)

        dense = np.full(len(lexical.chunks), np.nan, dtype=np.float32)
        for hit in dense_hits:
            i = lexical.position.get(hit.id)
            if i is not None:
                dense[i] = hit.score
        floor = np.nanmin(dense) if dense_hits else 0.0
        combined = np.where(np.isnan(dense), floor, dense) + self.bm25_weight * bm25
        if reading:
            mask = np.array([c.reading == reading for c in lexical.chunks])
            combined = np.where(mask, combined, -np.inf)

        hits = self._sections(lexical, combined, k)
        if SUMMARY_INTENT.search(question):
            hits = self._prefer_summary(lexical, combined, hits, k)
        top_dense = float(np.nanmax(dense)) if dense_hits else 0.0
        features = coverage_features(question, top_dense, hits[0] if hits else None, lexical, frame)
        covered, confidence = self.coverage.decide(features)
        if SUMMARY_INTENT.search(question) and hits and _is_summary(hits[0].section):
            covered, confidence = True, max(confidence, 0.5)
        return Retrieval(question, hits, covered, confidence, features)

    @staticmethod
    def _sections(
        lexical: LexicalIndex, combined: np.ndarray, k: int, only: Sequence[str] | None = None
    ) -> list[SectionHit]:
        best: dict[tuple[str, str, str], list[tuple[float, int]]] = {}
        for i in np.argsort(-combined):
            if not np.isfinite(combined[i]):
                break
            c = lexical.chunks[i]
            key = (c.reading, c.chunk.document, c.chunk.section)
            if only is not None and c.chunk.section not in only:
                continue
            best.setdefault(key, []).append((float(combined[i]), int(i)))
            if len(best) >= k and all(len(v) >= PASSAGES_PER_SECTION for v in best.values()):
                break
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0][0])[:k]
        out = []
        for (reading, document, section), scored in ranked:
            passages = tuple(
                Passage(
                    reading,
                    document,
                    section,
                    lexical.chunks[i].chunk.position,
                    lexical.chunks[i].chunk.text,
                    score,
                    _details(lexical, i),
                )
                for score, i in scored[:PASSAGES_PER_SECTION]
            )
            out.append(SectionHit(reading, document, section, scored[0][0], passages))
        return out

    def _prefer_summary(
        self, lexical: LexicalIndex, combined: np.ndarray, hits: list[SectionHit], k: int
    ) -> list[SectionHit]:
        summaries = sorted({c.chunk.section for c in lexical.chunks if _is_summary(c.chunk.section)})
        if not summaries:
            return hits
        top = self._sections(lexical, combined, 1, only=summaries)
        return top + [h for h in hits if not _is_summary(h.section)][: k - len(top)]


def _details(lexical: LexicalIndex, i: int) -> tuple[str, ...]:
    """A passage that introduces a list ("…, because:") is quoted with its list."""
    chunk = lexical.chunks[i].chunk
    if not chunk.text.rstrip().endswith(":"):
        return ()
    out = []
    for follower in lexical.chunks[i + 1 :]:
        if follower.chunk.document != chunk.document or follower.chunk.parent != chunk.text:
            break
        out.append(follower.chunk.text)
    return tuple(out)


def _is_summary(section: str) -> bool:
    return section.strip().lower() in {
        "summary",
        "overview",
        "tl;dr",
        "tldr",
        "abstract",
        "introduction",
        "key takeaways",
    }
