"""Real reading files made by the tests themselves: PDFs drawn with fpdf2 (outlines added
with pypdf), EPUBs written with EbookLib (nav and/or NCX)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ebooklib import epub
from fpdf import FPDF
from PIL import Image
from pypdf import PdfReader, PdfWriter

# the FairytaleQA validation stories beside the repository (../shared), one reading each
FAIRYTALES = Path(__file__).resolve().parents[2] / "shared" / "eval" / "fairytaleqa-val"


def fairytales() -> list[Path]:
    """The 23 stories (their markdown files, not the folder's README or attribution)."""
    return sorted(p for p in FAIRYTALES.glob("*.md") if p.stem.upper() not in {"README", "ATTRIBUTION"})


# An outline entry: (title, page index, children)
Outline = Sequence[tuple[str, int, Sequence[Any]]]


class _Pdf(FPDF):
    running_head = ""
    page_numbers = False

    def header(self) -> None:
        if self.running_head:
            self.set_font("Helvetica", "I", 8)
            self.cell(0, 6, self.running_head, align="C", new_x="LMARGIN", new_y="NEXT")
            self.ln(4)

    def footer(self) -> None:
        if self.page_numbers:
            self.set_y(-15)
            self.set_font("Helvetica", size=8)
            self.cell(0, 10, str(self.page_no()), align="C")


def make_pdf(
    pages: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    outline: Outline = (),
    running_head: str = "",
    page_numbers: bool = False,
    user_password: str | None = None,
    owner_password: str | None = None,
) -> bytes:
    """A PDF with real text: each page a list of blocks, "# Heading" lines drawn large and
    bold, other blocks as wrapped paragraphs with a gap after each."""
    pdf = _Pdf()
    pdf.running_head = running_head
    pdf.page_numbers = page_numbers
    if title:
        pdf.set_title(title)
    for blocks in pages:
        pdf.add_page()
        for block in blocks:
            if block.startswith("# "):
                pdf.set_font("Helvetica", "B", 16)
                pdf.multi_cell(0, 9, block[2:])
                pdf.ln(2)
            else:
                pdf.set_font("Helvetica", size=11)
                pdf.multi_cell(0, 5.5, block)
                pdf.ln(3)
    data = bytes(pdf.output())
    if not outline and user_password is None and owner_password is None:
        return data
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))

    def add(entries: Outline, parent: Any = None) -> None:
        for entry_title, page, children in entries:
            item = writer.add_outline_item(title=entry_title, page_number=page, parent=parent)
            add(children, item)

    add(outline)
    if user_password is not None or owner_password is not None:
        writer.encrypt(user_password=user_password or "", owner_password=owner_password, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_scan_pdf(pages: int = 2) -> bytes:
    """What a scanner makes: each page one picture, no text layer."""
    pdf = FPDF()
    for n in range(pages):
        pdf.add_page()
        picture = Image.new("L", (400, 560), color=255)
        for y in range(40, 520, 12):  # grey bars where lines of print would be
            for x in range(30, 370):
                picture.putpixel((x, y), 90 + n)
        pdf.image(picture, x=10, y=10, w=190)
    return bytes(pdf.output())


# --------------------------------------------------------------------------- EPUB


def make_epub(
    chapters: Sequence[tuple[str, str]],
    toc: Sequence[Any],
    *,
    title: str = "",
    nav: bool = True,
    ncx: bool = True,
) -> bytes:
    """An EPUB with these (file name, XHTML body) chapters in the spine, and `toc` as its
    table of contents: ("label", "file.xhtml#anchor") links, or ("label", [children])
    sections without a target of their own."""
    book = epub.EpubBook()
    book.set_identifier("readbot-test-book")
    if title:
        book.set_title(title)
    book.set_language("en")
    items = []
    for file_name, body in chapters:
        item = epub.EpubHtml(title=file_name, file_name=file_name, lang="en")
        item.content = body
        book.add_item(item)
        items.append(item)

    def convert(entries: Sequence[Any]) -> list[Any]:
        out: list[Any] = []
        for label, target in entries:
            if isinstance(target, str):
                out.append(epub.Link(target, label, re.sub(r"\W", "-", target)))
            else:
                out.append((epub.Section(label), convert(target)))
        return out

    book.toc = convert(toc)
    if ncx:
        book.add_item(epub.EpubNcx())
    if nav:
        book.add_item(epub.EpubNav())
    book.spine = (["nav"] if nav else []) + items
    out = io.BytesIO()
    epub.write_epub(out, book, {})
    return out.getvalue()


def rewrite_member(data: bytes, suffix: str, change: Any) -> bytes:
    """The same zip with the member whose name ends with `suffix` passed through change()."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename.endswith(suffix):
                content = change(content)
            target.writestr(info, content)
    return out.getvalue()


def member_names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()
