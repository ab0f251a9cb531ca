"""In-memory lexical side of retrieval: BM25 over chunks and each document's vocabulary.

Built from what the Chroma index holds (so it always matches it) and rebuilt when the
index changes. BM25 is ``bm25s`` over readbot's own light stemming (``terms``).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.knowledge.index import IndexedChunk
from bot.knowledge.terms import STOPWORDS, terms, words

CAPITALISED = re.compile(r"\b[A-Z][A-Za-z0-9\-]+\b")


@dataclass
class DocumentVocabulary:
    stems: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)
    frame: frozenset[str] = frozenset()  # title words that name, not say (the guest's name)


def frame_terms(title: str, body: str) -> frozenset[str]:
    """Proper names from a document's title (e.g. the guest's name): capitalised in the
    title and never written lowercase in the body. A question names them without asking
    about them, so they are left out when judging what a question is about."""
    names = set()
    for token in CAPITALISED.findall(title):
        low = token.lower()
        if low in STOPWORDS:
            continue
        occurrences = re.findall(rf"(?<![\w-]){re.escape(low)}(?![\w-])", body, re.IGNORECASE)
        if all(o[0].isupper() for o in occurrences):
            names.add(low)
    return frozenset(names)


class LexicalIndex:
    def __init__(self, chunks: Sequence[IndexedChunk]) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on import
        self.chunks = list(chunks)
        self.position = {c.id: i for i, c in enumerate(self.chunks)}
        self._bm25 = None
        if self.chunks:
            self._bm25 = bm25s.BM25()
            corpus = [terms(c.chunk.search_text) or ["_"] for c in self.chunks]
            self._bm25.index(corpus, show_progress=False)
        self.vocabulary: dict[str, DocumentVocabulary] = {}
        bodies: dict[str, list[str]] = defaultdict(list)
        titles: dict[str, str] = {}
        for c in self.chunks:
            key = c.chunk.document
            vocab = self.vocabulary.setdefault(key, DocumentVocabulary())
            text = f"{c.chunk.section} {c.chunk.text}"
            vocab.stems.update(terms(text))
            vocab.words.update(words(text))
            bodies[key].append(text)
            titles[key] = c.chunk.title
        for key, vocab in self.vocabulary.items():
            body = "\n".join(bodies[key])
            vocab.frame = frame_terms(titles[key], body)
            vocab.words.update(words(titles[key]))
            vocab.stems.update(terms(titles[key]))

    def scores(self, query_terms: list[str]) -> np.ndarray:
        if self._bm25 is None or not query_terms:
            return np.zeros(len(self.chunks), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(query_terms), dtype=np.float32)

    def all_frame_terms(self) -> frozenset[str]:
        out: set[str] = set()
        for vocab in self.vocabulary.values():
            out |= vocab.frame
        return frozenset(out)
