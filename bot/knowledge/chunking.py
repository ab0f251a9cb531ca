"""Structure-aware chunking: documents → sections → bullet/paragraph chunks.

A reading is split along its own structure, so every chunk knows its document, the
exact heading line of its section and its position:

* headings are markdown ``#`` lines, or plain-text lines (short, no final full stop)
  that introduce a block of bullets or paragraphs; a heading with nothing under it
  (a title repeated in a page header, "Back to …" navigation) makes no section;
* each bullet (``•``, ``-``, ``*``, ``◦``, ``1.``…) is one chunk, nested bullets
  remember their parent bullet; prose paragraphs are chunks of whole sentences.

A chunk's vector is the normalised mean of the embeddings of its bare text and of
its text prefixed with its heading; BM25 indexes the heading-prefixed text. Measured
in ``benchmarks/bench_retrieval.py``, this beats bare bullets, heading-prefixed
bullets alone and the textbook 1000/200 splitter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

BULLET = re.compile(r"^(?P<indent>[ \t\u00a0]*)(?:[•◦▪‣●○\-*+–]|\d{1,3}[.)])[ \t\u00a0]+(?P<text>\S.*)$")
MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(?P<text>.+?)\s*#*\s*$")
SENTENCE_END = re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"”’)]))\s+(?=[A-Z“\"(])")
MAX_HEADING_CHARS = 120
MAX_PARAGRAPH_CHARS = 700


@dataclass(frozen=True)
class Chunk:
    document: str
    section: str
    position: int  # order of the chunk within its document, from 0
    text: str  # what the reading says, as written (bullet mark removed)
    parent: str = ""  # the enclosing bullet's text, for nested bullets
    title: str = ""  # the document's title line

    @property
    def search_text(self) -> str:
        """The chunk prefixed with its heading: what BM25 indexes and one of the two
        texts whose embeddings are averaged into the chunk's vector."""
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


def split_sections(text: str) -> tuple[str, list[Section]]:
    """The document's title and its non-empty sections, in order.

    In a markdown document (any ``#`` heading) only ``#`` lines are headings. In plain
    text a heading is a short line without final punctuation that stands on its own:
    the next line is blank, a bullet, or another such line (so the first line of a
    hard-wrapped paragraph is not taken for one)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    markdown = any(MD_HEADING.match(ln) for ln in lines)
    first = next((ln for ln in lines if ln.strip()), "")
    md_first = MD_HEADING.match(first)
    title = md_first.group("text").strip() if md_first else first.strip()
    sections: list[Section] = []
    current = Section(heading="")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        md = MD_HEADING.match(line)
        if md:
            heading = md.group("text").strip()
        elif not markdown and _is_plain_heading(line) and _stands_alone(lines, i) and not _continues_paragraph(current):
            heading = line.strip()
        else:
            current.lines.append(line.rstrip())
            continue
        if current.lines:
            sections.append(current)
        current = Section(heading=heading)
    if current.lines:
        sections.append(current)
    return title, sections


def _stands_alone(lines: list[str], i: int) -> bool:
    following = lines[i + 1] if i + 1 < len(lines) else ""
    return not following.strip() or bool(BULLET.match(following)) or _is_plain_heading(following)


def _continues_paragraph(section: Section) -> bool:
    """A short line right after unfinished prose is that prose's last line, not a heading."""
    if not section.lines:
        return False
    last = section.lines[-1]
    return not BULLET.match(last) and not last.rstrip().endswith((".", "!", "?", ":", "…"))


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def _paragraph_chunks(paragraph: str) -> list[str]:
    """Whole sentences grouped into pieces of at most ~MAX_PARAGRAPH_CHARS."""
    pieces: list[str] = []
    current = ""
    for sentence in _sentences(paragraph):
        if current and len(current) + 1 + len(sentence) > MAX_PARAGRAPH_CHARS:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    if current:
        pieces.append(current)
    return pieces


def chunk_text(text: str, document: str) -> list[Chunk]:
    title, sections = split_sections(text)
    chunks: list[Chunk] = []
    for section in sections:
        stack: list[tuple[int, str]] = []  # (indent, text) of open bullets
        paragraph: list[str] = []

        def flush_paragraph(heading: str = section.heading, lines: list[str] = paragraph) -> None:
            for piece in _paragraph_chunks(" ".join(lines)):
                chunks.append(Chunk(document, heading, len(chunks), piece, title=title))
            lines.clear()

        for line in section.lines:
            bullet = BULLET.match(line)
            if not bullet:
                if stack and line[:1].isspace():  # wrapped continuation of a bullet
                    indent, body = stack[-1]
                    stack[-1] = (indent, f"{body} {line.strip()}")
                    last = chunks[-1]
                    chunks[-1] = Chunk(
                        last.document, last.section, last.position, stack[-1][1], last.parent, last.title
                    )
                    continue
                stack.clear()
                paragraph.append(line.strip())
                continue
            flush_paragraph()
            indent = len(bullet.group("indent").expandtabs(4))
            body = bullet.group("text").strip()
            while stack and stack[-1][0] >= indent:
                stack.pop()
            parent = stack[-1][1] if stack else ""
            chunks.append(Chunk(document, section.heading, len(chunks), body, parent, title))
            stack.append((indent, body))
        flush_paragraph()
    return chunks


def document_name(path: Path) -> str:
    return path.stem
