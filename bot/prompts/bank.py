"""The bank of discussion questions (prompts/discussion.yaml, plus each channel's own) and
the order a channel works through it: a shuffled cycle, then a new cycle in a new order."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.core.banks import load_entries
from bot.core.text import MENTION as NEUTRAL_MENTION
from bot.errors import InputError
from bot.paths import shipped

DISCUSSION_PATH = shipped("prompts") / "discussion.yaml"
MAX_QUESTION_CHARS = 280
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MENTION = re.compile(r"<[@!#][^>]*>|@(everyone|here|channel)\b", re.IGNORECASE)
SENSIBLE_END = re.compile(r"[?.!…][\"'”’»)\]]*$")
SHUFFLE_TRIES = 50


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    section: str = ""
    passage: str = ""

    @property
    def custom(self) -> bool:
        return not self.section


def load_questions(path: Path | None = None) -> list[Question]:
    """The shipped discussion bank; a broken one is a ConfigError naming the file and the entry."""
    fields = ("id", "question", "section", "passage")
    entries = load_entries(path or DISCUSSION_PATH, "questions", fields, "question")
    return [Question(q["id"], q["question"], q["section"], q["passage"]) for q in entries]


def questions_upto(questions: Sequence[Question], upto: int | None, section_order: Mapping[str, int]) -> list[Question]:
    """The questions a group that has read up to section order ``upto`` may be asked: those whose
    section (``section_order``: heading → order in the reading) is not past it, and moderators' own
    (no section). ``upto`` None: all of them. A section the reading does not have is left out when
    bounded (it can't be shown to be safe)."""
    if upto is None:
        return list(questions)
    return [q for q in questions if q.custom or section_order.get(q.section, upto + 1) <= upto]


def question_key(text: str) -> str:
    """The same question however it is spaced or capitalised."""
    normal = " ".join(text.split()).casefold().rstrip("?.!… ")
    return hashlib.sha256(normal.encode()).hexdigest()


def check_question(raw: str) -> str:
    """A moderator's question, cleaned, or InputError saying what to fix."""
    text = " ".join(CONTROL.sub(" ", raw or "").split())
    if not text:
        raise InputError("Give the question to add: /prompt add <question>")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(f"That question is {len(text)} characters long; keep it to {MAX_QUESTION_CHARS}.")
    if MENTION.search(text) or NEUTRAL_MENTION.search(text):  # platform syntax, or as adapters hand it in (@bob)
        raise InputError("A discussion question can't mention people, channels or groups.")
    if len(re.findall(r"[^\W\d_]{2,}", text)) < 2:
        raise InputError("That is too short for a discussion question: ask something people can discuss.")
    if not SENSIBLE_END.search(text):
        raise InputError("End the question with a question mark (or a full stop).")
    return text


def channel_seed(platform: str, channel: str) -> str:
    return hashlib.sha256(f"readbot-prompts:{platform}:{channel}".encode()).hexdigest()[:16]


def cycle_order(ids: list[str], seed: str, cycle: int, previous: list[str] | None = None) -> list[str]:
    """The order of cycle ``cycle``: a shuffle decided by (seed, cycle), so it can be
    previewed. It differs from the previous cycle's order and does not open with the
    question the previous cycle ended on, where the bank is large enough for that."""
    ids = sorted(set(ids))
    before = [i for i in (previous or []) if i in set(ids)]
    last = previous[-1] if previous else None
    fallback: list[str] | None = None
    for attempt in range(SHUFFLE_TRIES):
        order = list(ids)
        random.Random(f"{seed}:{cycle}:{attempt}").shuffle(order)
        new_order = order != before or len(ids) < 2
        fresh_start = not order or order[0] != last or len(ids) < 2
        if new_order and fresh_start:
            return order
        if new_order and fallback is None:
            fallback = order
    return fallback or order
