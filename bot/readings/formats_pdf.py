"""PDF through pypdf: the text layer of each page, split into sections by the outline
(bookmarks) where there is one, else by heading lines found in the text, else by page.

pypdf's plain extraction keeps the content stream's order (a two-column paper reads
column by column) but gives no paragraph breaks, so paragraphs are rebuilt from the
lines: a short line that ends a sentence ends its paragraph. Lines repeated at the top
or bottom of most pages (running heads, page numbers) are dropped first.
"""

from __future__ import annotations

import io
import itertools
import re
from collections import Counter
from dataclasses import dataclass

from pypdf import PageObject, PdfReader, mult
from pypdf.errors import FileNotDecryptedError
from pypdf.generic import Destination

from bot.readings.formats_base import (
    ReadingFormatError,
    Section,
    clean_text,
    display_name,
    make_sections,
    norm_words,
    one_line,
    short_reason,
    stem,
)

MAX_HEADING_CHARS = 70
MAX_HEADING_WORDS = 10
SMALL_WORDS = {
    "a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "nor", "of", "on", "onto", "or", "over",
    "the", "to", "upon", "vs", "with",
}  # fmt: skip
NUMBERED = re.compile(
    r"^(?:(?:chapter|part|book|section|act|scene|canto|volume|appendix|lesson|unit)\s+(?:\d+|[ivxlcdm]+|[a-z]+)\b"
    r"|(?:prologue|epilogue|introduction|preface|foreword|afterword|conclusion|contents|index)\b"
    r"|\d{1,3}(?:\.\d{1,3})*\.?\s+\S|[IVXLCDM]{1,6}\.?(?:\s|$))",
    re.IGNORECASE,
)
WORD = re.compile(r"[^\W\d_][\w'’-]*")
SENTENCE_END = re.compile(r"[.!?…:;][\"”’)\]]*$")
PAGE_NUMBER = re.compile(r"^(?:page\s+)?[-–—(\[]?\s*\d{1,4}\s*[-–—)\]]?(?:\s*(?:/|of)\s*\d{1,4})?$", re.IGNORECASE)
JUNK_TITLE = re.compile(r"^(?:untitled|microsoft word\b.*|.*\.(?:docx?|pdf|tex|dvi|indd|rtf|odt|pages))$", re.I)
PARAGRAPH_GAP = 1.3  # a gap this many line steps wide ends a paragraph
EDGE_LINES = 2  # how many lines at each end of a page may be running heads or page numbers


@dataclass(frozen=True)
class _Line:
    page: int
    text: str  # "" for a blank line the extractor gave


def load_pdf(data: bytes, name: str) -> tuple[str, tuple[Section, ...]]:
    reader = _open(data, name)
    try:
        title = _metadata_title(reader) or stem(name)
        pages = [_page_lines(page) for page in reader.pages]
        entries = _outline(reader)
    except ReadingFormatError:
        raise
    except Exception as exc:  # pypdf raises many kinds on damaged files
        raise ReadingFormatError(f"{display_name(name)} is not a readable PDF: {short_reason(exc)}") from exc
    if not any(any(ch.isalnum() for ch in line) for lines in pages for line in lines):
        raise ReadingFormatError(f"{display_name(name)} has no text layer (a scan?): add a text version")
    pages = _drop_page_chrome(pages)
    stream = _stream(pages)
    if entries:
        pairs = _outline_sections(stream, entries)
    else:
        pairs = _heading_sections(stream) or [(f"Page {i + 1}", _paragraphs(lines)) for i, lines in enumerate(pages)]
    return title, make_sections(pairs, title)


def _open(data: bytes, name: str) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted and not _opens_without_password(reader)
    except Exception as exc:
        raise ReadingFormatError(f"{display_name(name)} is not a readable PDF: {short_reason(exc)}") from exc
    if encrypted:
        raise ReadingFormatError(f"{display_name(name)} is encrypted: remove the password and add it again")
    return reader


def _opens_without_password(reader: PdfReader) -> bool:
    """pypdf tries the empty user password itself (a PDF with only an owner password,
    to restrict printing or copying, opens); this asks whether that worked."""
    try:
        len(reader.pages)  # reading the page tree needs the file decrypted
    except FileNotDecryptedError:
        return False
    return True


def _metadata_title(reader: PdfReader) -> str:
    info = reader.metadata
    title = one_line(clean_text(str(info.title or ""))) if info is not None else ""
    return "" if JUNK_TITLE.match(title) else title


def _stream(pages: list[list[str]]) -> list[_Line]:
    """All lines in order; a page that follows a finished sentence starts a paragraph."""
    stream: list[_Line] = []
    for page, lines in enumerate(pages):
        if stream and stream[-1].text and _ends(stream[-1].text) and lines and lines[0]:
            stream.append(_Line(page, ""))
        stream.extend(_Line(page, text) for text in lines)
    return stream


def _page_lines(page: PageObject) -> list[str]:
    """One page's lines, inner whitespace collapsed, with "" between paragraphs.

    pypdf's text visitor gives each piece of text with its position, so a paragraph
    break is a vertical gap wider than the page's usual line step; a page set without
    gaps falls back to the shape of the lines (a short line that ends a sentence)."""
    pieces: list[tuple[str, float | None]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text:
            pieces.append((text, mult(tm, cm)[5] if text.strip() else None))

    try:
        page.extract_text(visitor_text=visit)
    except Exception:  # one damaged page does not lose the rest
        pieces = []
    raw: list[tuple[str, float | None]] = []  # (line, its baseline)
    current, baseline = "", None
    for text, y in pieces:
        for n, chunk in enumerate(text.split("\n")):
            if n:
                raw.append((current, baseline))
                current, baseline = "", None
            current += chunk
            if baseline is None and chunk.strip():
                baseline = y
    raw.append((current, baseline))
    lines = [(one_line(clean_text(text)), y) for text, y in raw]
    lines = [(text, y) for text, y in lines if text]
    steps = sorted(a - b for (_, a), (_, b) in itertools.pairwise(lines) if a is not None and b is not None and a > b)
    step = steps[len(steps) * 3 // 10] if steps else 0.0  # the usual distance between lines
    out: list[str] = []
    previous: float | None = None
    for text, y in lines:
        if step and out and previous is not None and y is not None and previous - y > PARAGRAPH_GAP * step:
            out.append("")
        out.append(text)
        previous = y if y is not None else previous
    return out if "" in out else _breaks_by_shape(out)


def _breaks_by_shape(lines: list[str]) -> list[str]:
    """ "" after each line that ends a sentence and falls short of the usual width, and
    around heading-like lines."""
    widths = sorted(len(ln) for ln in lines if len(ln) >= 20)
    full = widths[int(len(widths) * 0.8)] if widths else 10**6  # all short: break at every sentence end
    out: list[str] = []
    for line in lines:
        heading = is_heading_line(line) and len(line) < 0.85 * full and (not out or not out[-1] or _ends(out[-1]))
        if heading and out and out[-1]:
            out.append("")
        out.append(line)
        if heading or (_ends(line) and len(line) < 0.85 * full):
            out.append("")
    while out and not out[-1]:
        out.pop()
    return out


def _chrome_key(line: str) -> str:
    return re.sub(r"\d+", "#", line.lower())


def _drop_page_chrome(pages: list[list[str]]) -> list[list[str]]:
    """Without page numbers, and without lines that stand at the top or bottom of at
    least half the pages (running heads and feet), when there are three pages or more."""
    edges = Counter(
        key for lines in pages for key in {_chrome_key(ln) for ln in lines[:EDGE_LINES] + lines[-EDGE_LINES:] if ln}
    )
    repeated = {key for key, n in edges.items() if len(pages) >= 3 and n >= max(3, len(pages) / 2)}
    cleaned = []
    for lines in pages:
        keep = list(lines)
        for at in [*range(min(EDGE_LINES, len(keep))), *range(max(len(keep) - EDGE_LINES, 0), len(keep))]:
            if PAGE_NUMBER.match(keep[at]) or _chrome_key(keep[at]) in repeated:
                keep[at] = ""
        while keep and not keep[0]:
            keep.pop(0)
        cleaned.append(keep)
    return cleaned


def _outline(reader: PdfReader) -> list[tuple[str, int]]:
    """The outline flattened in order (children after their parent) as (title, page),
    sorted by page (stable); entries whose page can't be resolved are left out."""
    entries: list[tuple[str, int]] = []

    def walk(items: list[object]) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            elif isinstance(item, Destination):
                try:
                    page = reader.get_destination_page_number(item)
                except Exception:
                    continue
                title = one_line(clean_text(str(item.title or "")))
                if title and page is not None and page >= 0:
                    entries.append((title, page))

    try:
        walk(list(reader.outline))
    except Exception:  # a damaged outline: fall back to headings in the text
        return []
    entries.sort(key=lambda entry: entry[1])
    return entries


def _find_title(stream: list[_Line], start: int, title: str) -> tuple[int, int] | None:
    """(index, lines) of the heading `title` on the page of stream[start], from start;
    a title broken over up to three lines is found too."""
    wanted = norm_words(title)
    if not wanted:
        return None
    page = stream[start].page
    at = start
    while at < len(stream) and stream[at].page == page:
        joined = ""
        for span in range(3):
            if at + span >= len(stream) or stream[at + span].page != page:
                break
            joined = f"{joined} {stream[at + span].text}".strip()
            got = norm_words(joined)
            if got == wanted or (got.startswith(wanted) and is_heading_line(joined)):
                return at, span + 1
            if not wanted.startswith(got):
                break
        at += 1
    return None


def _outline_sections(stream: list[_Line], entries: list[tuple[str, int]]) -> list[tuple[str, str]]:
    first_of_page: dict[int, int] = {}
    for at, line in enumerate(stream):
        first_of_page.setdefault(line.page, at)
    starts: list[tuple[str, int, int]] = []  # (heading, first line of the section, heading lines to skip)
    floor = 0
    for title, page in entries:
        if page not in first_of_page:  # a page with no text: the section starts at the next one that has
            later = [at for p, at in first_of_page.items() if p > page]
            start = max(min(later) if later else len(stream), floor)
        else:
            start = max(first_of_page[page], floor)
        found = _find_title(stream, start, title) if start < len(stream) else None
        if found:
            start, skip = found
        else:
            skip = 0
        starts.append((title, start, skip))
        floor = start + skip
    pairs = [("", _paragraphs([ln.text for ln in stream[: starts[0][1]]]))]
    for i, (title, start, skip) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else len(stream)
        pairs.append((title, _paragraphs([ln.text for ln in stream[start + skip : end]])))
    return pairs


def is_heading_line(line: str) -> bool:
    """Short, no final punctuation, and numbered ("Chapter 3", "2.1 Methods"), in Title
    Case or in capitals."""
    text = line.strip()
    if not text or len(text) > MAX_HEADING_CHARS or len(text.split()) > MAX_HEADING_WORDS:
        return False
    if not (text[0].isupper() or text[0].isdigit()) or text.endswith((".", ",", ";", ":", "!", "?", "…", "-")):
        return False
    if PAGE_NUMBER.match(text):
        return False
    if NUMBERED.match(text):
        return True
    words = WORD.findall(text)
    significant = [w for w in words if w.lower() not in SMALL_WORDS]
    return bool(significant) and all(w[0].isupper() for w in significant)


def _ends(line: str) -> bool:
    return bool(SENTENCE_END.search(line))


def _ends_paragraph(line: str) -> bool:
    return not line or _ends(line)


def _heading_sections(stream: list[_Line]) -> list[tuple[str, str]]:
    """Sections at heading lines that stand on their own (after a paragraph's end or at
    the top of a page); a label line ("Chapter 3") and a heading under it make one."""
    pairs: list[tuple[str, str]] = []
    heading, body = "", list[str]()
    at, found = 0, 0
    while at < len(stream):
        line = stream[at]
        after_end = at == 0 or stream[at - 1].page != line.page or _ends_paragraph(stream[at - 1].text)
        if line.text and after_end and is_heading_line(line.text):
            text, at = line.text, at + 1
            if (
                NUMBERED.match(text)
                and len(text.split()) <= 3
                and at < len(stream)
                and stream[at].page == line.page
                and is_heading_line(stream[at].text)
                and not NUMBERED.match(stream[at].text)
            ):
                text, at = f"{text}: {stream[at].text}", at + 1
            pairs.append((heading, _paragraphs(body)))
            heading, body, found = text, [], found + 1
            continue
        body.append(line.text)
        at += 1
    pairs.append((heading, _paragraphs(body)))
    return pairs if found else []


def _paragraphs(lines: list[str]) -> str:
    """Lines joined into paragraphs at the "" breaks; a word hyphenated over two lines is
    joined again."""
    paragraphs: list[str] = []
    current = ""
    for line in lines:
        if not line:
            paragraphs.append(current)
            current = ""
        elif current.endswith("-") and line[:1].islower() and current[-2:-1].isalpha():
            current = current[:-1] + line
        else:
            current = f"{current} {line}" if current else line
    paragraphs.append(current)
    return "\n\n".join(p for p in paragraphs if p)
