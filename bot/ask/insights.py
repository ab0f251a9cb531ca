"""What the group asked: questions asked and answered, the sections asked about most, the questions
the reading didn't cover grouped by similarity, and the feedback on answers.

Grouping is by word overlap, not embeddings: a question is its content words (lower case, light
stemming, stop words and question framing such as "what does … say about" dropped, as in retrieval:
:mod:`bot.knowledge.terms`), and it joins the group whose first question it overlaps most, if their
Jaccard similarity is at least :data:`SIMILAR`. It needs no model (the CLI runs it without loading
one) and is fast: candidate groups come from a prefix-filtered inverted index of words, so /insights
over 10,000 stored questions stays under a second (``benchmarks/bench_insights.py``).

:data:`SIMILAR` was chosen on two readings' questions: FairytaleQA's 23 stories (each its own reading,
split in two halves) and the shipped reading's question set. ``benchmarks/calibrate_insights.py``
prints, per threshold, how many *distinct* questions get wrongly merged and how many rewordings (other
framing, no question mark, a content word left out) are found with their question. At 0.6 every
rewording is found and about one distinct question in ten is merged (FairytaleQA's hard case: several
questions about one character); above 2/3 a rewording missing one of three words is lost.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from bot.ask.answers import AnswerLog
from bot.knowledge.terms import QUESTION_FRAME, STOPWORDS, WORD, stem

SIMILAR = 0.6  # Jaccard similarity of content words at which two uncovered questions are grouped
TOP_SECTIONS = 10
TOP_UNCOVERED = 15


_stem = lru_cache(maxsize=100_000)(stem)  # a backlog repeats its words


def content_words(question: str) -> frozenset[str]:
    words = WORD.findall(question.lower().replace("’", "'"))
    return frozenset(_stem(w) for w in words if w not in STOPWORDS and w not in QUESTION_FRAME and len(w) > 1)


def group_similar(questions: Iterable[str], threshold: float = SIMILAR) -> list[tuple[str, int]]:
    """``(question, count)`` per group of similar questions, largest first; the question shown is the
    group's most asked wording (the first asked among equals).

    Greedy, in the order asked: a question joins the group whose first question it is most similar to
    (Jaccard of content words at least ``threshold``), else starts a group. Questions with the same
    content words are taken together, and candidate groups come from a prefix-filtered inverted index
    (each set indexed and probed by its ``len - ceil(threshold * len) + 1`` rarest words, which two sets
    with a Jaccard similarity of at least ``threshold`` always share), so a large backlog stays fast."""
    wordings: dict[frozenset[str] | str, Counter[str]] = {}
    for question in questions:
        words = content_words(question)
        key: frozenset[str] | str = words if words else question.strip().lower()  # no words: only itself
        wordings.setdefault(key, Counter())[question.strip()] += 1
    frequency: Counter[str] = Counter(w for key in wordings if isinstance(key, frozenset) for w in key)

    def prefix(words: frozenset[str]) -> list[str]:
        rarest = sorted(words, key=lambda w: (frequency[w], w))
        return rarest[: len(words) - math.ceil(threshold * len(words) - 1e-9) + 1]

    heads: list[frozenset[str]] = []
    members: list[list[Counter[str]]] = []
    index: dict[str, list[int]] = {}
    for key, counted in wordings.items():
        best, best_score = -1, 0.0
        if isinstance(key, frozenset):
            seen: set[int] = set()
            for word in prefix(key):
                for g in index.get(word, ()):
                    if g not in seen:
                        seen.add(g)
                        head = heads[g]
                        shared = len(key & head)
                        score = shared / (len(key) + len(head) - shared)
                        if score > best_score:
                            best, best_score = g, score
        if best >= 0 and best_score >= threshold:
            members[best].append(counted)
            continue
        heads.append(key if isinstance(key, frozenset) else frozenset())
        members.append([counted])
        if isinstance(key, frozenset):
            for word in prefix(key):
                index.setdefault(word, []).append(len(heads) - 1)
    counted_groups = []
    for order, parts in enumerate(members):
        total: Counter[str] = Counter()
        for part in parts:
            total.update(part)
        shown = max(total.items(), key=lambda kv: kv[1])[0]  # Counter keeps first-seen order among equals
        counted_groups.append((sum(total.values()), order, shown))
    counted_groups.sort(key=lambda t: (-t[0], t[1]))
    return [(shown, n) for n, _, shown in counted_groups]


@dataclass(frozen=True)
class Insights:
    days: int
    questions: int
    answered: int
    not_covered: list[tuple[str, int]]
    top_sections: list[tuple[str, int]]
    up: int
    down: int
    marked_down: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "questions": self.questions,
            "answered": self.answered,
            "not_covered": [{"question": q, "count": n} for q, n in self.not_covered],
            "top_sections": [{"section": s, "count": n} for s, n in self.top_sections],
            "feedback": {"up": self.up, "down": self.down},
            "marked_down": self.marked_down,
        }

    def text(self) -> str:
        span = "day" if self.days == 1 else f"{self.days} days"
        if not self.questions and not (self.up or self.down):
            return f"No questions were asked in the last {span}."
        lines = [
            f"What the group asked in the last {span}: {self.questions} question(s), "
            f"{self.answered} answered from the reading, {self.questions - self.answered} not covered."
        ]
        if self.top_sections:
            lines.append("Sections asked about most:")
            lines.extend(f"  • {s} ({n})" for s, n in self.top_sections)
        if self.not_covered:
            lines.append("Questions the reading didn't cover:")
            lines.extend(f"  • {q} (×{n})" if n > 1 else f"  • {q}" for q, n in self.not_covered)
        lines.append(f"Feedback: 👍 {self.up}, 👎 {self.down}.")
        if self.marked_down:
            lines.append("Answers marked 👎:")
            for entry in self.marked_down:
                where = f" [{', '.join(entry['sections'])}]" if entry["sections"] else ""
                notes = "; ".join(f"“{n}”" for n in entry["notes"][:3])
                lines.append(f"  • {entry['question']}{where} (👎 {entry['down']})" + (f": {notes}" if notes else ""))
        return "\n".join(lines)


def summarize(
    asked: Sequence[tuple[str, str, list[str]]],
    verdicts: dict[str, int],
    marked_down: list[dict[str, Any]],
    *,
    days: int,
    threshold: float = SIMILAR,
) -> Insights:
    """``asked``: (question, status, cited sections) rows (:meth:`bot.ask.answers.AnswerLog.asked_since`)."""
    sections: Counter[str] = Counter()
    uncovered: list[str] = []
    answered = 0
    for question, status, cited in asked:
        if status == "answered":
            answered += 1
            sections.update({s for s in cited if isinstance(s, str) and s})
        else:
            uncovered.append(question)
    return Insights(
        days=days,
        questions=len(asked),
        answered=answered,
        not_covered=group_similar(uncovered, threshold)[:TOP_UNCOVERED],
        top_sections=sections.most_common(TOP_SECTIONS),
        up=verdicts.get("up", 0),
        down=verdicts.get("down", 0),
        marked_down=marked_down,
    )


async def gather(log: AnswerLog, now: datetime, days: int) -> Insights:
    """The insights of the ``days`` before ``now``: read from the store, grouped in a worker thread."""
    since = now - timedelta(days=days)
    asked = await log.asked_since(since)
    verdicts = await log.verdicts_since(since)
    marked_down = await log.marked_down_since(since)
    return await asyncio.to_thread(summarize, asked, verdicts, marked_down, days=days)
