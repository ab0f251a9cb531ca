"""Structure-aware chunking: documents → sections → bullet/sentence chunks, streamed.

A reading is split along its own structure, so every chunk knows its document, the
exact heading line of its section and its position:

* headings are markdown ``#`` lines, or plain-text lines (short, no final full stop)
  that introduce a block of bullets or paragraphs; a heading with nothing under it
  (a title repeated in a page header, "Back to …" navigation) makes no section;
* each bullet (``•``, ``-``, ``*``, ``◦``, ``1.``…) is one chunk, nested bullets
  remember their parent bullet; prose is split into sentences, one chunk each
  (:mod:`bot.knowledge.sentences`); no chunk is longer than the embedding model reads.

Chunks are small on purpose: one embedding each, a sentence is what an answer quotes,
and section scores aggregate their sentences (see :mod:`bot.knowledge.retrieval`).
Chunking streams: :func:`iter_chunks` reads lines one at a time and holds at most one
paragraph (capped) in memory, whatever the file size.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.knowledge.sentences import capped, sentences

BULLET = re.compile(r"^(?P<indent>[ \t\u00a0]*)(?:[•◦▪‣●○\-*+–]|\d{1,3}[.)])[ \t\u00a0]+(?P<text>\S.*)$")
# Control characters never reach the index (nor answers): the ones that separate words (vertical tab,
# form feed, the ASCII separators, NEL) become a space, the rest (NUL, escapes, C1, a stray BOM) go.
SPACING_CONTROL = re.compile(r"[\x0b\x0c\x1c-\x1f\x85]")
CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ufeff]")
MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(?P<text>.+?)\s*#*\s*$")
MAX_HEADING_CHARS = 120
MAX_PARAGRAPH_BUFFER = 20_000  # chars of one paragraph held before its first sentences are emitted


@dataclass(frozen=True)
class Chunk:
    document: str
    section: str
    position: int  # order of the chunk within its document, from 0
    text: str  # what the reading says, as written (bullet mark removed)
    parent: str = ""  # the enclosing bullet's text, for nested bullets
    title: str = ""  # the document's title line
    section_order: int = 0  # the section's place in the document, from 0 (what a progress bound compares)

    @property
    def search_text(self) -> str:
        """The chunk prefixed with its heading (what Chroma stores as the document)."""
        return f"{self.section}: {self.text}" if self.section else self.text


@dataclass
class Section:
    heading: str
    lines: list[str] = field(default_factory=list)


def _is_plain_heading(line: str) -> bool:
    text = line.strip()
    return (
        0 < len(text) <= MAX_HEADING_CHARS
        and not BULLET.match(line)
        and not text.endswith((".", ",", ";", ":", "!", "?"))
        and not line[:1].isspace()
    )


def _clean(line: str) -> str:
    return line.rstrip("\r\n").replace("\r", "")


def scan(lines: Iterable[str]) -> tuple[str, bool]:
    """The document's title (its first line) and whether it is markdown (any ``#`` heading)."""
    title = ""
    markdown = False
    for raw in lines:
        line = _clean(raw)
        if not title and line.strip():
            md = MD_HEADING.match(line)
            title = md.group("text").strip() if md else line.strip()
        if MD_HEADING.match(line):
            markdown = True
            if title:
                break
    return title, markdown


def title_line(lines: list[str]) -> str:
    """A plain-text document's title: its first line when that line stands as a heading (short,
    no final punctuation, a blank line or the end after it), else ""."""
    for at, raw in enumerate(lines):
        line = _clean(raw)
        if line.strip():
            following = _clean(lines[at + 1]) if at + 1 < len(lines) else ""
            return line.strip() if _is_plain_heading(line) and not following.strip() else ""
    return ""


def _events(lines: Iterable[str], markdown: bool) -> Iterator[tuple[str, str]]:
    """("heading", text), ("line", text) and ("blank", "") events, with the plain-text
    heading rule applied (it looks one line ahead).

    In plain text a heading is a short line without final punctuation that stands on its
    own: the next line is blank, a bullet, or another such line (so the first line of a
    hard-wrapped paragraph is not taken for one)."""
    last_content = ""  # the section's last content line, "" right after a heading
    iterator = iter(lines)
    current = next(iterator, None)
    while current is not None:
        following = next(iterator, None)
        line = _clean(current)
        if not line.strip():
            yield "blank", ""
        else:
            md = MD_HEADING.match(line)
            if md:
                yield "heading", md.group("text").strip()
                last_content = ""
            elif (
                not markdown
                and _is_plain_heading(line)
                and _stands_alone(_clean(following) if following is not None else "")
                and not _continues_paragraph(last_content)
            ):
                yield "heading", line.strip()
                last_content = ""
            else:
                yield "line", line.rstrip()
                last_content = line
        current = following


def _stands_alone(following: str) -> bool:
    return not following.strip() or bool(BULLET.match(following)) or _is_plain_heading(following)


def _continues_paragraph(last: str) -> bool:
    """A short line right after unfinished prose is that prose's last line, not a heading."""
    if not last:
        return False
    return not BULLET.match(last) and not last.rstrip().endswith((".", "!", "?", ":", "…"))


def split_sections(text: str) -> tuple[str, list[Section]]:
    """The document's title and its non-empty sections, in order."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    title, markdown = scan(lines)
    sections: list[Section] = []
    current = Section(heading="")
    for kind, value in _events(lines, markdown):
        if kind == "heading":
            if current.lines:
                sections.append(current)
            current = Section(heading=value)
        elif kind == "line":
            current.lines.append(value)
    if current.lines:
        sections.append(current)
    return title, sections


class _Builder:
    """Turns the event stream into chunks, holding one paragraph and the open bullets."""

    def __init__(self, document: str, title: str) -> None:
        self.document = document
        self.title = title
        self.heading = ""
        self.position = 0
        self.section_order = 0  # counts sections that hold chunks; a heading with nothing under it counts none
        self._made_in_section = False
        self.paragraph: list[str] = []
        self.size = 0
        self.stack: list[tuple[int, str]] = []  # (indent, text) of open bullets
        self.pending: Chunk | None = None  # the last bullet: wrapped lines may still join it

    def _make(self, text: str, parent: str = "") -> Chunk:
        chunk = Chunk(self.document, self.heading, self.position, text, parent, self.title, self.section_order)
        self.position += 1
        self._made_in_section = True
        return chunk

    def flush_bullet(self) -> Iterator[Chunk]:
        if self.pending is None:
            return
        pending, self.pending = self.pending, None
        pieces = list(capped(pending.text))
        if len(pieces) == 1:
            yield pending
            return
        # a bullet too long for the model: its pieces keep its parent and position order
        self.position = pending.position
        for piece in pieces:
            yield self._make(piece, pending.parent)

    def flush_paragraph(self, *, keep_tail: bool = False) -> Iterator[Chunk]:
        if not self.paragraph:
            return
        found = sentences(" ".join(self.paragraph))
        self.paragraph.clear()
        self.size = 0
        if keep_tail and found:  # the last sentence may go on in the next line
            tail = found.pop()
            self.paragraph.append(tail)
            self.size = len(tail)
        for sentence in found:
            yield self._make(sentence)

    def feed(self, kind: str, value: str) -> Iterator[Chunk]:
        if kind == "heading":
            yield from self.flush_bullet()
            yield from self.flush_paragraph()
            self.stack.clear()
            if self._made_in_section:
                self.section_order += 1
                self._made_in_section = False
            self.heading = value
            return
        if kind == "blank":
            yield from self.flush_paragraph()
            return
        bullet = BULLET.match(value)
        if not bullet:
            if self.stack and value[:1].isspace() and self.pending is not None:
                indent, body = self.stack[-1]  # wrapped continuation of a bullet
                self.stack[-1] = (indent, f"{body} {value.strip()}")
                p = self.pending
                self.pending = replace(p, text=self.stack[-1][1])
                return
            yield from self.flush_bullet()
            self.stack.clear()
            self.paragraph.append(value.strip())
            self.size += len(value)
            if self.size > MAX_PARAGRAPH_BUFFER:
                yield from self.flush_paragraph(keep_tail=True)
            return
        yield from self.flush_bullet()
        yield from self.flush_paragraph()
        indent = len(bullet.group("indent").expandtabs(4))
        body = bullet.group("text").strip()
        while self.stack and self.stack[-1][0] >= indent:
            self.stack.pop()
        parent = self.stack[-1][1] if self.stack else ""
        self.pending = self._make(body, parent)
        self.stack.append((indent, body))

    def close(self) -> Iterator[Chunk]:
        yield from self.flush_bullet()
        yield from self.flush_paragraph()


def strip_control(line: str) -> str:
    """The line without control characters (tabs kept; those that separate words become spaces)."""
    return CONTROL.sub("", SPACING_CONTROL.sub(" ", line))


def iter_chunks(lines: Callable[[], Iterable[str]], document: str) -> Iterator[Chunk]:
    """Chunks of a document whose lines ``lines()`` yields (called twice: a first pass
    finds the title and whether the file is markdown), streamed in order. Control characters
    are stripped from every line first (:func:`strip_control`)."""

    def clean() -> Iterator[str]:
        return (strip_control(line) for line in lines())

    title, markdown = scan(clean())
    builder = _Builder(document, title)
    for kind, value in _events(clean(), markdown):
        yield from builder.feed(kind, value)
    yield from builder.close()


def chunk_text(text: str, document: str) -> list[Chunk]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return list(iter_chunks(lambda: lines, document))


def chunk_file(path: Path, document: str, encoding: str = "utf-8-sig") -> Iterator[Chunk]:
    """Stream a file's chunks (UnicodeDecodeError surfaces while iterating)."""

    def lines() -> Iterator[str]:
        with path.open("r", encoding=encoding, newline="") as handle:
            for line in handle:
                # universal newlines off: a lone "\r" is a line end too
                yield from line.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n").split("\n")

    return iter_chunks(lines, document)


def document_name(path: Path) -> str:
    return path.stem
