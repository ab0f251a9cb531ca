"""Questions that ask for a kind of thing (an amount, a feeling), and whether a passage holds one.

"How many employees does SSI have?", "how much funding has it raised?", "how old is he?",
"what's SSI valued at?" and "what year was it founded?" are answered by a number. A reading
that never states one near the passage the question finds doesn't answer it, however close that
passage's topic is ("SSI aims to build safe superintelligence directly…"): the embedding and
the cross-encoder judge what a sentence is about, not whether it holds the kind of thing asked
for. So such a question is covered only if one of the best sentences the cross-encoder read
states an amount: a digit, a currency or percent sign, or a number written out ("three whole
days", "a hundred pounds", "the second stage").

Nothing here knows a reading: the words are English number words and the question's own
phrasing. "How much" asks for an amount only before a noun ("how much money") or with a verb
of amount ("how much did he offer", "how much does it cost"); "how much does neuroscience play
into his research?", "how much of it is about safety?" and "how much weight does he give to
intuition?" ask for a degree, and are decided as usual. Vague amounts ("many", "a few") don't
count: they are in every story ("they wandered through many lands") and would let the rule
decide nothing.

Names were tried the same way ("what's the name of the patient?" needs a capitalised word) and
left out: a story names a character in one part and asks about her in another ("what was the
name of the king's daughter?" is answered by Kari's introduction, parts later), and a guide
names things by common nouns ("the name of the green pigment": chlorophyll).

Measured (``benchmarks/bench_retrieval.py``; the calibration set with ``--reading``): of the
shipped reading's 92 out-of-scope calibration questions, 85 are declined instead of 81; no
in-scope question of either kind is declined by it; FairytaleQA's amount questions are answered
as before (none of its 1,025 replies changes), and its other stories' questions are declined a
little more often (0.907 → 0.908).

A feeling is asked for by "how did she feel when…?", "how will the troll feel…?", "how did the
king react…?". The sentence that best matches such a question by its words and the cross-encoder
often tells the event ("Then the woman took the black tea-cups and threw them at it"), and the
one that says how someone took it is among the other sentences the cross-encoder read ("…they
could hear the mother in the cloud weeping and scolding"). So among those sentences of the best
section, the first that names or shows a feeling (an English word of feeling: sad, overjoyed,
wept, frightened, pleased…; not "cried", which mostly means "said" in a story) leads. Nothing is
declined by it: a reading that names no feeling is answered as before. FairytaleQA's coders mark
"feeling" as one of the seven kinds of question a narrative is asked (its ``attribute`` field); of
the 109 val questions this phrasing finds, 21 replies changed: the 40 explicit ones' answer words
0.375 → 0.450 (all 750 explicit: 0.544 → 0.548), replies 39.3 → 39.5 words on average.
"""

from __future__ import annotations

import re

# "how much" followed by one of these asks for a degree or a share, not for an amount: "how much does it
# matter", "how much of it", "how much weight does he give to intuition"
_DEGREE = (
    r"(?:does|did|do|is|was|are|were|will|would|can|could|should|has|have|had|it|this|that|of|more|less|better|"
    r"worse|weight|emphasis|importance|attention|focus|influence|impact|credit|trust|faith|sense|thought|detail|"
    r"space|difference|progress|confidence|belief|priority|stock|value|say|control|interest|concern|hope|risk|"
    r"role|effect|help|harm|good|damage|sway|power)"
)
_AMOUNT_VERB = (
    r"(?:costs?|cost(?:ed|ing)|weighs?|weighed|pay|paid|earns?|earned|charged?|raised?|spend|spent|"
    r"sell|sold|offer(?:ed)?|owe[ds]?|buy|bought|receive[ds]?)"
)
# what a "what is…?" question asks the amount of: "what's his salary?", "what is SSI valued at?"
_AMOUNT_NOUN = (
    r"(?:salary|salaries|wages?|valuation|valued\s+at|revenues?|profits?|net\s+worth|population|headcount|budget)"
)
ASKS_AMOUNT = re.compile(
    rf"\bhow\s+many\b"
    rf"|^\s*what(?:['’]s|\s+is|\s+was|\s+are|\s+were)\b[^?]*\b{_AMOUNT_NOUN}\b"
    rf"|\bhow\s+much\s+(?!{_DEGREE}\b)[a-z]"
    rf"|\bhow\s+much\b[^?.,;]*?\b{_AMOUNT_VERB}\b"
    rf"|\bhow\s+old\b"
    rf"|\b(?:what|which)\s+year\b",
    re.IGNORECASE,
)
NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds thousand thousands "
    "million millions billion billions trillion trillions dozen dozens half twice thrice "
    "second third fourth fifth sixth seventh eighth ninth tenth"  # "the second stage": there are two
).split()
STATES_AMOUNT = re.compile(r"\d|[$€£¥%]|\b(?:" + "|".join(NUMBER_WORDS) + r")\b", re.IGNORECASE)


def asks_amount(question: str) -> bool:
    """Whether ``question`` asks how many, how much (of something), how old or what year."""
    return bool(ASKS_AMOUNT.search(question))


def states_amount(text: str) -> bool:
    """Whether ``text`` states an amount: a digit, a currency or percent sign, or a number word."""
    return bool(STATES_AMOUNT.search(text))


def unstated(question: str, texts: list[str]) -> str:
    """The kind of thing ``question`` asks for that none of ``texts`` holds: "amount" or ""."""
    if asks_amount(question) and not any(states_amount(t) for t in texts):
        return "amount"
    return ""


# "how did the old woman feel when she saw the demons?", "how did the king react?": a feeling answers it
ASKS_FEELING = re.compile(
    r"\bhow\s+(?:did|does|do|was|were|is|are|will|would|might|could|must)\b[^?]*?\b"
    r"(?:feel|feels|felt|feeling|react|reacts|reacted|respond|responds|responded)\b"
    r"|\bwhat\s+(?:did|does|do|was|were|is|are)\b[^?]*?\b(?:feel|feels|felt|feeling|feelings)\b",
    re.IGNORECASE,
)
# English words that name a feeling or show one ("wept"); not "cried", which mostly means "said" in a story
FEELING_WORDS = frozenset(
    """sad sadly sadness sorrow sorrows sorrowful sorrowing sorrowfully grief grieved grieving unhappy unhappily
    miserable misery wretched gloomy melancholy heartbroken wept weep weeping weeps tears tearful mourn mourned
    mourning downcast dejected despair despaired desperate hopeless lonely disappointed distressed troubled
    happy happily happiness glad gladly gladness joy joyful joyfully joyous overjoyed delighted delight delighted
    pleased pleasure cheerful cheerfully merry merrily content contented rejoiced rejoicing thankful grateful
    relieved proud pride excited eager hopeful satisfied
    angry angrily anger angered furious fury rage raged enraged wrath wrathful annoyed vexed indignant irritated
    afraid fear feared fearful frightened fright terrified terror scared alarmed dread anxious anxiously worried
    nervous uneasy horrified panic
    surprised surprise astonished astonishment amazed amazement bewildered puzzled confused shocked
    ashamed shame embarrassed guilty jealous jealousy envious envy pity sorry shy bored weary
    love loved loving hate hated hatred fond""".split()
)


def asks_feeling(question: str) -> bool:
    """Whether ``question`` asks how someone felt or reacted."""
    return bool(ASKS_FEELING.search(question))


def states_feeling(text: str) -> bool:
    """Whether ``text`` names or shows a feeling (one of ``FEELING_WORDS``)."""
    return any(w in FEELING_WORDS for w in re.findall(r"[a-z]+", text.lower()))
