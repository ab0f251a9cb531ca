"""What a "what is X?" question asks, and where a reading says what X is.

A member who asks "what is the calvin cycle?" or "what does SSI stand for?" wants the line
that says what it is. Retrieval alone finds the sentences that use the term most, which in
an expository reading are often the ones that use it, not the one that explains it ("Some
G3P leaves the cycle…" for the Calvin cycle; "…two carriers, ATP and NADPH" for NADPH).

A reading says what X is in one of two places, strongest first:

1. a section whose heading names X ("The Calvin cycle", "The role of emotions and value
   functions"): the section is its account of X. Its defining sentence leads, or else its
   opening (a section says what it is about first);
2. a sentence that defines X by the way English defines a term: "X is a/the …", "X means/refers
   to …", "X (…)" or "… (X)", "X, a/an/the/which/where …", "X: …", "… called/known as X", "… as a X"
   or "… is a X" (strong: the reading's first such sentence, where it first explains the term; the
   reading then covers X), or else "the green pigment chlorophyll", a noun phrase that names X's
   kind (weak: a story describes a character many times, so the one retrieval scores best; whether
   the reading covers X is left to the coverage decision).

Measured: no FairytaleQA val question is phrased so (none of its 1,025 replies changes); on the
shipped reading's calibration set "What does SSI stand for?" now cites its gold section (in-scope
top-1 104 → 105 of 111), and "what does 'age of research' mean here" quotes "a new “age of
research,” where innovation…" instead of the summary's opening.

Nothing here knows a reading: the patterns are English's, the headings and sentences the
reading's own. A question whose term the reading neither heads nor defines is answered as
any other (and "what is chain of thought prompting?" is still declined on a reading that
never explains it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.knowledge.terms import STOPWORDS, WORD, content_terms, stem, words


def _term(n: int) -> str:
    return rf"[\"“‘']?(?P<term{n}>[\w\-]+(?:\s+[\w\-]+){{0,3}}?)[\"”’']?"


_FILLER = r"(?:\s+(?:actually|really|exactly|even|precisely))?"
_WHERE = r"(?:\s+(?:again|here|in (?:this|the) (?:reading|text|book|story|article|chapter|context)))?"
DEFINITIONAL = re.compile(
    r"^\s*(?:"
    rf"what(?:\s+is|['’]s)\s+meant\s+by\s+(?:an?\s+|the\s+)?{_term(4)}|"
    rf"what(?:\s+exactly|\s+really)?(?:\s+(?:is|are)|['’]s|s){_FILLER}\s+(?:an?\s+|the\s+)?{_term(1)}"
    rf"|what\s+(?:does|do)\s+(?:an?\s+|the\s+)?{_term(2)}{_FILLER}\s+(?:mean|stand\s+for|refer\s+to)"
    rf"|what\s+(?:does|do)\s+(?:he|she|they|it|the\s+(?:author|reading|text|writer|guest))\s+mean\s+by\s+(?:an?\s+|the\s+)?{_term(3)}"
    rf"|(?:define|definition\s+of|meaning\s+of|list|explain)\s+(?:an?\s+|the\s+|all\s+the\s+)?{_term(5)}"
    rf"|(?:remind\s+me|tell\s+me|explain)\s+what\s+(?:an?\s+|the\s+)?{_term(6)}\s+(?:is|are|means?)"
    rf"){_WHERE}\s*[?.!]*\s*$",
    re.IGNORECASE,
)
# a sentence that says what the term is (``{t}``: the term); the reading's first such sentence leads
STRONG = (  # X is a … / X refers to …
    r"^(?:[^,;:]{{0,40}}?,\s*)?(?:(?:an?|the)\s+)?{t}[\"”’']?(?:\s*\([^)]*\))?\s+"
    r"(?:(?:is|are|was|were)\s+(?:an?|the|one|what|when|how|where)|refers?\s+to|means?|denotes?|stands?\s+for)\b",
    r"{t}[\"”’']?\s*\((?=[^)]*[A-Za-z]{{3}})",  # X (its expansion or gloss)
    r"\(\s*{t}\s*\)",  # … (X)
    r"{t}[\"”’']?,[\"”’']?\s+(?:an?|the|which|where|when|in which|meaning)\b",  # X, a …
    r"^\W*{t}[\"”’']?\s*[:—–]\s*\S",  # X: …
    r"\b(?:called|known\s+as|termed|named|dubbed)\s+(?:an?\s+|the\s+)?[\"“‘']?{t}\b",  # … called X
    r"\b(?:as|is|are|was|were)\s+(?:an?|the)\s+[\"“‘']?{t}\b",  # oxygen as a by-product, … is a X
)
_LINK = r"(?:and|or|nor|but|of|in|on|at|to|from|with|for|by|as|than|like)\b"  # not a word of a kind's name
WEAK = rf"\b(?:an?|the)\s+(?:(?!{_LINK})[a-z][a-z\-]+\s+){{{{1,3}}}}{{t}}\b"  # the green pigment chlorophyll


def defined_term(question: str) -> list[str] | None:
    """The words of the term a "what is X?" question asks about (X of one to four words whose
    first and last are not stopwords and not a possessive: "what is Kari's job?" asks about Kari,
    not what a job is), or None."""
    match = DEFINITIONAL.match(question)
    if not match:
        return None
    written = next(g for g in match.groups() if g).lower().split()  # "by-product" is no stopword
    if written[0] in STOPWORDS or written[-1] in STOPWORDS:
        return None
    return words(" ".join(written)) or None


def term_pattern(term: Sequence[str]) -> str:
    """The term as it may be written: hyphens or spaces between its words, its last word plural."""
    *head, last = (re.escape(w) for w in term)
    return r"\b" + r"".join(f"{w}[\\s\\-]+" for w in head) + f"{last}(?:s|es)?\\b"


class Definer:
    """How strongly a sentence defines one term: 2 by a strong pattern, 1 by a weak one, else 0."""

    def __init__(self, term: Sequence[str]) -> None:
        t = term_pattern(term)
        self._mentions = re.compile(t, re.IGNORECASE)
        self._strong = [re.compile(p.format(t=t), re.IGNORECASE) for p in STRONG]
        self._weak = re.compile(WEAK.format(t=t), re.IGNORECASE)

    def strength(self, text: str) -> int:
        if not self._mentions.search(text):
            return 0
        if any(p.search(text) for p in self._strong):
            return 2
        return 1 if self._weak.search(text) else 0


def heading_names(heading: str, term: Sequence[str]) -> bool:
    """Whether a section's heading names the term: every content word of it, lightly stemmed, and
    none as a possessive ("SSI’s approach" is about SSI's approach, not about what SSI is)."""
    wanted = set(content_terms(" ".join(term)))
    named = {stem(w) for w in WORD.findall(heading.lower()) if "'" not in w and "’" not in w}
    return bool(wanted) and wanted <= named
