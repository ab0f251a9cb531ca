"""Answers: the neutral result of a question, and the extractive (no-LLM) composer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.knowledge.retrieval import Passage, Retrieval, SectionHit

MAX_QUOTES = 3
QUOTE_MARGIN = 0.12  # passages this close to the best one are quoted too
NOT_COVERED = "The reading doesn't cover that."


@dataclass(frozen=True)
class Source:
    reading: str
    document: str
    section: str
    text: str
    score: float

    def to_json(self) -> dict[str, Any]:
        return {
            "reading": self.reading,
            "document": self.document,
            "section": self.section,
            "text": self.text,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class Answer:
    question: str
    body: str  # the answer without its citation line (chat adapters render citations)
    grounded: bool
    sources: tuple[Source, ...]
    citation: str = ""  # "Source: “section” (document)", set when grounded
    note: str = ""  # e.g. why the LLM was not used

    @property
    def text(self) -> str:
        return "\n".join(part for part in (self.body, self.citation) if part)

    def to_json(self) -> dict[str, Any]:
        return {"answer": self.text, "grounded": self.grounded, "sources": [s.to_json() for s in self.sources]}


def sources_of(retrieval: Retrieval) -> tuple[Source, ...]:
    return tuple(Source(h.reading, h.document, h.section, h.passages[0].text, h.score) for h in retrieval.hits)


def quoted_passages(hit: SectionHit) -> list[Passage]:
    """The best passages of a section, close in score to its best, in reading order."""
    best = hit.passages[0].score
    chosen = [p for p in hit.passages[:MAX_QUOTES] if p.score >= best - QUOTE_MARGIN]
    return sorted(chosen, key=lambda p: p.position)


def citation(hit: SectionHit) -> str:
    return f"Source: “{hit.section}” ({hit.document})"


def extractive_answer(retrieval: Retrieval) -> Answer:
    """Quote the reading faithfully; never add words it does not contain."""
    sources = sources_of(retrieval)
    if not retrieval.hits:
        return Answer(retrieval.question, f"{NOT_COVERED} No reading is indexed yet.", False, ())
    top = retrieval.hits[0]
    if not retrieval.covered:
        text = f"{NOT_COVERED} The closest section is “{top.section}”, which says: “{top.passages[0].text}”"
        return Answer(retrieval.question, text, False, sources[:1])
    quotes = "\n".join(f"> {p.text}" + "".join(f"\n>   • {d}" for d in p.details) for p in quoted_passages(top))
    return Answer(retrieval.question, f"From “{top.section}”:\n{quotes}", True, sources, citation=citation(top))
