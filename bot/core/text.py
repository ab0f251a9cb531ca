"""Text safety shared by every output path, in neutral terms: no mass mention, sane input.

Adapters translate their platform's mention syntax at the edge (Slack's ``<@U1|bob>`` and
``<!here>``, Discord's ``<@123>``) into neutral text (``@bob``, ``@here``) on the way in, and
make their own syntax inert on the way out; the core only ever sees and writes neutral
mentions: ``@name`` words, of which ``@everyone``, ``@here`` and ``@channel`` are mass mentions.
"""

from __future__ import annotations

import re

from bot.errors import InputError

MAX_QUESTION_CHARS = 2000
ZWSP = "\u200b"

MASS_MENTION = re.compile(r"@(everyone|here|channel)\b", re.IGNORECASE)
MENTION = re.compile(r"(?<![\w.@])@[^\W\d_][\w.\-]*|(?<![\w.@])@\d[\w\-]*")  # @name, @U123, @1234
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def neutralize_mentions(text: str) -> str:
    """Make mass mentions inert: a zero-width space after the ``@`` keeps the word and pings
    nobody (``@​here``). A plain ``@name`` pings nobody on any platform (each needs its own
    syntax, which its adapter escapes), so it is left as written ("Mention @readbot …")."""
    return MASS_MENTION.sub(lambda m: f"@{ZWSP}{m.group(1)}", text)


def strip_mentions(text: str) -> str:
    """A question without the mentions in it (addressing the bot, pinging people)."""
    return re.sub(r"\s+", " ", MENTION.sub(" ", text)).strip()


def clean_question(raw: object) -> str:
    """The question to answer, or InputError with a message fit for the asker."""
    if not isinstance(raw, str):
        raise InputError("A question must be text.")
    if len(raw) > MAX_QUESTION_CHARS * 4:
        raise InputError(f"That question is {len(raw):,} characters long; please keep it under {MAX_QUESTION_CHARS:,}.")
    text = strip_mentions(CONTROL.sub(" ", raw))
    if not text:
        raise InputError("Please ask a question about the reading, for example: “What is the main argument?”")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(
            f"That question is {len(text):,} characters long; please keep it under {MAX_QUESTION_CHARS:,}."
        )
    if not re.search(r"[^\W\d_]{2,}", text):
        raise InputError("That doesn't look like a question. Ask something about the reading in a few words.")
    return text


def counted(n: int, noun: str) -> str:
    """``"1 section"``, ``"3 sections"``: a count with its noun in the right number."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
