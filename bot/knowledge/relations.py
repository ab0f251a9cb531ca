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

A choice between two things is asked the same way: "is the main issue generalization or compute?",
"does the bull fight the troll or the giant?", "which matters more to him, pretraining or RL?". Each
alternative is searched with what the question says before it ("is the main issue generalization",
"is the main issue compute"), so the reply shows what the reading says of each. Only a question
that is the choice itself counts: it opens with "is/does/did…" or "which", and the alternatives end
it. "How should AI be deployed, like a finished product or like a learner?" asks how, and its
alternatives only illustrate the answer, so it is searched as one; so is "is he for or against it?",
whose alternatives are not things the reading tells of. No FairytaleQA val question is a choice
(none of its replies changes); dev d08 above is searched whole as before.
"""

from __future__ import annotations

import re

from bot.knowledge.terms import STOPWORDS, content_terms

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
# "is the main issue generalization or compute?": the question is the choice, the alternatives end it
CHOICE = re.compile(
    r"^\s*(?P<lead>(?:is|are|was|were|does|do|did|will|would|should|can|could|has|have|had|which)\b.*?)"
    r"\s+or\s+(?P<second>[^,;:?!]+?)\s*\??\s*$",
    re.IGNORECASE,
)
_DETERMINERS = frozenset({"the", "a", "an", "his", "her", "their", "its", "my", "our", "this", "that"})


def relation_ends(question: str) -> list[str] | None:
    """The two things ``question`` asks the relation of (or asks to choose between), or None."""
    for pattern in RELATIONS:
        match = pattern.search(question)
        if match:
            first = match.group(1).strip(" ,?.:")
            second = _TAIL.split(match.group(2))[0].strip(" ,?.:")
            if first and second:
                return [first, second]
    return choice_ends(question)


def choice_ends(question: str) -> list[str] | None:
    """For "is the main issue generalization or compute?": each alternative with what the question says
    before the first ("is the main issue generalization", "is the main issue compute"), or None. The
    first alternative has as many words as the second ("the troll or the giant"); neither may start with
    a word that is no part of a thing's name ("for or against it", "with AI or stay separate")."""
    match = CHOICE.match(question)
    if not match or re.search(r"\bor\b", match.group("lead"), re.IGNORECASE):
        return None
    second = match.group("second").split()
    lead = match.group("lead").rstrip(" ,").split()
    if not 1 <= len(second) <= 4 or len(lead) <= len(second):
        return None
    first = lead[-len(second) :]
    before = " ".join(lead[: -len(second)])
    for words in (first, second):
        head = words[0].lower().strip(",")
        if (head in STOPWORDS and head not in _DETERMINERS) or not content_terms(" ".join(words)):
            return None
    return [f"{before} {' '.join(first)}".strip(" ,"), f"{before} {' '.join(second)}".strip(" ,")]
