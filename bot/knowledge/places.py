"""Questions that point into a reading rather than ask what it says: who a name is, and where.

"Who is Kari?" is answered where the reading introduces the name, when it is one (a word the
reading always capitalises; "who is the king?" is an ordinary question, and so is "what is a
value function?", answered where it is explained); :func:`identity_name` recognises the question.

The rest of this module is about places.

A member asks "what happens in part 3?", "what's chapter IV about?", "how does the story end?",
"how does it begin?" or "what sections does it have?". Searched for its words, such a question
finds whatever sentence shares "part" or "end" with it ("they reached the end of the forest").
This module recognises those questions; :mod:`bot.knowledge.retrieval` answers them from the
place they name. Nothing here knows a reading: sections are named by the words readers use
(part, chapter, section and a number, arabic or roman), and the beginning and the end are the
first and the last section of whatever the reading is.

A question only counts as one of these when naming the place is all it does, apart from words
that ask what goes on there ("happens", "going on"): "why did the bull doubt it would end well?"
and "what did the emperor do when the dance had ended?" are ordinary questions. A question that
names a section and asks something of it ("what does the cook say in part 15?") is searched
within that section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.knowledge.terms import STOPWORDS, content_terms, words

READING = r"(?:it|this|that|the\s+(?:story|reading|tale|book|episode|text|piece|article|essay|chapter|podcast))"
SECTION_WORD = r"(?:part|chapter|section|ch\.?|pt\.?)"
# roman numerals in capitals only, and a lone "I" only at the end of a clause ("part I?", not "which part I liked")
ROMAN = r"(?-i:[IVXLC]{2,}|[VXLC]|I(?=\s*(?:[?.!,;:]|$)))"
SECTION_REF = re.compile(rf"\b{SECTION_WORD}\s*(\d+\b|{ROMAN}(?![A-Za-z]))", re.IGNORECASE)
ORDINALS = {
    "first": 1,
    "opening": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "last": -1,
    "final": -1,
    "closing": -1,
    "penultimate": -2,
}
WORD_NUMBERS = {w: n for n, w in enumerate("one two three four five six seven eight nine ten".split(), 1)}
# "the last part", "the first chapter" (not "the first part of his argument"), "part two"
SECTION_ORDINAL = re.compile(
    rf"\b({'|'.join(ORDINALS)})\s+{SECTION_WORD}\b(?!\s+of\b(?!\s+{READING}))"
    rf"|\b{SECTION_WORD}\s+({'|'.join(WORD_NUMBERS)})\b",
    re.IGNORECASE,
)
ENDING = re.compile(
    rf"\bhow\s+(?:does|did|will|do)\s+{READING}\s+(?:end|finish|conclude|wrap\s+up)\b"
    rf"|\b(?:at|in)\s+the\s+(?:very\s+)?end(?:\s+of\s+{READING})?\b|\bthe\s+ending\b|\bend\s+of\s+{READING}\b",
    re.IGNORECASE,
)
BEGINNING = re.compile(
    rf"\bhow\s+(?:does|did|do)\s+{READING}\s+(?:begin|start|open)\b"
    rf"|\b(?:at|in)\s+the\s+(?:very\s+)?(?:beginning|start)(?:\s+of\s+{READING})?\b"
    rf"|\b(?:beginning|start|opening)\s+of\s+{READING}\b",
    re.IGNORECASE,
)
OUTLINE = re.compile(r"\b(?:sections|chapters|parts|table\s+of\s+contents|outline|structure)\b", re.IGNORECASE)
# words that ask what goes on in a place, without saying what about
PLACE_FRAME = frozenset(
    """
happen happens happened happening go goes going went end ends ended ending begin begins began
beginning start starts started starting open opens opened opening finish finishes finished
conclude concludes concluded conclusion wrap wraps cover covers covered contain contains list
show give name names overview outline structure contents table order there
part parts section sections chapter chapters ch pt summarize summarise summary recap gist tldr tl dr
""".split()
)
ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}


def roman(text: str) -> int:
    values = [ROMAN_VALUES[c] for c in text.lower()]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))


@dataclass(frozen=True)
class Place:
    kind: Literal["section", "beginning", "ending", "outline"]
    number: int = 0  # for "section": the number it is named by; below 0, counted from the end ("the last part": -1)
    asks: tuple[str, ...] = ()  # for "section": what else the question asks (its content terms)


def _rest(question: str, pattern: re.Pattern[str], frame: frozenset[str]) -> list[str]:
    return [t for t in content_terms(pattern.sub(" ", question), frame) if t not in PLACE_FRAME]


def place_of(question: str, subjects: frozenset[str] = frozenset()) -> Place | None:
    """The place ``question`` asks about, if asking about a place is what it does. ``subjects``:
    the reading's own subject names, which say nothing about where."""
    frame = subjects | PLACE_FRAME
    ref = SECTION_REF.search(question)
    if ref is not None:
        token = ref.group(1)
        number = int(token) if token.isdigit() else roman(token)
        if number < 1:
            return None
        return Place("section", number, tuple(_rest(question, SECTION_REF, frame)))
    ordinal = SECTION_ORDINAL.search(question)
    if ordinal is not None:
        number = ORDINALS[ordinal.group(1).lower()] if ordinal.group(1) else WORD_NUMBERS[ordinal.group(2).lower()]
        return Place("section", number, tuple(_rest(question, SECTION_ORDINAL, frame)))
    if ENDING.search(question) and not _rest(question, ENDING, frame):
        return Place("ending")
    if BEGINNING.search(question) and not _rest(question, BEGINNING, frame):
        return Place("beginning")
    if OUTLINE.search(question) and not _rest(question, OUTLINE, frame):
        return Place("outline")
    return None


# "who is Kari?", "who was the Mester Stoorworm?", "who's ilya"
IDENTITY = re.compile(
    r"^\s*who(?:\s+(?:is|was|are|were)|['’]s)\s+(?:the\s+)?([\w'’\-]+(?:\s+[\w'’\-]+){0,3})\s*\??\s*$", re.I
)
NAME_WORD = re.compile(r"[\w'’\-]+")


def identity_name(question: str) -> list[str] | None:
    """The words of what a "who is X?" question asks about, or None. Whether X is a name is for
    the reading to say (how it writes X)."""
    match = IDENTITY.match(question)
    named = words(match.group(1)) if match else []
    return named if named and not any(w in STOPWORDS for w in named) else None
