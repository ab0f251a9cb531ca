"""The rules a discussion question or a poll claim must meet, whoever wrote it (the offline drafter,
a language model, a moderator's edit): one place, so a draft is checked the same way however it
was made. Each check returns the cleaned text or raises InputError saying what to fix."""

from __future__ import annotations

import hashlib
import re

from bot.errors import InputError

MAX_QUESTION_CHARS = 280  # as bot.prompts.bank.MAX_QUESTION_CHARS (a test keeps them equal)
MAX_CLAIM_CHARS = 300  # as bot.polls.model.MAX_CLAIM_CHARS
MIN_CLAIM_WORDS = 5
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# neutral mass mentions, and any platform's mention syntax that reached us raw
MENTION = re.compile(r"<[@!#][^>]*>|@\u200b?(everyone|here|channel)\b", re.IGNORECASE)
WORD = re.compile(r"[^\W\d_]{2,}")


def clean(raw: object) -> str:
    if not isinstance(raw, str):
        raise InputError("The text must be text.")
    return " ".join(CONTROL.sub(" ", raw).split())


def _common(text: str, what: str, limit: int) -> None:
    if not text:
        raise InputError(f"The {what} is empty: write the new text after the draft's id.")
    if len(text) > limit:
        raise InputError(f"That {what} is {len(text)} characters long; keep it to {limit}.")
    if MENTION.search(text):
        raise InputError(f"A {what} can't mention people, channels or groups (@everyone, @here, @channel).")


def check_question(raw: object) -> str:
    """An open discussion question: ends with a question mark, a few real words."""
    text = clean(raw)
    _common(text, "discussion question", MAX_QUESTION_CHARS)
    if len(WORD.findall(text)) < 4:
        raise InputError("That is too short for a discussion question: ask something people can discuss.")
    if not re.search(r"\?[\"'”’»)\]]*$", text):
        raise InputError("A discussion question ends with a question mark.")
    return text


def check_claim(raw: object) -> str:
    """A poll claim: one declarative sentence of at least five words, not a question."""
    text = clean(raw)
    _common(text, "claim", MAX_CLAIM_CHARS)
    if len(WORD.findall(text)) < MIN_CLAIM_WORDS:
        raise InputError(f"A claim needs at least {MIN_CLAIM_WORDS} words, so people can agree or disagree with it.")
    if "?" in text:
        raise InputError("A claim is a statement people agree or disagree with, not a question: drop the “?”.")
    if not re.search(r"[.!…][\"'”’»)\]]*$", text):
        raise InputError("End the claim with a full stop.")
    return text


CHECKS = {"prompt": check_question, "claim": check_claim}


def text_key(text: str) -> str:
    """The same text however it is spaced, capitalised or punctuated at the end."""
    normal = " ".join(re.sub(r"[^\w\s]", " ", text).split()).casefold()
    return hashlib.sha256(normal.encode()).hexdigest()
