"""Reading files to a title and its sections, in reading order: .txt, .md, .html, .pdf, .epub.

    doc = load_path(Path("book.epub"))      # or load_reading(data, "book.epub")
    doc.title, [(s.heading, s.text) for s in doc.sections]

The format is told by the content (magic bytes) and checked against the extension. Any
file that can't be used (too big, empty, encrypted, a scan, damaged, not what its name
says) raises ReadingFormatError with one line naming the file and the fix; a broken
file never surfaces as a library's traceback.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import zipfile
from pathlib import Path, PurePath

from bot.readings.formats_base import (
    DEFAULT_MAX_BYTES,
    LIMIT_SETTING,
    ReadingDoc,
    ReadingFormatError,
    Section,
    display_name,
    short_reason,
    size_text,
)
from bot.readings.formats_text import looks_binary

__all__ = ["SUPPORTED", "ReadingDoc", "ReadingFormatError", "Section", "load_path", "load_reading", "sniff"]

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".epub")
FORMAT_OF = {
    ".txt": "txt",
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".epub": "epub",
}
EPUB_MIMETYPE = b"application/epub+zip"
_HTML_START = re.compile(rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html)", re.I | re.S)
_KIND_NAME = {
    "pdf": "a PDF",
    "epub": "an EPUB",
    "zip": "a zip archive",
    "html": "an HTML page",
    "text": "text",
    "binary": "binary data",
}


def sniff(data: bytes, name: str) -> str:
    """The format of `data` by its content, checked against the extension of `name`:
    "txt", "md", "html", "pdf" or "epub". Raises ReadingFormatError for an extension
    readbot doesn't read or content that is not what the extension says."""
    shown = display_name(name)
    ext = PurePath(name).suffix.lower()
    expected = FORMAT_OF.get(ext)
    if expected is None:
        what = f"a {ext} file" if ext else "a file without an extension"
        raise ReadingFormatError(f"{shown} is {what}; readbot reads {', '.join(SUPPORTED)}: convert it to one of those")
    if not data:
        return expected  # nothing to contradict the name; loading says it has no text
    kind = _content_kind(data)
    if kind == expected or (kind == "text" and expected in ("txt", "md", "html")):
        return expected
    if expected == "pdf":
        raise ReadingFormatError(f"{shown} is not a PDF (it is {_KIND_NAME[kind]}): export it again as a PDF")
    if expected == "epub":
        if kind == "zip":
            raise ReadingFormatError(
                f"{shown} is a zip archive without the EPUB mimetype ({EPUB_MIMETYPE.decode()}):"
                " export it again as an EPUB"
            )
        raise ReadingFormatError(f"{shown} is not an EPUB (it is {_KIND_NAME[kind]}): export it again as an EPUB")
    if kind == "binary":
        raise ReadingFormatError(f"{shown} is not UTF-8 text: save it as UTF-8 and add it again")
    right = {"pdf": ".pdf", "epub": ".epub", "html": ".html"}.get(kind)
    fix = f"rename it to {right}" if right else "export it as one of " + ", ".join(SUPPORTED)
    raise ReadingFormatError(f"{shown} is {_KIND_NAME[kind]}, not a {ext} file: {fix}")


def _content_kind(data: bytes) -> str:
    pdf_at = data[:1024].find(b"%PDF-")
    if pdf_at == 0 or (pdf_at > 0 and (not data[:pdf_at].strip(b"\xef\xbb\xbf \t\r\n") or not _text_start(data))):
        return "pdf"  # readers accept a header after some junk; a text that quotes "%PDF-" is not a PDF
    if data.startswith(b"PK\x03\x04"):
        return "epub" if _epub_mimetype(data) else "zip"
    if _HTML_START.match(data[:4096]):
        return "html"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "binary"
    return "binary" if looks_binary(text) else "text"


def _text_start(data: bytes) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data[:65536], final=False)
    except UnicodeDecodeError:
        return False
    return True


def _epub_mimetype(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo("mimetype")
            return info.file_size <= 256 and archive.read(info).strip() == EPUB_MIMETYPE
    except (KeyError, zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError):
        return False


def load_reading(data: bytes, name: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ReadingDoc:
    """The reading in `data` (the file's bytes; `name` is its file name, for the format
    and for messages)."""
    shown = display_name(name)
    if len(data) > max_bytes:
        raise _too_big(shown, len(data), max_bytes)
    fmt = sniff(data, name)
    if not data.strip():
        raise ReadingFormatError(f"{shown} has no text: add a file that holds the reading")
    try:
        title, sections = _load(fmt, data, name, max_bytes)
    except ReadingFormatError:
        raise
    except Exception as exc:  # the last guard: a library's surprise is still one line naming the file
        raise ReadingFormatError(f"{shown} could not be read as {fmt}: {short_reason(exc)}") from exc
    if not sections:
        raise ReadingFormatError(f"{shown} has no text: add a file that holds the reading")
    return ReadingDoc(title=title, sections=sections, format=fmt)


def _load(fmt: str, data: bytes, name: str, max_bytes: int) -> tuple[str, tuple[Section, ...]]:
    # the loaders import their libraries on first use: reading a .txt loads no PDF or EPUB code
    if fmt in ("txt", "md"):
        from bot.readings.formats_text import load_text

        return load_text(data, name, fmt)
    if fmt == "html":
        from bot.readings.formats_html import load_html

        return load_html(data, name)
    if fmt == "pdf":
        from bot.readings.formats_pdf import load_pdf

        return load_pdf(data, name)
    from bot.readings.formats_epub import load_epub

    return load_epub(data, name, max_bytes)


def load_path(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ReadingDoc:
    """Read the file (never more than max_bytes + 1 bytes) and load it."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise _too_big(display_name(path.name), size, max_bytes)
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ReadingFormatError(f"{path} can't be read: {exc.strerror or short_reason(exc)}") from exc
    return load_reading(data, path.name, max_bytes=max_bytes)


def _too_big(shown: str, size: int, max_bytes: int) -> ReadingFormatError:
    return ReadingFormatError(f"{shown} is {size_text(size)}; the limit is {size_text(max_bytes)} ({LIMIT_SETTING})")
