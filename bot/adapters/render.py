"""Rendering helpers shared by adapters (platform limits stay in each adapter)."""

from __future__ import annotations

import re

SENTENCE_BREAK = re.compile(r"(?<=[.!?…”])\s+|\n")


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, at line or sentence
    boundaries where possible, at a space otherwise, never inside a word unless a
    single word is longer than ``limit``."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = max((m.end() for m in SENTENCE_BREAK.finditer(window) if m.end() <= limit), default=0)
        if cut < limit // 3:
            space = window.rfind(" ", 0, limit)
            cut = space + 1 if space > 0 else limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return [p for p in pieces if p]
