"""Text safety shared by every output path: no mass mentions, no pings, sane input."""

from __future__ import annotations

import re

from bot.errors import InputError

MAX_QUESTION_CHARS = 2000
ZWSP = "\u200b"

# Slack: <!channel>, <!here>, <!everyone>, <!subteam^ID|@team>, <@U123>, <#C123>.
SLACK_SPECIAL = re.compile(r"<!(channel|here|everyone)(\|[^>]*)?>", re.IGNORECASE)
SLACK_GROUP = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|@?([^>]*))?>", re.IGNORECASE)
SLACK_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
# Discord: <@123>, <@!123>, <@&123> (role).
DISCORD_USER = re.compile(r"<@[!&]?(\d{5,25})>")
BARE_MASS = re.compile(r"@(everyone|here|channel)\b", re.IGNORECASE)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def neutralize_mentions(text: str) -> str:
    """Make every mention inert: mass mentions keep their word but can't ping anyone
    (a zero-width space after the @), user/role mentions become plain text."""
    text = SLACK_SPECIAL.sub(lambda m: f"@{ZWSP}{m.group(1).lower()}", text)
    text = SLACK_GROUP.sub(lambda m: f"@{ZWSP}{m.group(1) or 'group'}", text)
    text = SLACK_USER.sub(lambda m: f"@{ZWSP}{m.group(2) or m.group(1)}", text)
    text = DISCORD_USER.sub(lambda m: f"@{ZWSP}{m.group(1)}", text)
    return BARE_MASS.sub(lambda m: f"@{ZWSP}{m.group(1)}", text)


def strip_mentions(text: str) -> str:
    """A question without the mentions in it (addressing the bot, pinging people)."""
    for pattern in (SLACK_SPECIAL, SLACK_GROUP, SLACK_USER, DISCORD_USER, BARE_MASS):
        text = pattern.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def clean_question(raw: object) -> str:
    """The question to answer, or InputError with a message fit for the asker."""
    if not isinstance(raw, str):
        raise InputError("A question must be text.")
    if len(raw) > MAX_QUESTION_CHARS * 4:
        raise InputError(f"That question is {len(raw):,} characters long; "
                         f"please keep it under {MAX_QUESTION_CHARS:,}.")
    text = strip_mentions(CONTROL.sub(" ", raw))
    if not text:
        raise InputError("Please ask a question about the reading, for example: "
                         "“What does Ilya mean by the age of research?”")
    if len(text) > MAX_QUESTION_CHARS:
        raise InputError(f"That question is {len(text):,} characters long; "
                         f"please keep it under {MAX_QUESTION_CHARS:,}.")
    if not re.search(r"[^\W\d_]{2,}", text):
        raise InputError("That doesn't look like a question. Ask something about the "
                         "reading in a few words.")
    return text
