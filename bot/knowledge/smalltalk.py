"""Greetings, thanks, "what can you do?" and "what should we discuss?": a short friendly reply, never retrieval.

Only a message that is *nothing but* small talk counts ("thanks!", "hi readbot",
"what can you do?", "help"); "thanks, and what is a value function?" is a question.
"""

from __future__ import annotations

import re

_FILLER = r"(?:\s+(?:readbot|bot|there|so much|a lot|again|everyone|all|folks|friend))*"
GREETING = re.compile(rf"^(?:hi|hello|hey|hiya|howdy|yo|good (?:morning|afternoon|evening)){_FILLER}$")
_PRAISE = r"(?:ok|okay|cool|nice|great|awesome|perfect|good|got it)"
THANKS = re.compile(rf"^(?:{_PRAISE},? )?(?:thanks?|thank you|thx|ty|cheers|much appreciated|appreciate it){_FILLER}$")
BYE = re.compile(rf"^(?:bye|goodbye|see you|see ya|later|good night){_FILLER}$")
ACK = re.compile(
    r"^(?:ok|okay|cool|nice|great|got it|awesome|perfect|lol|haha|"
    r"(?:good|nice|great) (?:bot|job|answer|one)|well done)"
    rf"{_FILLER}$"
)
META = re.compile(
    r"^(?:help(?: me| please| pls)?|/help|\?|commands|menu|(?:list|show)(?: me)? (?:the |your )?commands|"
    r"what (?:commands|can i ask)(?: (?:are there|do you have|can i use|you))?|what are your commands|"
    r"(?:what|how) (?:can|do|could|should) (?:you|i) (?:do|help(?: me)?(?: with)?|use you|ask(?: you)?)|"
    r"what (?:are|is) (?:you|readbot|this bot)|who are you|how do(?:es)? (?:you|this|readbot) work|"
    r"what do you do)"
    rf"{_FILLER}$"
)
# asking readbot what to discuss, not what the reading says: the daily prompts are the answer
DISCUSS = re.compile(
    r"^(?:so )?(?:what|which (?:questions?|topics?)) (?:should|shall|can|could|do) (?:we|i|the group) "
    r"(?:discuss|talk about|debate)(?: (?:about|in|from|with))?"
    r"(?: (?:this|it|the reading|this reading|today|this week|next|in the group|together))*"
    rf"{_FILLER}$"
)

ABOUT = (
    "I answer questions about the group's reading: I quote the passage that answers "
    "and cite its section, or say so when the reading doesn't cover it. "
    "Ask me anything about it, or see /help for polls and daily prompts."
)
REPLIES = {
    "greeting": f"Hi! {ABOUT}",
    "thanks": f"You're welcome! {ABOUT}",
    "bye": "Bye, and happy reading! Ask me about the reading any time (/help lists what I can do).",
    "ack": f"Glad to help. {ABOUT}",
    "meta": ABOUT,
    "discuss": (
        "Each day I post a discussion prompt in the channel, on its schedule, and open a thread for it. "
        "Suggest one with /prompt suggest <question>; moderators can post the next now with /prompt now. "
        "Ask me about the reading any time (/help lists what I can do)."
    ),
}


def small_talk_kind(question: str) -> str | None:
    """Which kind of small talk the whole message is, or None for a real question."""
    text = re.sub(r"[\s!.,;:)(*~👋🙏😊🙂]+$", "", question.strip().lower())
    text = re.sub(r"^[\s,.!]+", "", re.sub(r"\s+", " ", text)).replace("’", "'")
    text = re.sub(r"\?+$", "", text).strip() or ("?" if "?" in question else "")
    kinds = (
        ("greeting", GREETING),
        ("thanks", THANKS),
        ("bye", BYE),
        ("ack", ACK),
        ("meta", META),
        ("discuss", DISCUSS),
    )
    for kind, pattern in kinds:
        if pattern.match(text):
            return kind
    return None


def small_talk_reply(kind: str) -> str:
    return REPLIES[kind]
