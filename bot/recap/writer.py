"""The recap written by the configured LLM (READBOT_LLM): the model writes the themes, points and
open questions from the thread's messages; readbot keeps the rules: at most 8 points, no member's
words quoted beyond 20 (a point that repeats a longer run of a member's message verbatim is cut),
and the passages touched come from readbot's own search of the reading, never from the model."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.core.events import PastMessage
from bot.recap.summary import MAX_POINTS, MAX_QUOTED_WORDS, Recap, Search, Theme, _passages, member_texts, quoted

PROMPT = """You recap a reading group's discussion thread for its members.
Write at most {max_points} short points grouped by theme, then the questions members asked that nobody
answered. Paraphrase: never copy more than {max_words} words of a member's message. Mention nobody.
Use exactly this form:
## <theme>
- <point>
## Open questions
- <question>

The thread, oldest first (readbot is the bot):
{thread}
"""
MAX_THREAD_CHARS = 12_000
_WORD = re.compile(r"[\w']+")


def prompt(messages: Sequence[PastMessage]) -> str:
    lines: list[str] = []
    size = 0
    for message in reversed(messages):  # the newest kept when the thread is long
        who = "readbot" if message.user.is_bot else f"member {message.user.name or message.user.id}"
        line = f"- {who}: {' '.join(message.text.split())[:600]}"
        size += len(line)
        if size > MAX_THREAD_CHARS:
            break
        lines.append(line)
    return PROMPT.format(max_points=MAX_POINTS, max_words=MAX_QUOTED_WORDS, thread="\n".join(reversed(lines)))


def _runs(text: str, n: int) -> set[tuple[str, ...]]:
    tokens = [t.lower() for t in _WORD.findall(text)]
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def within_quote_limit(point: str, members: Sequence[str]) -> str:
    """The point, cut to 20 words if it repeats more than 20 consecutive words of a member's message."""
    long_runs = set().union(*(_runs(text, MAX_QUOTED_WORDS + 1) for text in members)) if members else set()
    if long_runs and _runs(point, MAX_QUOTED_WORDS + 1) & long_runs:
        return quoted(point)
    return quoted(point, 60)


def parse(text: str, members: Sequence[str]) -> tuple[list[Theme], list[str]]:
    themes: list[tuple[str, list[str]]] = []
    questions: list[str] = []
    section: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            title = line.lstrip("#").strip().strip("*").strip()
            section = "open" if title.lower().startswith("open question") else title
            if section != "open":
                themes.append((quoted(title, 8) or "Theme", []))
        elif line.startswith(("- ", "* ", "• ")) and section is not None:
            item = within_quote_limit(line[2:].strip(), members)
            if not item:
                continue
            if section == "open":
                questions.append(item)
            elif sum(len(p) for _, p in themes) < MAX_POINTS:
                themes[-1][1].append(item)
    return [Theme(label, tuple(points)) for label, points in themes if points], questions[:5]


def llm_recap(model: Any, messages: Sequence[PastMessage], search: Search, invoke: Any) -> Recap | None:
    """The LLM's recap, or None when its answer has no point in the expected form. ``invoke(model,
    prompt)`` runs the model with readbot's timeout (it raises on a failure or a timeout)."""
    members = member_texts(messages)
    text = invoke(model, prompt(messages))
    themes, questions = parse(text, members)
    if not themes:
        return None
    return Recap(len(members), tuple(themes), tuple(questions), tuple(_passages(themes, questions, search)))
