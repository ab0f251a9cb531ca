"""A phrase a member quotes that the reading never uses.

"what does 'thinking fast and slow' say about emotions?" quotes a title; the reading talks about
emotions and decisions at length, so the embedding and the cross-encoder find it covered and the
reply quotes the reading's emotions line as if it were that book's view. A member who puts words in
quotation marks asks about those words: when one of them (a content word, lightly stemmed, after
spelling correction) appears nowhere in the reading, the reading does not hold what is quoted, and
readbot says so plainly ("It never mentions “thinking fast and slow”.").

A loose quote of what the reading says ("when he says 'scaling is over'") is not declined: every
content word of it is the reading's own. Only quotation marks count, never an apostrophe ("Ilya's",
"the kids' toys"). Nothing here knows a reading: its words are the reading's vocabulary.

Measured: of the shipped reading's 92 out-of-scope calibration questions, 86 are declined instead of
85; its in-scope ones that quote the reading ("'age of research'", "'straight shot'", "'passive
beneficiaries'") are answered as before; no FairytaleQA val question quotes anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

from bot.knowledge.terms import content_terms

QUOTED = re.compile(
    r"[\"“]([^\"”]{1,120})[\"”]"  # "…" or “…”
    r"|‘([^’]{1,120})’"  # ‘…’
    r"|(?:(?<=[\s(])|^)'([^']{1,120}?)'(?=[\s?.!,;:)]|$)"  # '…', opened after a space: not an apostrophe
)


def quoted_phrases(question: str) -> list[str]:
    """The phrases ``question`` puts in quotation marks, in order."""
    return [next(g for g in m.groups() if g).strip() for m in QUOTED.finditer(question)]


def unknown_quote(question: str, known: Collection[str], correct: Callable[[str], str] = lambda s: s) -> str:
    """The first quoted phrase with a content word (stem) outside ``known``, after ``correct``
    (the index's spelling correction), or ""."""
    for phrase in quoted_phrases(question):
        if any(t not in known for t in content_terms(correct(phrase))):
            return phrase
    return ""
