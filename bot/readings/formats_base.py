"""The types every loader returns, and the helpers they share: cleaning text, naming a
file in a one-line error, turning (heading, text) pairs into sections."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePath

from bot.errors import InputError

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 50 * MB
LIMIT_SETTING = "READBOT_MAX_READING_MB"

# C0 controls but \t and \n, DEL, C1 controls, and stray byte-order marks
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]")
_WHITESPACE = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+")
_BLANK_RUNS = re.compile(r"\n(?:[ \t]*\n)+")


@dataclass(frozen=True)
class Section:
    heading: str  # as the reader sees it ("## Part 2" is "Part 2"), stripped
    text: str  # the body: plain text, paragraphs separated by blank lines, no heading line


@dataclass(frozen=True)
class ReadingDoc:
    title: str
    sections: tuple[Section, ...]  # only headings with text under them, in reading order
    format: str  # "txt" | "md" | "html" | "pdf" | "epub"


class ReadingFormatError(InputError):
    """A reading file can't be used. The message is one line naming the file and the fix."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


def one_line(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def clean_text(text: str) -> str:
    """Newlines normalised to \\n; NUL, other control characters and stray BOMs removed
    (\\t and \\n kept)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def display_name(name: str) -> str:
    """The file as a person knows it, on one line."""
    shown = PurePath(name).name or name
    return one_line(_CONTROL.sub("?", shown)) or "(unnamed file)"


def stem(name: str) -> str:
    return PurePath(display_name(name)).stem


def size_text(n: int) -> str:
    """61.2 MB, 50 MB, 2 KB, 900 bytes."""
    for unit, scale in (("GB", 1024 * MB), ("MB", MB), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def short_reason(exc: BaseException) -> str:
    """A library exception as a few words for a person: its message, or its class name."""
    text = one_line(str(exc)) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def norm_words(text: str) -> str:
    """Lower-case words only: for comparing a heading with a table-of-contents label."""
    return " ".join(_WORD.findall(text.lower()))


def paragraphs_text(paragraphs: Iterable[str]) -> str:
    """Paragraphs joined by one blank line: runs of blank lines collapsed, blank lines at the
    ends and trailing spaces dropped; a first line's indentation (a nested bullet) is kept."""
    kept = (_trim(_BLANK_RUNS.sub("\n\n", p)) for p in paragraphs)
    return "\n\n".join(p for p in kept if p)


def _trim(text: str) -> str:
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def make_sections(pairs: Iterable[tuple[str, str]], title: str) -> tuple[Section, ...]:
    """Sections from (heading, text) pairs in reading order: control characters removed,
    pairs without text dropped, text before any heading put under the document's title."""
    sections = []
    for heading, text in pairs:
        body = paragraphs_text([clean_text(text)])
        if body:
            sections.append(Section(heading=one_line(clean_text(heading)) or title, text=body))
    return tuple(sections)
