"""Answers: the neutral result of a question, and the extractive (no-LLM) composer.

An extractive answer quotes the sentence (or bullet) that best answers the question, and the next
one of the same section when both stay short (a longer pair for a question about what came after or
because of an event: the best sentence names the event, the next one tells what followed); a question
whose two best sections score alike quotes the best sentence of each. The surrounding passage is one
step away: the cited section.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.knowledge.retrieval import Passage, Retrieval, SectionHit

NOT_COVERED = "The reading doesn't cover that."
QUOTE_BUDGET = (
    30  # words: a second sentence joins the first only within this (replies stay ≤ ~40), twice this after a colon
)
SEQUEL = re.compile(r"\b(?:after|because)\b", re.IGNORECASE)  # "what did she do after …?": the answer follows
SEQUEL_BUDGET = 45  # words: ... so the sentence after the one that names the event joins it within this
SPAN_MARGIN = 0.02  # a second section this close to the first is quoted too
UNSTATED = {  # what it lacks
    "amount": " It states no such number.",
    "quote": " It never mentions “{unmentioned}”.",
    "name": " It never mentions {unmentioned}.",
}
OVERVIEW_SECTIONS = 12
OVERVIEW_WORDS = 14
OVERVIEW_LISTED = 6  # headings named when a question names a section the reading doesn't have


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
    coverage: tuple[float, float] | None = None  # (score, threshold) of the coverage decision
    # what decided coverage instead of the model: gist, place, introduction, definition; not covered: amount, quote,
    # name
    rule: str = ""
    small_talk: bool = False  # a greeting, thanks or "what can you do": no retrieval
    evidence: tuple[Passage, ...] = ()  # the passages quoted (what an LLM is given)
    upto: str | None = None  # the heading of the last section the group has read, when bounded
    further: bool = False  # bounded, and the answer lies past ``upto`` (not shown)

    @property
    def text(self) -> str:
        return "\n".join(part for part in (self.body, self.citation) if part)

    def to_json(self) -> dict[str, Any]:
        coverage: dict[str, Any] | None = (
            {"score": round(self.coverage[0], 4), "threshold": round(self.coverage[1], 4)} if self.coverage else None
        )
        if coverage is not None and self.rule:
            coverage["rule"] = self.rule  # decided by this rule whatever the score
        out: dict[str, Any] = {
            "answer": self.text,
            "grounded": self.grounded,
            "coverage": coverage,
            "sources": [s.to_json() for s in self.sources],
        }
        if self.upto is not None:  # a question bounded by the group's progress (--upto, /reading progress)
            out["progress"] = {"upto": self.upto, "further": self.further}
        return out


def decided_by(retrieval: Retrieval) -> str:
    """The rule that decided a retrieval, where one did instead of the coverage model: covered, a gist
    question (the overview or the sections), a place in the reading, where a name is introduced or
    where a term is headed or defined; not covered, a question that asks for an amount the best
    sentences don't state, quotes a phrase the reading never uses or uses a name only another reading
    uses."""
    if retrieval.unstated:
        return retrieval.unstated
    if retrieval.gist:
        return "gist"
    if retrieval.place and retrieval.place != "unknown section":
        return "place"
    if retrieval.definition:
        return "definition"
    return "introduction" if retrieval.introduction else ""


def sources_of(retrieval: Retrieval) -> tuple[Source, ...]:
    return tuple(Source(h.reading, h.document, h.section, h.passages[0].text, h.score) for h in retrieval.hits)


def _words(passage: Passage) -> int:
    return len(passage.text.split()) + sum(len(d.split()) for d in passage.details)


def select_evidence(retrieval: Retrieval, following: Callable[[Passage], Passage | None]) -> list[Passage]:
    """The sentence or two that answer, best first."""
    top = retrieval.hits[0]
    best = top.passages[0]
    chosen = [best]
    if retrieval.gist or retrieval.introduction:
        return chosen  # the overview section's best passage says it, or the sentence that introduces a name
    if retrieval.definition:  # where the reading says what X is, with what follows within the budget
        after = following(best)
        if after is not None and not best.details and _words(best) + _words(after) <= QUOTE_BUDGET:
            chosen.append(after)
        return chosen
    if retrieval.spans:
        return [h.passages[0] for h in retrieval.hits[:2]]  # each part from its own section
    second = retrieval.hits[1] if len(retrieval.hits) > 1 and not retrieval.place else None
    if (
        second is not None
        and second.score >= top.score - SPAN_MARGIN
        and second.passages[0].score >= best.score - SPAN_MARGIN
    ):
        chosen.append(second.passages[0])  # the question spans two sections
        return chosen
    after = following(best)
    budget = QUOTE_BUDGET
    if best.text.rstrip().endswith(":"):  # "…, she said:" says nothing without what follows
        budget = 2 * QUOTE_BUDGET
    elif SEQUEL.search(retrieval.question):  # the best sentence names the event asked after, the next tells it
        budget = SEQUEL_BUDGET
    if after is not None and not best.details and _words(best) + _words(after) <= budget:
        chosen.append(after)
    return chosen


def unanswered_note(retrieval: Retrieval) -> str:
    """The line that says which parts of a question of several the reading doesn't cover ("" if none)."""
    return "".join(f"\n{NOT_COVERED[:-1]}: “{part}”." for part in retrieval.unanswered)


def _quote(passage: Passage) -> str:
    return f"> {passage.text}" + "".join(f"\n>   • {d}" for d in passage.details)


def citation(sections: list[str], document: str) -> str:
    return "Source: " + ", ".join(f"“{s}”" for s in sections) + f" ({document})"


def _overview(retrieval: Retrieval) -> Answer:
    hits = list(retrieval.overview)
    sources = tuple(Source(h.reading, h.document, h.section, h.passages[0].text, h.score) for h in hits[:3])
    if len(hits) == 1 and not retrieval.place:  # one section: a list of one says less than its opening
        opening = hits[0].passages[0]
        return Answer(
            retrieval.question,
            f"The reading has no summary; it opens:\n{_quote(opening)}",
            True,
            sources,
            citation=citation([hits[0].section], hits[0].document),
            coverage=(retrieval.confidence, retrieval.threshold),
            rule=decided_by(retrieval),
            evidence=(opening,),
        )
    lines = []
    for h in hits[:OVERVIEW_SECTIONS]:
        words = h.passages[0].text.split()
        gist = " ".join(words[:OVERVIEW_WORDS]) + ("…" if len(words) > OVERVIEW_WORDS else "")
        lines.append(f"• {h.section}: {gist}")
    more = f"\n(and {len(hits) - OVERVIEW_SECTIONS} more sections)" if len(hits) > OVERVIEW_SECTIONS else ""
    lead = "The reading's sections:" if retrieval.place else "The reading has no summary; its sections:"
    body = lead + "\n" + "\n".join(lines) + more
    return Answer(
        retrieval.question,
        body,
        True,
        sources,
        citation=f"Source: the sections of {hits[0].document}",
        coverage=(retrieval.confidence, retrieval.threshold),
        rule=decided_by(retrieval),
        evidence=tuple(h.passages[0] for h in hits[:OVERVIEW_SECTIONS]),
    )


def extractive_answer(retrieval: Retrieval, following: Callable[[Passage], Passage | None] = lambda p: None) -> Answer:
    """Quote the reading faithfully; never add words it does not contain."""
    sources = sources_of(retrieval)
    coverage = (retrieval.confidence, retrieval.threshold)
    if not retrieval.hits:
        return Answer(retrieval.question, f"{NOT_COVERED} No reading is indexed yet.", False, ())
    if retrieval.place == "unknown section":
        headings = [h.section for h in retrieval.overview]
        listed = ", ".join(headings[:OVERVIEW_LISTED]) + (
            f", … ({len(headings)} in all)" if len(headings) > OVERVIEW_LISTED else ""
        )
        text = f"The reading has no section of that number. Its sections: {listed}."
        return Answer(retrieval.question, text, False, sources, coverage=coverage)
    if retrieval.overview:
        return _overview(retrieval)
    top: SectionHit = retrieval.hits[0]
    if not retrieval.covered:
        unstated = UNSTATED.get(retrieval.unstated, "").format(unmentioned=retrieval.unmentioned)
        text = f"{NOT_COVERED}{unstated} The closest section is “{top.section}”, which says: “{top.passages[0].text}”"
        return Answer(retrieval.question, text, False, sources, coverage=coverage, rule=decided_by(retrieval))
    evidence = select_evidence(retrieval, following)
    sections = list(dict.fromkeys(p.section for p in evidence))
    ordered = sorted(evidence, key=lambda p: (sections.index(p.section), p.position))
    body = "\n".join(_quote(p) for p in ordered) + unanswered_note(retrieval)
    return Answer(
        retrieval.question,
        body,
        True,
        sources,
        citation=citation(sections, top.document),
        coverage=coverage,
        rule=decided_by(retrieval),
        evidence=tuple(ordered),
    )
