"""EPUB through EbookLib: sections from the table of contents (the EPUB 3 nav document,
else the EPUB 2 NCX), each entry's text running from its target (a spine document, or
an anchor inside one) to the next entry's, through the same main-text extraction as
HTML. A book without a table of contents is split at its headings."""

from __future__ import annotations

import io
import posixpath
import warnings
import zipfile
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ebooklib import epub

from bot.readings.formats_base import (
    LIMIT_SETTING,
    ReadingFormatError,
    Section,
    display_name,
    make_sections,
    norm_words,
    one_line,
    short_reason,
    size_text,
    stem,
)
from bot.readings.formats_html import Block, blocks_text, html_blocks, parse_html, sections_from_blocks

HTML_TYPES = {"application/xhtml+xml", "text/html"}
UNPACKED_FACTOR = 4  # an EPUB may unpack to at most 4 × the file size limit (zip bombs)


@dataclass(frozen=True)
class _Entry:
    label: str
    doc: int  # index in the spine documents
    block: int  # index of the first block in that document's blocks


def load_epub(data: bytes, name: str, max_bytes: int) -> tuple[str, tuple[Section, ...]]:
    _check_unpacked_size(data, name, max_bytes)
    book = _read(data, name)
    title = _metadata_title(book) or stem(name)
    try:
        docs = _spine_documents(book)
        toc = _toc(book)
    except Exception as exc:
        raise ReadingFormatError(f"{display_name(name)} is not a readable EPUB: {short_reason(exc)}") from exc
    anchors: dict[str, set[str]] = {}
    for _label, path, fragment in toc:
        if fragment:
            anchors.setdefault(path, set()).add(fragment)
    blocks: list[list[Block]] = []
    for path, content in docs:
        try:
            root = parse_html(content, name)
        except ReadingFormatError:
            blocks.append([])  # an empty or broken chapter does not lose the book
            continue
        blocks.append(html_blocks(root, frozenset(anchors.get(path, ()))))
    entries = _entries(toc, [path for path, _ in docs], blocks)
    pairs = _toc_sections(entries, blocks) if entries else sections_from_blocks([b for doc in blocks for b in doc])
    return title, make_sections(pairs, title)


def _check_unpacked_size(data: bytes, name: str, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ReadingFormatError(f"{display_name(name)} is not a readable EPUB: {short_reason(exc)}") from exc
    limit = UNPACKED_FACTOR * max_bytes
    if total > limit:
        raise ReadingFormatError(
            f"{display_name(name)} unpacks to {size_text(total)}; the limit is {size_text(limit)}"
            f" ({UNPACKED_FACTOR} × {LIMIT_SETTING})"
        )


def _read(data: bytes, name: str) -> Any:
    """The book; a broken nav document is retried through the NCX before giving up."""
    error: Exception | None = None
    for options in ({"ignore_ncx": True}, {"ignore_ncx": False}):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return epub.read_epub(io.BytesIO(data), options)
        except Exception as exc:  # EbookLib raises EpubException, KeyError, IndexError, lxml errors…
            error = exc
    assert error is not None
    raise ReadingFormatError(f"{display_name(name)} is not a readable EPUB: {short_reason(error)}") from error


def _metadata_title(book: Any) -> str:
    for value, _attrs in book.get_metadata("DC", "title"):
        title = one_line(str(value or ""))
        if title:
            return title
    return ""


def _spine_documents(book: Any) -> list[tuple[str, bytes]]:
    """(path inside the OPF folder, content) of the spine's HTML documents, in order."""
    docs = []
    for idref, _linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is not None and getattr(item, "media_type", "") in HTML_TYPES and item.content:
            docs.append((posixpath.normpath(item.file_name), bytes(item.content)))
    return docs


def _toc(book: Any) -> list[tuple[str, str, str]]:
    """The table of contents flattened in order (children after their parent) as
    (label, document path inside the OPF folder, fragment)."""
    navs = [item for item in book.get_items() if isinstance(item, epub.EpubNav)]
    ncxs = [item for item in book.get_items() if isinstance(item, epub.EpubNcx)]
    # EbookLib resolves nav hrefs against the nav's folder; NCX hrefs are left relative to the NCX
    base = "" if navs or not ncxs else posixpath.dirname(ncxs[0].file_name)
    flat: list[tuple[str, str, str]] = []

    def walk(items: Any) -> None:
        for item in items:
            if isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[1], list | tuple):
                walk([item[0]])
                walk(item[1])
            elif isinstance(item, list | tuple):
                walk(item)
            elif isinstance(item, epub.Link | epub.Section) and item.href:
                path, _, fragment = str(item.href).partition("#")
                path = posixpath.normpath(posixpath.join(base, unquote(path))) if path else ""
                flat.append((one_line(str(item.title or "")), path, unquote(fragment)))

    toc = book.toc or []
    walk(toc if isinstance(toc, list | tuple) else [toc])  # an empty NCX gives one bare Link
    return flat


def _entries(toc: list[tuple[str, str, str]], paths: list[str], blocks: list[list[Block]]) -> list[_Entry]:
    """Table-of-contents entries that point into the spine, with labels, in reading order."""
    where = {path: at for at, path in enumerate(paths)}
    entries = []
    for label, path, fragment in toc:
        if not label or path not in where:
            continue
        doc = where[path]
        block = next(
            (at for at, b in enumerate(blocks[doc]) if b.kind == "cut" and b.text == fragment),
            0,
        )
        entries.append(_Entry(label, doc, block))
    entries.sort(key=lambda e: (e.doc, e.block))
    return entries


def _toc_sections(entries: list[_Entry], blocks: list[list[Block]]) -> list[tuple[str, str]]:
    def span(start: tuple[int, int], end: tuple[int, int]) -> list[Block]:
        out: list[Block] = []
        for doc in range(start[0], min(end[0], len(blocks) - 1) + 1):
            first = start[1] if doc == start[0] else 0
            last = end[1] if doc == end[0] else len(blocks[doc])
            out.extend(blocks[doc][first:last])
        return out

    ends = [(e.doc, e.block) for e in entries[1:]] + [(len(blocks), 0)]
    pairs = [("", blocks_text(span((0, 0), (entries[0].doc, entries[0].block))))]
    for entry, end in zip(entries, ends, strict=True):
        body = _without_label_headings(span((entry.doc, entry.block), end), entry.label)
        pairs.append((entry.label, blocks_text(body)))
    return pairs


def _without_label_headings(body: list[Block], label: str) -> list[Block]:
    """The entry's text without the heading lines that repeat its label at its start."""
    wanted = norm_words(label)
    at = 0
    while at < len(body) and body[at].kind in ("cut", "heading"):
        got = norm_words(body[at].text) if body[at].kind == "heading" else ""
        if body[at].kind == "heading" and not (got and (f" {got} " in f" {wanted} " or f" {wanted} " in f" {got} ")):
            break
        at += 1
    return body[at:]
