"""Questions about how two things relate, split into the two things.

"How do the straight-shot plan and the 15-year-old idea fit together?", "how does his taste connect
to the idea that humans learn better?", "what's the difference between the thylakoids and the
stroma?", "compare chlorophyll and RuBisCO": each end is searched on its own, and when the two
are told in different sections both are quoted (:meth:`bot.knowledge.retrieval.Retriever.search_parts`).
Searched as one, such a question finds the section that best matches the words of both, and
quotes one side only.

General English phrasing, for any reading: "how do X and Y fit together / relate / connect /
compare / differ", "how does X connect to / relate to / tie into / compare with Y", "compare X
and Y" (not "compare how X and Y get feedback": the two ends share what follows), "the
difference / relationship / connection / link between X and Y". An end that the reading doesn't
cover leaves the question to be searched as one, so an out-of-scope comparison ("the difference
between GPT-4 and GPT-5") is declined as before.
"""

from __future__ import annotations

import re

_TOGETHER = (
    r"(?:fit together|go together|tie together|work together|relate(?: to each other)?|connect|compare|differ|"
    r"interact|line up|are related|are connected|are linked)"
)
_AUX = r"(?:do|does|did|is|are|was|were|might|would|could|can)"
_TO = (
    r"(?:connect(?:ed)?\s+(?:to|with)|relate(?:d)?\s+to|tie\s+(?:in)?to|tied\s+to|link(?:ed)?\s+to|"
    r"compare\s+(?:to|with)|fit\s+with|differ\s+from|square\s+with)"
)
RELATIONS = (
    re.compile(rf"^\s*how\s+{_AUX}\s+(.+?)\s+(?:and|&)\s+(.+?)\s+{_TOGETHER}\b", re.IGNORECASE),
    re.compile(rf"^\s*how\s+{_AUX}\s+(.+?)\s+{_TO}\s+(.+)", re.IGNORECASE),
    re.compile(
        r"^\s*(?:compare|contrast)\s+(?!how\b|what\b|why\b|whether\b)(.+?)\s+(?:and|with|to|vs\.?|versus)\s+(.+)",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?:difference|relationship|relation|connection|link|tension)\s+between\s+(.+?)\s+and\s+(.+)", re.I),
)
_TAIL = re.compile(r"[?:;!]|,\s")  # the second end stops where the question goes on ("…, in his view?")


def relation_ends(question: str) -> list[str] | None:
    """The two things ``question`` asks the relation of, or None."""
    for pattern in RELATIONS:
        match = pattern.search(question)
        if match:
            first = match.group(1).strip(" ,?.:")
            second = _TAIL.split(match.group(2))[0].strip(" ,?.:")
            if first and second:
                return [first, second]
    return None
