"""Whether a message asks something, from the form of its words only (nothing about any reading):
a sentence ending in a question mark, a sentence opening with an interrogative ("why…", "how did…",
"to whom…", "is it…", "does anyone…"), an imperative request ("explain…", "tell me…", "summarise…"),
or an indirect question ("I wonder why…", "not sure what…"). A sentence ending in "!" is an
exclamation ("What a twist!", "Did it!"), not a question. Used for follow-ups without a mention and
for a thread recap's open questions."""

from __future__ import annotations

import re

from bot.core.text import MENTION

WH = frozenset({"what", "why", "how", "who", "whom", "whose", "where", "when", "which", "whatever", "wherefore"})
AUX = frozenset(
    {
        "is", "are", "was", "were", "am", "do", "does", "did", "can", "could", "will", "would", "should", "shall",
        "may", "might", "must", "has", "have", "had", "isn't", "aren't", "wasn't", "weren't", "don't", "doesn't",
        "didn't", "can't", "couldn't", "won't", "wouldn't", "shouldn't", "hasn't", "haven't", "hadn't",
    }
)  # fmt: skip
# "Can't wait!", "Must be nice": auxiliaries that open a statement about the speaker far more often
STATEMENT_AUX = frozenset({"can't", "must", "won't", "don't", "didn't", "am"})
# without a question mark, these ask only when an auxiliary follows ("when did…", "why is…")
CLAUSE_WH = frozenset({"when", "where", "why", "whenever", "wherever"})
SUBJECTS = frozenset(
    {"i", "you", "he", "she", "it", "we", "they", "the", "a", "an", "his", "her", "their", "my", "our", "your", "its"}
    | {"this", "these", "those", "there"}
)
PREPOSITIONS = frozenset({"to", "in", "at", "for", "from", "by", "with", "of", "on", "about", "into", "under"})
# "how" asks when the next word does ("how does…", "how many…"); "how cool!" exclaims
HOW_ASKS = frozenset(
    AUX
    | {"many", "much", "come", "long", "often", "far", "old", "exactly", "else", "so", "about", "big", "soon", "well"}
)
OPENERS = frozenset(
    {"so", "and", "but", "ok", "okay", "hmm", "hm", "also", "then", "wait", "oh", "um", "uh", "well", "btw", "also,"}
)
IMPERATIVE = re.compile(
    r"^(?:please\s+|pls\s+|can\s+you\s+|could\s+you\s+|would\s+you\s+)?"
    r"(?:explain|describe|summari[sz]e|clarify|elaborate|define|compare|recap|outline|"
    r"tell\s+(?:me|us)|remind\s+(?:me|us)|show\s+(?:me|us)|give\s+(?:me|us)|walk\s+(?:me|us)\s+through|"
    r"help\s+(?:me|us)\s+(?:understand|see|figure)|list\s+(?:the|all|some))\b"
)
INDIRECT = re.compile(
    r"\b(?:i\s+wonder|i'm\s+wondering|i\s+am\s+wondering|wondering|curious|not\s+sure|unsure|confused\s+about|"
    r"(?:don't|do\s+not|didn't)\s+(?:understand|get|see)|(?:want|like)\s+to\s+know|any\s+idea|no\s+idea)\s+"
    r"(?:if|whether|why|what|how|who|whom|whose|where|when|which|about)\b"
)
SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def _words(sentence: str) -> list[str]:
    return WORD.findall(sentence.lower().replace("’", "'"))


def _sentence_asks(sentence: str) -> bool:
    ending = sentence.rstrip()[-1:] if sentence.strip() else ""
    words = _words(sentence)
    if not words:
        return False
    if ending == "?":
        return True
    if ending == "!":
        return False
    while len(words) > 1 and words[0] in OPENERS:
        words = words[1:]
    text = " ".join(words)
    first, second = words[0], words[1] if len(words) > 1 else ""
    if first in PREPOSITIONS and second in WH:  # "to whom…", "in what way…"
        return len(words) >= 3
    if first in WH:
        if first == "what" and second in ("a", "an"):  # "what a twist"
            return False
        if first == "how" and second not in HOW_ASKS:  # "how cool", "how sad"
            return False
        if first in CLAUSE_WH and second not in AUX:  # "when they heard this, …": a clause, not a question
            return False
        if second in SUBJECTS:  # "what she said", "who he was": an embedded clause
            return False
        return len(words) >= 2
    if first in AUX and first not in STATEMENT_AUX:
        return len(words) >= 3
    if IMPERATIVE.match(text):
        return True
    return bool(INDIRECT.search(text))


def asks_something(text: str) -> bool:
    """Whether a message asks something (any of its sentences does)."""
    return any(_sentence_asks(s) for s in SENTENCE.findall(text))


def addresses_someone(text: str) -> bool:
    """A message that mentions someone (``@name``) is addressed to them, not to readbot."""
    return MENTION.search(text) is not None
