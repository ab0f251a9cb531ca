"""Sentence splitting for prose, and a cap that keeps every chunk under the model's limit.

Sentences come from ``sentencex`` (Wikimedia's rule-based segmenter: abbreviations,
quotes and brackets handled, no model, fast enough for a 50 MB file). A "sentence"
longer than :data:`MAX_CHUNK_WORDS` words (a run-on list, a table flattened into one
line) is cut at clause marks, or at word boundaries as a last resort, so no chunk is
truncated by the embedding model (256 word pieces).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sentencex import segment

MAX_CHUNK_WORDS = 120  # ~180 word pieces for English prose: safely under the model's 256
CLAUSE_END = re.compile(r"(?<=[;:,])\s+")


def sentences(text: str) -> list[str]:
    """The text's sentences, verbatim (stripped), none longer than MAX_CHUNK_WORDS words."""
    out: list[str] = []
    for raw in segment("en", text):
        sentence = raw.strip()
        if sentence:
            out.extend(capped(sentence))
    return out


def capped(text: str, limit: int = MAX_CHUNK_WORDS) -> Iterator[str]:
    """``text`` itself if short enough, else consecutive pieces of at most ``limit`` words,
    cut after a clause mark where one is near."""
    words = text.split()
    if len(words) <= limit:
        yield text
        return
    piece: list[str] = []
    for clause in CLAUSE_END.split(text):
        clause_words = clause.split()
        if piece and len(piece) + len(clause_words) > limit:
            yield " ".join(piece)
            piece = []
        while len(clause_words) > limit:
            yield " ".join(clause_words[:limit])
            clause_words = clause_words[limit:]
        piece.extend(clause_words)
    if piece:
        yield " ".join(piece)
