"""Typo tolerance against a reading's own vocabulary ("pre-trainng" → "pre-training").

A term the reading never uses is matched to a reading word one edit away (a letter
dropped, added, swapped or changed), found through a deletion index (the SymSpell
idea: two words are one edit apart when they share a one-letter deletion). Only terms
of six letters or more are corrected, to the reading's most frequent candidate, so
short words never turn into other words ("stock" stays "stock", not "stick").
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Container, Iterable

MIN_LENGTH = 6


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class Speller:
    def __init__(self, counts: Counter[str]) -> None:
        self.counts = counts
        self._index: dict[str, set[str]] = defaultdict(set)
        for word in counts:
            if len(word) >= MIN_LENGTH - 1:
                self._index[word].add(word)
                for d in _deletions(word):
                    self._index[d].add(word)

    def correct(self, term: str) -> str | None:
        """The reading word ``term`` most likely misspells, or None."""
        if len(term) < MIN_LENGTH or term in self.counts:
            return None
        candidates: set[str] = set(self._index.get(term, ()))
        for d in _deletions(term):
            candidates |= self._index.get(d, set())
        candidates = {c for c in candidates if _one_edit(term, c)}
        if not candidates:
            return None
        return max(sorted(candidates), key=lambda c: self.counts[c])


def _one_edit(a: str, b: str) -> bool:
    """Levenshtein distance 1, or one transposition of neighbours."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def speller(terms: Iterable[str]) -> Speller:
    return Speller(Counter(terms))


# Chat shorthand members type, spelled out before a question is searched: the models and the coverage
# decision know "you" and "because", not "u" and "bc". General English, for any reading; only forms
# that mean one thing (no "y", "k", "da").
SHORTHAND = {
    "u": "you",
    "ya": "you",
    "ur": "your",
    "r": "are",
    "til": "until",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "bc": "because",
    "bcuz": "because",
    "cuz": "because",
    "coz": "because",
    "b/c": "because",
    "w/": "with",
    "w/o": "without",
    "abt": "about",
    "smth": "something",
    "sth": "something",
    "ppl": "people",
    "tho": "though",
    "thru": "through",
    "b4": "before",
    "wat": "what",
    "wut": "what",
    "gonna": "going to",
    "wanna": "want to",
    "gotta": "got to",
    "dunno": "don't know",
    "idk": "I don't know",
    "imo": "in my opinion",
    "imho": "in my opinion",
    "btw": "by the way",
    "rn": "right now",
}
_SHORTHAND = re.compile(  # typed in lower case, a word of its own ("Part U", "R&D", "a u-turn" stay)
    r"(?<![\w/&'’-])(" + "|".join(re.escape(k) for k in sorted(SHORTHAND, key=len, reverse=True)) + r")(?![\w/&'’-])"
)


def spelled_out(question: str, used: Container[str] = ()) -> str:
    """``question`` with chat shorthand spelled out ("do u have to wait til the end" → "do you have
    to wait until the end"), except a form the readings themselves use as a word (``used``: "r" in
    a reading about statistics, "u" in one about physics)."""
    return _SHORTHAND.sub(lambda m: m.group(0) if m.group(0) in used else SHORTHAND[m.group(0)], question)
