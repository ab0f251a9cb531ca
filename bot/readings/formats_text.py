"""Plain text and markdown: decoded as UTF-8 and split with the knowledge chunker's own
section splitter, so ``readbot ingest`` and readings agree on every section name."""

from __future__ import annotations

from bot.knowledge.chunking import MD_HEADING, split_sections, title_line
from bot.readings.formats_base import ReadingFormatError, Section, clean_text, display_name, make_sections, stem

BINARY_SHARE = 0.2  # text whose sample is more than 20% control characters (UTF-16, binary) is not text


def decode_text(data: bytes, name: str) -> str:
    """UTF-8 (a BOM is fine), newlines normalised, control characters but \\t and \\n removed."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise not_utf8(name) from None
    if looks_binary(text):
        raise not_utf8(name)
    return clean_text(text)


def not_utf8(name: str) -> ReadingFormatError:
    return ReadingFormatError(f"{display_name(name)} is not UTF-8 text: save it as UTF-8 and add it again")


def looks_binary(text: str, sample: int = 65536) -> bool:
    """Decodes as UTF-8 but is mostly control characters (NULs of UTF-16, binary data)."""
    head = text[:sample]
    controls = sum(1 for ch in head if ord(ch) < 32 and ch not in "\t\n\r\f")
    return bool(head) and controls > BINARY_SHARE * len(head)


def markdown_title(lines: list[str]) -> str:
    """The text of the first level-one ``# `` heading, or ""."""
    for line in lines:
        match = MD_HEADING.match(line)
        if match and match.group(1) == "#":
            return match.group("text").strip()
    return ""


def load_text(data: bytes, name: str, fmt: str) -> tuple[str, tuple[Section, ...]]:
    """Title and sections of a .txt or .md file."""
    text = decode_text(data, name)
    lines = text.split("\n")
    title = (markdown_title(lines) if fmt == "md" else title_line(lines)) or stem(name)
    _, parts = split_sections(text)
    pairs: list[tuple[str, str]] = []
    cursor = 0  # index in `lines` after the last line placed
    for part in parts:
        if part.heading:
            cursor = _after_heading(lines, cursor, part.heading)
        paragraphs: list[list[str]] = [[]]
        for body in part.lines:
            # split_sections keeps a section's non-blank lines in order; find each one to
            # see whether blank lines stood before it (a paragraph break)
            at = cursor
            while at < len(lines) and lines[at].rstrip() != body:
                at += 1
            if at == len(lines):  # not found (cannot happen): keep the line, no break
                paragraphs[-1].append(body)
                continue
            if paragraphs[-1] and any(not lines[k].strip() for k in range(cursor, at)):
                paragraphs.append([])
            paragraphs[-1].append(body)
            cursor = at + 1
        pairs.append((part.heading, "\n\n".join("\n".join(p) for p in paragraphs)))
    return title, make_sections(pairs, title)


def _after_heading(lines: list[str], cursor: int, heading: str) -> int:
    for at in range(cursor, len(lines)):
        match = MD_HEADING.match(lines[at])
        if (match.group("text").strip() if match else lines[at].strip()) == heading:
            return at + 1
    return cursor
