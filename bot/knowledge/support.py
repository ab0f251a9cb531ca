"""The passage of a reading that best supports a claim (a moderator's own poll claim, shown on the
card with its section): the reading's chunk nearest in meaning, if it is near enough.

The threshold is calibrated by ``benchmarks/calibrate_support.py`` on more than one reading (the
shipped reading's curated claims, and FairytaleQA questions with their answers as statements, each
against its own reading and against the others); its figures are in
``benchmarks/results/calibrate_support.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.knowledge.service import KnowledgeService

SUPPORT_THRESHOLD = 0.53  # cosine (bundled MiniLM); matched 0.91 / 0.99, declined 1.00 / 0.90 (shipped / tales)


@dataclass(frozen=True)
class Supported:
    section: str
    passage: str
    score: float
    reading: str


def best_support(
    knowledge: KnowledgeService,
    claim: str,
    *,
    reading: str | None,
    threshold: float = SUPPORT_THRESHOLD,
    upto: int | None = None,
) -> Supported | None:
    """Blocking (embedding, Chroma): run it in a worker thread. ``upto``: the group's progress in
    ``reading``: no passage past it (spoiler-safe)."""
    found = knowledge.nearest(claim, reading=reading, n=1, upto=upto)
    if not found:
        return None
    score, chunk = found[0]
    if score < threshold or not chunk.chunk.section:
        return None
    return Supported(chunk.chunk.section, chunk.chunk.text, score, chunk.reading)
