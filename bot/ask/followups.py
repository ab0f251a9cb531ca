"""Follow-ups without a mention: in a thread readbot started (one of its answers, a discussion
prompt), a member's message that asks something is answered as if it mentioned readbot; chat
between members that asks nothing is left alone.

Whether a message asks something is decided by :func:`asks_something`, from the form of the words
only (nothing about any reading): a sentence ending in a question mark, a sentence opening with an
interrogative ("why…", "how did…", "to whom…", "is it…", "does anyone…"), an imperative request
("explain…", "tell me…", "summarise…"), or an indirect question ("I wonder why…", "not sure what…").
A sentence ending in "!" is an exclamation ("What a twist!", "Did it!"), not a question.
"""

from __future__ import annotations

import logging
import re

from bot.core.adapter import Responder
from bot.core.events import Command, Event, Form, Message, MessageRef, Reply, Visibility
from bot.core.feature import Handler
from bot.core.text import MENTION
from bot.store.threads import BotThreads, thread_of

log = logging.getLogger(__name__)

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


class RecordingResponder:
    """A responder that remembers the thread a public answer went to (or opens), so a member's
    follow-up there is answered without a mention."""

    def __init__(self, inner: Responder, threads: BotThreads) -> None:
        self.inner = inner
        self.threads = threads

    async def acknowledge(self) -> None:
        await self.inner.acknowledge()

    async def open_form(self, form: Form) -> None:
        await self.inner.open_form(form)

    async def reply(self, reply: Reply) -> MessageRef | None:
        ref = await self.inner.reply(reply)
        if ref is not None and reply.visibility is Visibility.PUBLIC:
            try:
                await self.threads.record(thread_of(ref), "answer")
            except Exception:  # the answer is posted; a follow-up will need a mention, that's all
                log.exception("could not record the thread of answer %s", ref)
        return ref

    def __getattr__(self, name: str) -> object:  # anything else an adapter's responder offers
        return getattr(self.inner, name)


class FollowUps:
    """Wraps the Q&A handler: every answer's thread is recorded; a message that doesn't address
    readbot is answered only if it is a question, in a thread readbot started, to nobody else."""

    def __init__(self, answer: Handler, threads: BotThreads | None) -> None:
        """Without ``threads`` (nothing recorded) no message that doesn't address readbot is answered."""
        self.answer = answer
        self.threads = threads

    async def wants_answer(self, message: Message) -> bool:
        if message.addressed:
            return True
        if self.threads is None or not message.where.thread_id:
            return False
        if addresses_someone(message.text) or not asks_something(message.text):
            return False
        return await self.threads.kind(message.where) is not None

    async def __call__(self, event: Event, responder: Responder) -> None:
        assert isinstance(event, Message | Command)
        if isinstance(event, Message) and not await self.wants_answer(event):
            return  # members talking among themselves
        await self.answer(event, responder if self.threads is None else RecordingResponder(responder, self.threads))
