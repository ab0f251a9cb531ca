"""A discussion prompt as a neutral Reply, and times as people read them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.events import Reply
from bot.core.text import neutralize_mentions
from bot.prompts.bank import Question

MAX_TITLE = 80
MAX_PASSAGE = 300
HOW_TO_ASK = "Reply in this thread to discuss. Mention @readbot in this thread to ask about the reading."


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-—") + "…"


def thread_title(question: Question) -> str:
    """A short title for the thread the prompt opens (Discord thread names hold 100)."""
    return shorten(question.question, MAX_TITLE)


def prompt_post(question: Question) -> Reply:
    """The question, where in the reading it comes from with one short passage, and how
    to ask readbot about it. The post opens a thread."""
    lines = [f"Discussion question: {question.question}"]
    if question.section:
        lines.append(f"From “{question.section}”: “{shorten(question.passage, MAX_PASSAGE)}”")
    else:
        lines.append("Added by this channel's moderators.")
    lines += ["", HOW_TO_ASK]
    return Reply(
        neutralize_mentions("\n".join(lines)),
        start_thread=True,
        thread_title=neutralize_mentions(thread_title(question)),
    )


def local_time(instant: datetime, tz: ZoneInfo) -> str:
    """ "Mon 2 Mar 09:00 CET" in the channel's zone."""
    local = instant.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %H:%M} {local.tzname()}"


def utc_time(instant: datetime) -> str:
    return f"{instant:%Y-%m-%d %H:%M} UTC"
