"""Word-level text handling shared by lexical search and the coverage decision."""

from __future__ import annotations

import re
from functools import lru_cache

WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")

STOPWORDS = frozenset(
    """
a about above after again against all also am an and any are aren as at be because
been before being below between both but by can could did didn do does doesn doing don
down during each else even ever every few for from further get gets got had has have
having he her here hers herself him himself his how i if in into is isn it its itself
just let like ll me might more most much must my myself no nor not now of off on once
one only or other ought our ours ourselves out over own per please quite rather re
really s same shall she should so some such than that the their theirs them themselves
then there these they this those through to too under until up upon us ve very was
wasn way we were weren what when where whether which while who whom whose why will
with would yes yet you your yours yourself yourselves
""".split()
)

# Words that frame a question about a reading without saying what it is about.
QUESTION_FRAME = frozenset(
    """
say says said saying tell tells told think thinks thought believe believes believed
mention mentions mentioned talk talks talked discuss discusses discussed explain
explains explained describe describes described mean means meant claim claims claimed
argue argues argued view views opinion opinions idea ideas stance take position
according point points know knows knew want wants wanted feel feels felt make makes
episode podcast interview reading summary text guest host conversation chat show
anything something thing things stuff kind sort lot lots much many
story book chapter article author paper passage essay talk reader readers
q question questions random dumb silly quick wondering wonder wondered curious bit
basically actually literally understand understood right correct exactly someone
anyone somebody anybody pls plz please ok okay hey hi guys folks lol tbh imo idk
""".split()
)


def stem(word: str) -> str:
    """A light suffix stripper: enough to match plural/verb forms, never aggressive."""
    for suffix, keep in (
        ("ies", "y"),
        ("sses", "ss"),
        ("ing", ""),
        ("edly", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
        ("ly", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                continue
            return word[: len(word) - len(suffix)] + keep
    return word


@lru_cache(maxsize=4096)
def _stem_cached(word: str) -> str:
    return stem(word)


def words(text: str) -> list[str]:
    return [w.replace("’", "'").split("'")[0] for w in WORD.findall(text.lower())]


def terms(text: str) -> list[str]:
    """Stemmed content words, stopwords removed (order kept, repeats kept)."""
    return [_stem_cached(w) for w in words(text) if w not in STOPWORDS and len(w) > 1]


def content_terms(text: str, frame: frozenset[str] = frozenset()) -> list[str]:
    """The question's distinct content terms: no stopwords, no question-frame words, and
    none of ``frame`` (the reading's own title words, such as the guest's name)."""
    seen: dict[str, None] = {}
    for w in words(text):
        if w in STOPWORDS or w in QUESTION_FRAME or len(w) < 2:
            continue
        s = _stem_cached(w)
        if s in frame or w in frame:
            continue
        seen.setdefault(s, None)
    return list(seen)
