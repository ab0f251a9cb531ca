"""Reading loaders on real files of every format, made here with real libraries: sections
in order with their exact headings, page chrome left out, titles, and one clear line for
every file that can't be used."""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import pytest
from readings_support import FAIRYTALES, fairytales, make_epub, make_pdf, make_scan_pdf, member_names, rewrite_member

from bot.errors import ReadbotError
from bot.knowledge.chunking import chunk_text, document_name
from bot.readings.formats import (
    SUPPORTED,
    ReadingDoc,
    ReadingFormatError,
    Section,
    load_path,
    load_reading,
    sniff,
)

PROSE = [
    "The first night the fog came in thick and grey, and the fishermen could not see the rocks at the mouth "
    "of the bay. She lit the lantern and sang the song her mother had taught her, and the boats came home.",
    "On the second night a stranger knocked at her door and asked for shelter from the storm. He was wet "
    "through, and his hands shook as he held them to the fire.",
    "In the morning the sea was quiet again. The children ran along the shore, and the gulls cried above "
    "them as if nothing had happened at all.",
]


def headings(doc: ReadingDoc) -> list[str]:
    return [s.heading for s in doc.sections]


def text_of(doc: ReadingDoc, heading: str) -> str:
    return next(s.text for s in doc.sections if s.heading == heading)


def words(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- the API


def test_api_shapes() -> None:
    assert SUPPORTED == (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".epub")
    assert issubclass(ReadingFormatError, ReadbotError)
    doc = load_reading(b"# T\n\n## A\n\nBody.\n", "x.md")
    assert doc == ReadingDoc(title="T", sections=(Section(heading="A", text="Body."),), format="md")
    with pytest.raises(AttributeError):
        doc.title = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "name", "fmt"),
    [
        (b"plain words\n", "a.txt", "txt"),
        (b"# Title\n", "a.md", "md"),
        (b"# Title\n", "a.MARKDOWN", "md"),
        (b"<!DOCTYPE html><html><body><p>x</p></body></html>", "a.html", "html"),
        (b"<html><body><p>x</p></body></html>", "a.htm", "html"),
        (b"<p>a fragment of a page</p>", "a.html", "html"),
        (b"%PDF-1.7\n...", "a.pdf", "pdf"),
        (b"\x00\xff junk first, then %PDF-1.4\n...", "b.pdf", "pdf"),
        (b"# Formats\n\nA PDF file starts with %PDF-1.7 and a binary line.\n", "notes.md", "md"),
    ],
)
def test_sniff_by_content_and_extension(data: bytes, name: str, fmt: str) -> None:
    assert sniff(data, name) == fmt


def test_sniff_epub_needs_its_mimetype() -> None:
    book = make_epub([("c.xhtml", "<p>Text.</p>")], [("C", "c.xhtml")], title="B")
    assert sniff(book, "b.epub") == "epub"
    without = rewrite_member(book, "mimetype", lambda _: b"application/zip")
    with pytest.raises(ReadingFormatError, match=r"zip archive without the EPUB mimetype"):
        sniff(without, "b.epub")


# --------------------------------------------------------------------------- text and markdown


def test_fairytaleqa_stories_have_their_parts_in_order() -> None:
    stories = fairytales()
    assert len(stories) == 23, f"expected the 23 FairytaleQA validation stories in {FAIRYTALES}"
    for path in stories:
        doc = load_path(path)
        parts = len(re.findall(r"^## Part \d+\s*$", path.read_text(encoding="utf-8"), flags=re.M))
        assert doc.format == "md"
        assert headings(doc) == [f"Part {n}" for n in range(1, parts + 1)], path.name
        first_title = next(ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.startswith("# "))
        assert doc.title == first_title[2:].strip()
        assert all(s.text and not s.text.startswith("## ") for s in doc.sections)


def test_black_arts_part_text() -> None:
    doc = load_path(FAIRYTALES / "black-arts.md")
    part3 = text_of(doc, "Part 3")
    assert part3.startswith("And one day, not long after they had been married")
    assert "\n\nSo the following day the wife and husband" in part3  # its two paragraphs stay two
    assert "## Part" not in part3


def test_shipped_reading_has_the_chunkers_sections(reading_path: Path, reading_text: str) -> None:
    doc = load_path(reading_path)
    chunks = chunk_text(reading_text, document_name(reading_path))
    assert doc.format == "txt"
    assert doc.title == reading_text.split("\n", 1)[0].strip()  # its first line, as the chunker titles it
    assert headings(doc) == [name for name, _ in itertools.groupby(c.section for c in chunks)]
    for section in doc.sections:  # every chunk's words are in its section's text
        body = words(section.text)
        for chunk in (c for c in chunks if c.section == section.heading):
            assert words(chunk.text) in body


def test_markdown_headings_of_any_level_and_the_title() -> None:
    md = (
        "# The Lantern Keeper\n\nA story in three parts.\n\n"
        "## Part 1\n\nThe fog came in.\n\nShe lit the lantern.\n\n"
        "### Scene 1.1 ###\n\nThe boats came home.\n\n"
        "## Empty part\n\n"
        "#### Part 2\n\n- A stranger knocked.\n  - He was wet.\n"
    )
    doc = load_reading(md.encode(), "lantern.md")
    assert doc.title == "The Lantern Keeper"
    assert headings(doc) == ["The Lantern Keeper", "Part 1", "Scene 1.1", "Part 2"]  # the title has text under it
    assert text_of(doc, "Part 1") == "The fog came in.\n\nShe lit the lantern."
    assert text_of(doc, "Part 2") == "- A stranger knocked.\n  - He was wet."


def test_markdown_without_a_title_heading_is_titled_by_its_file_name() -> None:
    doc = load_reading(b"## One\n\nText one.\n\n## Two\n\nText two.\n", "my-notes.markdown")
    assert (doc.title, headings(doc), doc.format) == ("my-notes", ["One", "Two"], "md")


def test_text_without_headings_is_one_section_under_its_title() -> None:
    doc = load_reading(b"just a sentence that ends.\nand another one that ends.\n", "scrap.txt")
    assert doc.sections == (Section("scrap", "just a sentence that ends.\nand another one that ends."),)


def test_text_whose_first_line_stands_as_a_heading_is_titled_by_it() -> None:
    # before: titled "letter" (the file name) while its one section was "A Letter on Walking"
    doc = load_reading(b"A Letter on Walking\n\nI walk.\n\nThen I walk more.\n", "letter.txt")
    assert doc.title == "A Letter on Walking"
    assert doc.sections == (Section("A Letter on Walking", "I walk.\n\nThen I walk more."),)
    chapters = load_reading(b"Walking\n\nOne\n\nI walk.\n\nTwo\n\nI walk more.\n", "w.txt")
    assert (chapters.title, headings(chapters)) == ("Walking", ["One", "Two"])
    # a first line that is prose, or the first line of a wrapped paragraph, is no title
    assert load_reading(b"I walk every day.\n\nAnd more.\n", "prose.txt").title == "prose"
    assert load_reading(b"Short first line\nwrapped on to the next.\n", "wrapped.txt").title == "wrapped"


def test_control_characters_are_stripped_and_a_bom_is_fine() -> None:
    data = "\ufeff# Ti\x00tle\r\n\r\n## Pa\x07rt 1\r\n\r\nLine\x00 one\tand\x1b a tab.\r\n".encode()
    doc = load_reading(data, "c.md")
    assert doc.title == "Title"
    assert doc.sections == (Section("Part 1", "Line one\tand a tab."),)


# --------------------------------------------------------------------------- HTML

PAGE = """<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8"><title>The Lantern Keeper</title>
<style>body { color: red } .x::before { content: "STYLE-TEXT" }</style>
<script>var tracking = "SCRIPT-TEXT";</script>
</head><body>
<header class="site"><a href="/">Reading Circle HEADER-TEXT</a><h1>Reading Circle</h1></header>
<nav><ul><li><a href="/">Home NAV-TEXT</a></li><li><a href="/about">About</a></li></ul></nav>
<div class="cookie-banner">We use cookies COOKIE-TEXT</div>
<main>
  <article>
    <header><h1>The Lantern Keeper</h1><p class="byline">By a reader BYLINE-TEXT</p></header>
    <p>An old woman kept the lantern at the edge of the harbour.</p>
    <h2>Part 1</h2>
    <p>The fog came in thick and grey.</p>
    <p>She lit the lantern and <em>sang</em>
       an old song.</p>
    <aside>Related stories ASIDE-TEXT</aside>
    <h2>Part 2</h2>
    <p>A stranger knocked.<br>He was wet through.</p>
    <ul><li>a lantern</li><li>a song<ul><li>an old one</li></ul></li></ul>
    <div class="share-buttons">Share this SHARE-TEXT</div>
    <h3>Part 2.1</h3>
    <p>The boats came home.</p>
    <p hidden>HIDDEN-TEXT</p>
    <h2>Part 3 has no text</h2>
  </article>
  <form><label>Subscribe FORM-TEXT</label><input name="email"></form>
</main>
<aside class="sidebar">More ASIDE2-TEXT</aside>
<footer>Copyright FOOTER-TEXT</footer>
<script>console.log("SCRIPT2-TEXT")</script>
</body></html>
"""


def test_html_main_text_sections_without_chrome() -> None:
    doc = load_reading(PAGE.encode(), "lantern.html")
    assert doc.format == "html"
    assert doc.title == "The Lantern Keeper"
    assert headings(doc) == ["The Lantern Keeper", "Part 1", "Part 2", "Part 2.1"]
    assert text_of(doc, "The Lantern Keeper") == "An old woman kept the lantern at the edge of the harbour."
    assert text_of(doc, "Part 1") == "The fog came in thick and grey.\n\nShe lit the lantern and sang an old song."
    assert text_of(doc, "Part 2") == "A stranger knocked.\nHe was wet through.\n\n• a lantern\n• a song\n  • an old one"
    everything = " ".join(f"{s.heading} {s.text}" for s in doc.sections)
    assert not re.findall(r"[A-Z0-9]+-TEXT", everything)


def test_html_title_falls_back_to_the_first_h1_then_the_file_name() -> None:
    no_title = b"<html><body><h1>Moon Child</h1><p>Text.</p></body></html>"
    assert load_reading(no_title, "a.html").title == "Moon Child"
    bare = b"<html><body><h2>Part 1</h2><p>Text.</p></body></html>"
    assert load_reading(bare, "bamboo-cutter.htm").title == "bamboo-cutter"


def test_html_sections_in_divs_and_fragments_are_all_kept() -> None:
    # scoring extractors drop parts like these; a reading must not lose a section
    page = (
        b"<html><body><section><h2>Chapter A</h2><p>Alpha.</p></section>"
        b'<div id="c"><h2>Chapter C</h2><p>Gamma.</p></div><h3>Scene D</h3><p>Delta.</p></body></html>'
    )
    assert [(s.heading, s.text) for s in load_reading(page, "p.html").sections] == [
        ("Chapter A", "Alpha."),
        ("Chapter C", "Gamma."),
        ("Scene D", "Delta."),
    ]
    fragment = load_reading(b"<h2>Part 1</h2><p>tiny text.</p>", "f.html")
    assert fragment.sections == (Section("Part 1", "tiny text."),)


def test_html_in_a_declared_legacy_charset() -> None:
    page = '<html><head><meta charset="windows-1252"><title>Caf\xe9</title></head><body><p>Cr\xe8me.</p></body>'
    doc = load_reading(page.encode("cp1252"), "cafe.html")
    assert doc.title == "Café"
    assert doc.sections == (Section("Café", "Crème."),)


# --------------------------------------------------------------------------- PDF


def test_pdf_sections_from_a_nested_outline() -> None:
    pages = [
        ["# The Lantern Keeper", "A story for the reading circle."],
        ["# Chapter 1", PROSE[0], PROSE[1]],
        [PROSE[2]],
        ["# Chapter 2", PROSE[1], "# A Stranger", PROSE[2]],
        ["# Chapter 3", PROSE[0]],
    ]
    outline = [
        ("Chapter 1", 1, []),
        ("Chapter 2", 3, [("A Stranger", 3, [])]),
        ("Chapter 3", 4, []),
    ]
    data = make_pdf(pages, title="The Lantern Keeper", outline=outline, running_head="The Lantern Keeper")
    doc = load_reading(data, "lantern.pdf")
    assert doc.format == "pdf"
    assert doc.title == "The Lantern Keeper"
    assert headings(doc) == ["The Lantern Keeper", "Chapter 1", "Chapter 2", "A Stranger", "Chapter 3"]
    chapter1 = text_of(doc, "Chapter 1")
    assert chapter1.split("\n\n") == PROSE  # its paragraphs rebuilt, over the page break, no heading line
    assert text_of(doc, "Chapter 2") == PROSE[1]
    assert text_of(doc, "A Stranger") == PROSE[2]
    assert text_of(doc, "Chapter 3") == PROSE[0]


def test_pdf_without_outline_splits_at_heading_lines() -> None:
    pages = [
        ["# Chapter 1", PROSE[0], PROSE[1]],
        ["# Chapter 2", PROSE[2], "# The Morning After", PROSE[0]],
    ]
    doc = load_reading(make_pdf(pages, page_numbers=True), "tale.pdf")
    assert doc.title == "tale"  # no /Title in the metadata
    assert headings(doc) == ["Chapter 1", "Chapter 2", "The Morning After"]
    assert text_of(doc, "Chapter 1") == "\n\n".join(PROSE[:2])
    assert text_of(doc, "The Morning After") == PROSE[0]  # no page number left in it


def test_pdf_without_outline_or_headings_is_split_by_page() -> None:
    pages = [[PROSE[0]], [PROSE[1]], [PROSE[2]]]
    doc = load_reading(make_pdf(pages, title="Prose", page_numbers=True, running_head="a running head"), "p.pdf")
    assert doc.title == "Prose"
    assert headings(doc) == ["Page 1", "Page 2", "Page 3"]
    assert [s.text for s in doc.sections] == PROSE  # running head and page numbers dropped


def test_pdf_with_only_an_owner_password_opens() -> None:
    data = make_pdf([["# Chapter 1", PROSE[0]]], owner_password="owner")
    assert headings(load_reading(data, "locked-for-printing.pdf")) == ["Chapter 1"]


# --------------------------------------------------------------------------- EPUB

CHAPTERS = [
    ("cover.xhtml", "<p>The Lantern Keeper, a reading-circle edition.</p>"),
    ("chap_01.xhtml", f"<h1>Chapter 1</h1><p>{PROSE[0]}</p><nav><p>Back to contents NAV-TEXT</p></nav>"),
    (
        "chap_02.xhtml",
        f'<h1>Chapter 2</h1><p>{PROSE[1]}</p><h2 id="scene-2">The Morning</h2><p>{PROSE[2]}</p>'
        f"<script>var x = 'SCRIPT-TEXT';</script>",
    ),
    ("chap_02b.xhtml", "<p>The second file of chapter two.</p>"),
    ("chap_03.xhtml", f"<h1>Chapter 3</h1><h2>An Unlisted Scene</h2><p>{PROSE[0]}</p>"),
]
TOC = [
    ("Chapter 1", "chap_01.xhtml"),
    ("Part Two", [("Chapter 2", "chap_02.xhtml"), ("The Morning", "chap_02.xhtml#scene-2")]),
    ("Chapter 3", "chap_03.xhtml"),
]
EXPECTED = [
    ("The Lantern Keeper", "The Lantern Keeper, a reading-circle edition."),  # before the first entry
    ("Chapter 1", PROSE[0]),
    ("Chapter 2", PROSE[1]),
    ("The Morning", f"{PROSE[2]}\n\nThe second file of chapter two."),
    ("Chapter 3", f"An Unlisted Scene\n\n{PROSE[0]}"),
]


@pytest.mark.parametrize(("nav", "ncx"), [(True, True), (True, False), (False, True)], ids=["both", "nav", "ncx"])
def test_epub_sections_from_the_table_of_contents(nav: bool, ncx: bool) -> None:
    data = make_epub(CHAPTERS, TOC, title="The Lantern Keeper", nav=nav, ncx=ncx)
    assert any(n.endswith("nav.xhtml") for n in member_names(data)) == nav
    assert any(n.endswith(".ncx") for n in member_names(data)) == ncx
    doc = load_reading(data, "lantern.epub")
    assert (doc.title, doc.format) == ("The Lantern Keeper", "epub")
    assert [(s.heading, s.text) for s in doc.sections] == EXPECTED


def test_epub3_nav_wins_over_the_ncx() -> None:
    data = make_epub(CHAPTERS, TOC, title="The Lantern Keeper")
    data = rewrite_member(data, ".ncx", lambda ncx: ncx.replace(b"<text>Chapter", b"<text>NCX Chapter"))
    assert headings(load_reading(data, "b.epub"))[1:] == ["Chapter 1", "Chapter 2", "The Morning", "Chapter 3"]
    epub2 = make_epub(CHAPTERS, TOC, title="The Lantern Keeper", nav=False)
    epub2 = rewrite_member(epub2, ".ncx", lambda ncx: ncx.replace(b"<text>Chapter", b"<text>NCX Chapter"))
    assert headings(load_reading(epub2, "b.epub"))[1:] == [
        "NCX Chapter 1",
        "NCX Chapter 2",
        "The Morning",
        "NCX Chapter 3",
    ]


def test_epub_without_a_table_of_contents_splits_at_headings() -> None:
    data = make_epub(CHAPTERS[1:], [], nav=False)  # an NCX with no entries
    doc = load_reading(data, "untitled-book.epub")
    assert headings(doc) == ["Chapter 1", "Chapter 2", "The Morning", "An Unlisted Scene"]


# --------------------------------------------------------------------------- bad input


def _corrupt_epub() -> bytes:
    book = make_epub(CHAPTERS, TOC, title="B")
    return rewrite_member(book, "container.xml", lambda _: b"<container>broken")


BAD = {
    "unknown extension": (b"PK\x03\x04 a word file", "notes.docx", r"notes\.docx is a \.docx file; readbot reads"),
    "no extension": (b"text", "README", r"README is a file without an extension"),
    "empty file": (b"", "empty.md", r"empty\.md has no text"),
    "only blank lines": (b"\n \n\t\n", "blank.txt", r"blank\.txt has no text"),
    "empty html": (b"<html><body><nav>Home</nav></body></html>", "chrome.html", r"chrome\.html has no text"),
    "encrypted pdf": (None, "secret.pdf", r"secret\.pdf is encrypted: remove the password and add it again"),
    "scanned pdf": (None, "scan.pdf", r"scan\.pdf has no text layer \(a scan\?\): add a text version"),
    "pdf named .txt": (None, "chapter.txt", r"chapter\.txt is a PDF, not a \.txt file: rename it to \.pdf"),
    "junk named .epub": (bytes(range(256)) * 8, "book.epub", r"book\.epub is not an EPUB"),
    "zip named .epub": (None, "book.epub", r"book\.epub is a zip archive without the EPUB mimetype"),
    "junk named .md": (bytes(range(256)) * 8, "notes.md", r"notes\.md is not UTF-8 text"),
    "invalid utf-8 .md": ("# Caf\xe9\n\nLatin-1 text.\n".encode("latin-1"), "cafe.md", r"cafe\.md is not UTF-8 text"),
    "utf-16 .txt": ("Some words in UTF-16.\n".encode("utf-16-le"), "wide.txt", r"wide\.txt is not UTF-8 text"),
    "text named .pdf": (b"just words", "fake.pdf", r"fake\.pdf is not a PDF \(it is text\)"),
    "html named .md": (b"<!doctype html><html><body>x</body></html>", "page.md", r"page\.md is an HTML page"),
    "truncated pdf": (None, "cut.pdf", r"cut\.pdf is not a readable PDF: "),
    "corrupt epub": (None, "broken.epub", r"broken\.epub is not a readable EPUB: "),
    "name with a newline": (b"", "two\nlines.txt", r"two lines\.txt has no text"),
}


def _bad_data(case: str) -> bytes:
    data = BAD[case][0]
    if data is not None:
        return data
    made = {
        "encrypted pdf": lambda: make_pdf([["# Chapter 1", PROSE[0]]], user_password="secret"),
        "scanned pdf": make_scan_pdf,
        "pdf named .txt": lambda: make_pdf([[PROSE[0]]]),
        "zip named .epub": lambda: rewrite_member(make_epub(CHAPTERS, TOC), "mimetype", lambda _: b"x"),
        "truncated pdf": lambda: make_pdf([[PROSE[0]]])[:300],
        "corrupt epub": _corrupt_epub,
    }
    return made[case]()


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_raise_one_line_naming_the_file(case: str) -> None:
    _, name, message = BAD[case]
    with pytest.raises(ReadingFormatError) as caught:
        load_reading(_bad_data(case), name)
    text = str(caught.value)
    assert "\n" not in text and "\r" not in text
    assert re.match(message, text), text
    assert "Traceback" not in text


def test_a_file_over_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    big.write_bytes(b"# Big\n\n" + b"word " * 300_000)  # 1.4 MB
    with pytest.raises(ReadingFormatError) as caught:
        load_path(big, max_bytes=1024 * 1024)
    assert str(caught.value) == "big.md is 1.4 MB; the limit is 1 MB (READBOT_MAX_READING_MB)"
    with pytest.raises(ReadingFormatError, match=r"^big\.md is 1\.4 MB; the limit is 1 MB"):
        load_reading(big.read_bytes(), "big.md", max_bytes=1024 * 1024)
    assert load_path(big, max_bytes=2 * 1024 * 1024).title == "Big"


def test_default_limit_is_50_mb() -> None:
    with pytest.raises(
        ReadingFormatError, match=r"^huge\.txt is 50\.1 MB; the limit is 50 MB \(READBOT_MAX_READING_MB\)$"
    ):
        load_reading(b"a" * (50 * 1024 * 1024 + 100 * 1024), "huge.txt")


def test_an_epub_that_unpacks_too_big() -> None:
    padding = [("pad.xhtml", "<p>" + "lantern " * 200_000 + "</p>")]  # 1.6 MB unpacked, small zipped
    data = make_epub(CHAPTERS + padding, TOC, title="B")
    assert len(data) < 100_000
    with pytest.raises(ReadingFormatError, match=r"^b\.epub unpacks to 1\.\d MB; the limit is 400 KB"):
        load_reading(data, "b.epub", max_bytes=100 * 1024)


def test_load_path_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReadingFormatError, match=r"gone\.md can't be read: No such file or directory"):
        load_path(tmp_path / "gone.md")


@pytest.mark.parametrize("fmt", ["pdf", "epub", "html"])
def test_damaged_files_give_one_line_never_a_traceback(fmt: str) -> None:
    """Truncated files, flipped bytes and overwritten runs (seeded): each loads or raises
    ReadingFormatError, never another exception."""
    good = {
        "pdf": lambda: make_pdf([["# Chapter 1", PROSE[0]], ["# Chapter 2", PROSE[1]]], outline=[("Chapter 2", 1, [])]),
        "epub": lambda: make_epub(CHAPTERS, TOC, title="B"),
        "html": lambda: PAGE.encode(),
    }[fmt]()
    rng = random.Random(12)
    for _ in range(40):
        data = bytearray(good)
        how = rng.choice(["truncate", "flip", "overwrite"])
        if how == "truncate":
            data = data[: rng.randrange(len(data))]
        elif how == "flip":
            for _ in range(rng.randint(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        else:
            at = rng.randrange(len(data))
            data[at : at + rng.randint(1, 200)] = rng.randbytes(rng.randint(0, 200))
        try:
            load_reading(bytes(data), f"damaged.{fmt}")
        except ReadingFormatError as exc:
            assert "\n" not in str(exc) and str(exc).startswith("damaged."), str(exc)
