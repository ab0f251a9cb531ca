"""The words around a member's question that say nothing about the reading.

Members write "ok dumb q but value functions come up in like 3 places, what's the through-line?"
or "So from what I understand he's saying the easy era of scaling is over, did I get that right
or is there nuance to it?". The embedding and the cross-encoder read every word: an opener
("ok", "hey so", "random q", "I was wondering") or a check at the end ("did I get that right?",
"…, right?", "lol") pulls a question away from the passage it asks about, and chatty questions
were the ones wrongly declined. They are left out of what is searched; the question as asked is
what the reply and the logs keep.

General English, for any reading: only words that frame a message, never one that could be what
a question is about ("right" only after a comma, "thanks" only after a comma or a full stop).
What is left must still hold a word that isn't chatter ("ok so why?" → "why?"), else the
question is searched as asked ("ok lol").
"""

from __future__ import annotations

import re

_SEP = r"[\s,:;!.]+"  # no dash: "so-called", "well-known" are words
OPENER = re.compile(
    r"^\s*(?:"
    rf"(?:ok(?:ay)?|so|hmm+|um+|uh+|well|lol|btw|by the way|anyway|alright|also)\b{_SEP}"
    rf"|(?:hey|hi|hello|yo)(?:\s+(?:guys|folks|everyone|all|team|readbot|bot))?\b{_SEP}"
    r"|(?:(?:this is|this may be|this might be|probably)\s+(?:a\s+)?)?"
    rf"(?:dumb|stupid|silly|random|quick|basic|naive|noob)\s+(?:q|qn|question)\b(?:\s+(?:but|though))?{_SEP}"
    r"|(?:(?:so\s+)?from what i (?:understand|understood|gather|read|can tell)"
    r"|if i (?:understand|understood|read) (?:it |this |that )?(?:correctly|right)"
    rf"|correct me if i'?m wrong|if i'?m not mistaken|as i understand it)\b{_SEP}"
    r"|(?:i was wondering|i'?m wondering|i wonder|i'?m curious|i am curious|just curious)"
    rf"(?:\s+(?:if|whether))?\b{_SEP}"
    r")+",
    re.IGNORECASE,
)
TRAILER = re.compile(
    r"(?:"
    r"\s*[,;]\s*(?:right|thanks|thank you|thx|ty|cheers)\b"
    r"|[.!?]\s*(?:thanks|thank you|thx|ty|cheers)\b"
    r"|[\s,;]+(?:did i get (?:that|it|this) right|am i right|is that right"
    r"|or is there (?:more |some )?nuance(?: to it)?"
    r"|or am i (?:wrong|missing something|misreading (?:it|this|that))|if that makes sense|lol|haha|lmao)\b"
    r")[\s?!.,]*$",
    re.IGNORECASE,
)
# words that are only chatter: what is left must hold another ("ok so why?" → "why?", "ok lol" stays)
CHATTER_WORDS = frozenset(
    "ok okay so hmm um uh well lol haha lmao btw anyway alright also hey hi hello yo thanks thx ty cheers right".split()
)


def without_chatter(question: str) -> str:
    """``question`` without its opener and its closing check ("hey so random q, when experiments keep
    failing, how does he stay motivated?" → "when experiments keep failing, how does he stay
    motivated?"); as asked when nothing would be left to search."""
    text = OPENER.sub("", question, count=1)
    while (trimmed := TRAILER.sub("", text)) != text:
        text = trimmed.rstrip()
        text += "" if text.endswith("?") else "?"
    text = text.strip()
    return text if any(w.lower() not in CHATTER_WORDS for w in re.findall(r"\w+", text)) else question
