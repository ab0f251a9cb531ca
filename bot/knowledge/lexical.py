"""In-memory lexical side of retrieval: BM25 at three grains, and each reading's vocabulary.

Built from what the Chroma index holds (so it always matches it) and rebuilt when the
index changes. BM25 is ``bm25s`` over readbot's light stemming (``terms``), at three
grains, each a signal the fusion in :mod:`bot.knowledge.retrieval` weighs:

* a chunk alone (one sentence or bullet): what to quote;
* a chunk with its neighbours in the same section: a question's words are often spread
  over two adjacent sentences;
* a whole section, heading included: which part of the reading it is about.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

import numpy as np

from bot.knowledge.chatter import without_chatter
from bot.knowledge.embeddings import TOKENIZER_PATH
from bot.knowledge.index import IndexedChunk
from bot.knowledge.spelling import Speller, spelled_out
from bot.knowledge.terms import QUESTION_FRAME, STOPWORDS, terms, words

ANY_CASE_WORD = re.compile(r"[A-Za-z0-9]+")
CAPITALISED = re.compile(r"\b[A-Z][A-Za-z0-9\-]+\b")
SENTENCE_END = re.compile(r"[.!?:;]['’\"”)]*$")
OVERVIEW_HEADINGS = frozenset(
    {
        "summary",
        "overview",
        "tl;dr",
        "tldr",
        "abstract",
        "synopsis",
        "key takeaways",
        "in brief",
        "at a glance",
        "executive summary",
    }
)


@dataclass
class ReadingVocabulary:
    stems: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)
    subjects: frozenset[str] = frozenset()  # the names the reading is about (see subject_names)
    names: dict[str, str] = field(default_factory=dict)  # always capitalised (see names_in): lower case → as written


@cache
def common_words() -> frozenset[str]:
    """Common English words (and common first names): the whole words of the bundled embedding
    model's WordPiece vocabulary (30,522 entries learned from English Wikipedia and books). A word
    it must split into pieces is rare: "Assipattle", "Stoorworm", "OpenAI", "Sutskever"."""
    vocab = json.loads(TOKENIZER_PATH.read_text(encoding="utf-8"))["model"]["vocab"]
    return frozenset(w for w in vocab if w.isalpha())


def names_in(texts: Sequence[str]) -> dict[str, str]:
    """Names a reading uses, in lower case, each as the reading writes it: words it writes
    capitalised at least once where a sentence does not start and never in lower case, and that
    are not common English words (``common_words``): "Assipattle", "Stoorworm", "OpenAI"; not
    "king" in a story that writes "the King" but also "a king", nor "People" in one that always
    writes "the People" (a reading about humans may be asked about people), nor "John". Each text
    is a sentence or bullet, so its first word starts a sentence; so do a word after a full stop or
    colon and one after an opening quote."""
    capitalised: dict[str, str] = {}
    lower: set[str] = set()
    for text in texts:
        start = True
        for token in text.split():
            word = ANY_CASE_WORD.search(token)
            if word is not None:
                core = word.group(0)
                if core[:1].islower():
                    lower.add(core.lower())
                elif not start and word.start() == 0 and (core[1:2].islower() or (core.isupper() and len(core) > 1)):
                    capitalised.setdefault(core.lower(), core)  # not after an opening quote: a quoted sentence starts
            start = bool(SENTENCE_END.search(token))
    return {w: c for w, c in capitalised.items() if w not in lower and not is_common(w) and w not in STOPWORDS}


# "courtiers" is "courtier"'s, "goblins" "goblin"'s: the vocabulary holds the common form whole
_INFLECTIONS = (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"))


def is_common(word: str) -> bool:
    """Whether ``word`` (lower case) is a common English word or an inflection of one."""
    common = common_words()
    return word in common or any(
        word.endswith(end) and word[: -len(end)] + base in common for end, base in _INFLECTIONS
    )


def subject_names(title: str, body: str) -> frozenset[str]:
    """Names a reading makes its subject: capitalised words of its title that its text
    uses at least twice and always capitalised ("Ilya" in an interview with Ilya, "Kari"
    in *Kari Woodencoat*). Asking about the reading's subject says nothing about what a
    question asks, so the coverage decision leaves these out of the question's terms;
    retrieval still uses every word."""
    names = set()
    for token in CAPITALISED.findall(title):
        low = token.lower()
        if low in STOPWORDS:
            continue
        found = re.findall(rf"(?<![\w-]){re.escape(low)}(?![\w-])", body, re.IGNORECASE)
        if len(found) >= 2 and all(o[0].isupper() for o in found):
            names.add(low)
    return frozenset(names)


@dataclass(frozen=True)
class SectionRef:
    reading: str
    document: str
    heading: str
    chunks: tuple[int, ...]  # positions in LexicalIndex.chunks, in reading order


def is_overview(heading: str) -> bool:
    return heading.strip().lower().rstrip(":") in OVERVIEW_HEADINGS


def _bm25(corpus: list[list[str]]) -> Any:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on import
    model = bm25s.BM25()
    model.index([doc or ["_"] for doc in corpus], show_progress=False)
    return model


class LexicalIndex:
    def __init__(self, chunks: Sequence[IndexedChunk]) -> None:
        self.chunks = list(chunks)
        self.position = {c.id: i for i, c in enumerate(self.chunks)}
        self.at = {(c.reading, c.chunk.document, c.chunk.position): i for i, c in enumerate(self.chunks)}
        self.vocabulary: dict[str, ReadingVocabulary] = {}
        sections: dict[tuple[str, str, str], list[int]] = {}
        counts: Counter[str] = Counter()
        bodies: dict[tuple[str, str], list[str]] = {}
        for i, c in enumerate(self.chunks):
            sections.setdefault((c.reading, c.chunk.document, c.chunk.section), []).append(i)
            vocab = self.vocabulary.setdefault(c.reading, ReadingVocabulary())
            text = f"{c.chunk.section} {c.chunk.text}"
            vocab.stems.update(terms(text))
            bodies.setdefault((c.reading, c.chunk.document), []).append(c.chunk.text)
            chunk_words = words(text)
            vocab.words.update(chunk_words)
            counts.update(chunk_words)
        self.speller = Speller(counts)
        titles = {(c.reading, c.chunk.document): c.chunk.title for c in self.chunks}
        for (reading, document), title in titles.items():
            vocab = self.vocabulary[reading]
            vocab.stems.update(terms(title))
            vocab.words.update(words(title))
            body = " ".join(bodies[(reading, document)])
            vocab.subjects = vocab.subjects | subject_names(title, body)
            vocab.names.update(names_in(bodies[(reading, document)]))
            written = {t.lower(): t for t in CAPITALISED.findall(title)}  # "Ilya" starts every line that names him
            vocab.names.update(
                {w: written.get(w, w) for w in vocab.subjects if not is_common(w) and w not in vocab.names}
            )
        # a name one reading uses and no other reading has as a word at all ("sorcerers" counts) says
        # which reading a question that names it is about (see named_reading), as typed or not
        self.name_owner: dict[str, tuple[str, str]] = {}  # a name → its reading, and the name as written
        if len(self.vocabulary) > 1:
            for reading, vocab in self.vocabulary.items():
                for name in vocab.names:
                    stems = set(terms(name))
                    if not any(stems & other.stems for r, other in self.vocabulary.items() if r != reading):
                        self.name_owner[name] = (reading, vocab.names[name])
        self.sections = [SectionRef(r, d, h, tuple(ix)) for (r, d, h), ix in sections.items()]
        self.section_of = np.zeros(len(self.chunks), dtype=np.int64)
        for s, ref in enumerate(self.sections):
            self.section_of[list(ref.chunks)] = s
        self.reading_of = np.array([c.reading for c in self.chunks], dtype=object)
        self.section_order_of = np.array([c.chunk.section_order for c in self.chunks], dtype=np.int64)
        self._bounded_vocabulary: dict[tuple[str, int], ReadingVocabulary] = {}
        self.section_reading = np.array([s.reading for s in self.sections], dtype=object)
        # one set of BM25 models per reading, so a reading's scores never depend on the
        # others (--reading is strict), and one over everything for a search of all readings
        chunk_terms = [terms(c.chunk.text) for c in self.chunks]
        self._models: dict[str | None, tuple[np.ndarray, np.ndarray, object, object, object]] = {}
        groups: list[str | None] = [*self.vocabulary]
        if len(self.vocabulary) > 1:
            groups.append(None)
        for group in groups:
            chunk_ids = np.flatnonzero(self.reading_of == group) if group is not None else np.arange(len(self.chunks))
            section_ids = (
                np.flatnonzero(self.section_reading == group) if group is not None else np.arange(len(self.sections))
            )
            windows = []
            for i in map(int, chunk_ids):
                window = list(chunk_terms[i])
                for j in (i - 1, i + 1):
                    if 0 <= j < len(self.chunks) and self.section_of[j] == self.section_of[i]:
                        window.extend(chunk_terms[j])
                windows.append(window)
            sections_terms = [
                terms(self.sections[s].heading) + [t for i in self.sections[s].chunks for t in chunk_terms[i]]
                for s in section_ids
            ]
            self._models[group] = (
                chunk_ids,
                section_ids,
                _bm25([chunk_terms[i] for i in chunk_ids]),
                _bm25(windows),
                _bm25(sections_terms),
            )

    def _scores(self, grain: int, query_terms: list[str], reading: str | None, n: int) -> np.ndarray:
        out = np.zeros(n, dtype=np.float32)
        if not query_terms:
            return out
        name = reading if reading is not None or None in self._models else next(iter(self._models), None)
        if name in self._models:
            entry = self._models[name]
            ids, model = cast(np.ndarray, entry[1 if grain == 4 else 0]), cast(Any, entry[grain])
            out[ids] = np.asarray(model.get_scores(query_terms), dtype=np.float32)
        return out

    def scores(self, query_terms: list[str], reading: str | None = None) -> np.ndarray:
        """BM25 of each chunk alone (zero outside ``reading``)."""
        return self._scores(2, query_terms, reading, len(self.chunks))

    def window_scores(self, query_terms: list[str], reading: str | None = None) -> np.ndarray:
        """BM25 of each chunk together with its neighbours in the same section."""
        return self._scores(3, query_terms, reading, len(self.chunks))

    def section_scores(self, query_terms: list[str], reading: str | None = None) -> np.ndarray:
        """BM25 of each section (heading and text), indexed like ``sections``."""
        return self._scores(4, query_terms, reading, len(self.sections))

    def corrected(self, question: str) -> str:
        """The question without the chatter around it (:func:`~bot.knowledge.chatter.without_chatter`),
        with chat shorthand spelled out (:func:`~bot.knowledge.spelling.spelled_out`) and words the
        readings never use replaced by the reading word they misspell ("abot pre-trainng" → "about
        pre-training"), case kept lower."""

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            low = word.lower()
            if low in STOPWORDS or low in QUESTION_FRAME:  # "reading" is never "corrected" to "leading"
                return word
            better = self.speller.correct(low)
            return better if better else word

        # "ok dumb q but do u have to wait til…" → "do you have to wait until…"
        question = spelled_out(without_chatter(question), self.speller.counts)
        return ANY_CASE_WORD.sub(fix, question) if self.speller.counts else question

    def readings(self) -> list[str]:
        return sorted(self.vocabulary)

    def named_reading(self, question: str) -> str | None:
        """The one reading ``question`` names someone or something of ("How did the King reward
        Assipattle?", in any case), when every name it uses that some reading owns points to that
        reading; None otherwise (no such name, names of two readings, a single reading indexed)."""
        owners = {self.name_owner[w][0] for w in words(question) if w in self.name_owner}
        return owners.pop() if len(owners) == 1 else None

    def foreign_name(self, question: str, reading: str) -> str:
        """A name ``question`` uses that another reading owns, so ``reading`` never uses it, as that
        reading writes it ("Assipattle" in a question asked of *The Battle of the Birds*); "" if none."""
        return next(
            (self.name_owner[w][1] for w in words(question) if self.name_owner.get(w, (reading,))[0] != reading), ""
        )

    def within(self, reading: str, section_order: int) -> np.ndarray:
        """Which chunks a group that has read ``reading`` up to ``section_order`` may see (every
        chunk of another reading, and this one's up to and including that section)."""
        return ~((self.reading_of == reading) & (self.section_order_of > section_order))

    def vocabulary_within(self, reading: str, section_order: int) -> ReadingVocabulary | None:
        """The reading's vocabulary as far as ``section_order`` (what the coverage decision may know
        of a reading read that far), built once per bound."""
        key = (reading, section_order)
        if key not in self._bounded_vocabulary:
            if reading not in self.vocabulary:
                return None
            vocab = ReadingVocabulary()
            bodies: dict[str, list[str]] = {}
            titles: dict[str, str] = {}
            for c in self.chunks:
                if c.reading != reading or c.chunk.section_order > section_order:
                    continue
                text = f"{c.chunk.section} {c.chunk.text}"
                vocab.stems.update(terms(text))
                vocab.words.update(words(text))
                bodies.setdefault(c.chunk.document, []).append(c.chunk.text)
                titles.setdefault(c.chunk.document, c.chunk.title)
            for document, title in titles.items():
                vocab.stems.update(terms(title))
                vocab.words.update(words(title))
                vocab.subjects = vocab.subjects | subject_names(title, " ".join(bodies[document]))
            self._bounded_vocabulary[key] = vocab
        return self._bounded_vocabulary[key]

    def overview_sections(self, reading: str) -> list[int]:
        return [s for s, ref in enumerate(self.sections) if ref.reading == reading and is_overview(ref.heading)]
