"""HTML (and the XHTML inside an EPUB) to the main text as blocks: headings, paragraphs,
list items, in document order.

Only the main content is kept: ``<main>`` (or ``role="main"``), else the single
``<article>``, else ``<body>``; inside it navigation, headers and footers, asides, forms,
scripts, styles, hidden elements and chrome named by role or class ("sidebar", "share",
"cookie"…) are dropped. A header inside an article keeps only its headings. This is
deterministic on purpose: scoring extractors (trafilatura, readability) were tried and
dropped whole headed sections of short chapters, and a reading must not lose a part.
"""

from __future__ import annotations

import codecs
import itertools
import re
from dataclasses import dataclass
from typing import Literal

from lxml import etree
from lxml import html as lxml_html

from bot.readings.formats_base import (
    ReadingFormatError,
    Section,
    display_name,
    make_sections,
    one_line,
    short_reason,
    stem,
)
from bot.readings.formats_text import not_utf8

Mode = Literal["through", "emit", "headings", "silent"]

HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "header", "hgroup", "hr", "html", "li", "main", "nav", "ol", "p",
    "pre", "section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul",
}  # fmt: skip
CHROME_TAGS = {
    "aside", "audio", "button", "canvas", "dialog", "embed", "footer", "form", "head", "iframe", "input", "label",
    "link", "map", "math", "menu", "meta", "nav", "noscript", "object", "script", "select", "style", "svg",
    "template", "textarea", "title", "video",
}  # fmt: skip
CHROME_ROLES = {
    "alertdialog", "banner", "complementary", "contentinfo", "dialog", "menu", "menubar", "navigation", "search",
    "tablist", "toolbar",
}  # fmt: skip
CHROME_WORDS = {
    "advert", "advertisement", "ads", "banner", "breadcrumb", "breadcrumbs", "comment", "comments", "cookie",
    "cookies", "footer", "masthead", "menu", "nav", "navbar", "navigation", "newsletter", "pagination", "promo",
    "related", "share", "sharing", "sidebar", "skip", "social", "subscribe", "toolbar",
}  # fmt: skip
CONTAINERS = {"article", "section", "main"}
NEVER_CHROME = {"html", "body", "main", "article"}

_WORDS = re.compile(r"[a-z]+")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_CHARSET = re.compile(rb"""(?:charset|encoding)\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


@dataclass(frozen=True)
class Block:
    kind: Literal["heading", "para", "item", "pre", "cut"]
    text: str  # for a cut: the anchor id
    level: int = 0  # heading level
    group: int = 0  # items of one list (or rows of one table) share a group


# --------------------------------------------------------------------------- parsing


def decode_html(data: bytes, name: str) -> str:
    """UTF-8 (a BOM is fine), else the charset the page declares."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    declared = _CHARSET.search(data[:4096])
    if declared:
        try:
            codec = codecs.lookup(declared.group(1).decode("ascii"))
        except LookupError:
            codec = None
        if codec is not None and codec.name != "utf-8":
            return data.decode(codec.name, errors="replace")
    raise not_utf8(name)


def parse_html(data: bytes, name: str) -> etree._Element:
    """The document's root element, tags without namespaces. XHTML is parsed as XML when
    it is well-formed (so ``<a id="x"/>`` stays empty), anything else as HTML."""
    text = _XML_DECL.sub("", decode_html(data, name), count=1)
    if not text.strip():
        raise ReadingFormatError(f"{display_name(name)} has no text: add a file that holds the reading")
    if "http://www.w3.org/1999/xhtml" in text[:4096]:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        try:
            root = etree.fromstring(text, parser)
        except etree.XMLSyntaxError:
            pass  # HTML entities, unclosed tags: read it as HTML
        else:
            for el in root.iter():
                if isinstance(el.tag, str) and el.tag.startswith("{"):
                    el.tag = etree.QName(el).localname
            return root
    try:
        return lxml_html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise ReadingFormatError(f"{display_name(name)} is not a readable HTML page: {short_reason(exc)}") from exc


def _tag(el: etree._Element) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def _inline_text(el: etree._Element) -> str:
    """Text of an element (a heading, a title) without scripts, styles and the like."""
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        if _tag(node) and _tag(node) not in CHROME_TAGS:
            parts.append(node.text or "")
            for child in node:
                walk(child)
                parts.append(child.tail or "")

    walk(el)
    return one_line("".join(parts))


def html_title(root: etree._Element) -> str:
    """``<title>``, else the first ``<h1>``, else ""."""
    titles = (one_line("".join(el.itertext())) for el in root.xpath("//title"))
    headings = (_inline_text(el) for el in root.xpath("//h1"))
    return next((text for text in itertools.chain(titles, headings) if text), "")


# --------------------------------------------------------------------------- main content


def _main_root(root: etree._Element) -> etree._Element:
    mains = root.xpath("//main | //*[@role='main']")
    if mains:
        return mains[0]
    articles = root.xpath("//article")
    if len(articles) == 1:
        return articles[0]
    bodies = root.xpath("//body")
    return bodies[0] if bodies else root


def _chrome(el: etree._Element, tag: str) -> Mode | None:
    """How to treat an element of the main content: None (it is content), "silent"
    (chrome: drop it) or "headings" (an article's header: keep its headings only)."""
    if tag in CHROME_TAGS:
        return "silent"
    attrib = el.attrib
    if "hidden" in attrib or attrib.get("aria-hidden") == "true" or _HIDDEN_STYLE.search(attrib.get("style", "")):
        return "silent"
    if tag in NEVER_CHROME or tag in HEADINGS:
        return None
    if tag == "header":
        inside = any(_tag(a) in CONTAINERS for a in el.iterancestors())
        return "headings" if inside else "silent"
    if attrib.get("role", "").lower() in CHROME_ROLES:
        return "silent"
    words = set(_WORDS.findall(f"{attrib.get('class', '')} {attrib.get('id', '')}".lower()))
    return "silent" if words & CHROME_WORDS else None


class _Walker:
    """Walks the document once, in order, collecting blocks; anchors (element ids) that
    are asked for become "cut" blocks where they stand, even inside dropped chrome."""

    def __init__(self, main: etree._Element, anchors: frozenset[str]) -> None:
        self.main = main
        self.ancestors = set(main.iterancestors())
        self.anchors = anchors
        self.blocks: list[Block] = []
        self.lines: list[str] = []  # finished lines of the current paragraph
        self.line: list[str] = []  # pieces of the current line
        self.kind: Literal["para", "item", "pre"] = "para"
        self.lists: list[list[int]] = []  # open lists: [next number] for <ol>, [] for <ul>
        self.indent = ""  # a list item's indentation (nesting)
        self.group = 0

    # ---- output
    def add(self, text: str | None) -> None:
        if text:
            self.line.append(text)

    def newline(self) -> None:
        self.lines.append("".join(self.line))
        self.line = []

    def flush(self) -> None:
        self.newline()
        if self.kind == "pre":
            text = "\n".join(self.lines).strip("\n")
        else:
            text = "\n".join(one_line(ln) for ln in self.lines if one_line(ln))
        if text.strip():
            self.blocks.append(Block(self.kind, self.indent + text, group=self.group))
        self.lines, self.line, self.kind, self.indent = [], [], "para", ""

    def cut_at(self, el: etree._Element) -> None:
        for key in ("id", "name"):
            anchor = el.get(key)
            if anchor and anchor in self.anchors:
                self.flush()
                self.blocks.append(Block("cut", anchor))
                return

    # ---- walking
    def walk(self, el: etree._Element, mode: Mode) -> None:
        tag = _tag(el)
        if not tag:
            return  # a comment or processing instruction (its tail is the parent's)
        if mode == "through":
            mode = "emit" if el is self.main else ("through" if el in self.ancestors else "silent")
        self.cut_at(el)
        if mode == "emit" and el is not self.main:
            mode = _chrome(el, tag) or "emit"
        if mode == "silent":
            for inner in el.iterdescendants():
                self.cut_at(inner)
            return
        if tag in HEADINGS and mode != "through":
            self.heading(el, HEADINGS[tag])
            return
        if mode != "emit":  # "through" (above the main content) or "headings" (an article's header)
            for child in el:
                self.walk(child, mode)
            return
        self.content(el, tag)

    def heading(self, el: etree._Element, level: int) -> None:
        for inner in el.iterdescendants():
            self.cut_at(inner)
        text = _inline_text(el)
        if text:
            self.flush()
            self.blocks.append(Block("heading", text, level))

    def content(self, el: etree._Element, tag: str) -> None:
        if tag == "br":
            self.newline()
            return
        block = tag in BLOCK_TAGS
        if block:
            self.flush()
        if tag in ("ul", "ol"):
            self.group += not self.lists
            self.lists.append([1] if tag == "ol" else [])
        elif tag == "table":
            self.group += 1
        elif tag == "li":
            self.item_start()
        elif tag == "pre":
            self.kind = "pre"
        elif tag == "tr":
            self.kind = "item"
        elif tag in ("td", "th") and "".join(self.line).strip():
            self.add(" | ")
        self.add(el.text)
        for child in el:
            self.walk(child, "emit")
            self.add(child.tail)
        if block:
            self.flush()
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()

    def item_start(self) -> None:
        self.kind = "item"
        depth = max(len(self.lists) - 1, 0)
        counter = self.lists[-1] if self.lists else []
        if counter:
            marker = f"{counter[0]}."
            counter[0] += 1
        else:
            marker = "•"
        self.indent = "  " * depth
        self.add(f"{marker} ")


def html_blocks(root: etree._Element, anchors: frozenset[str] = frozenset()) -> list[Block]:
    """The main content's blocks in document order, with a "cut" block where each of
    ``anchors`` (element ids) stands."""
    walker = _Walker(_main_root(root), anchors)
    walker.walk(root, "through")
    walker.flush()
    return walker.blocks


# --------------------------------------------------------------------------- blocks → text


def blocks_text(blocks: list[Block]) -> str:
    """Blocks as plain text: paragraphs separated by blank lines, list items and table
    rows of one list on consecutive lines."""
    out: list[str] = []
    previous = ("", 0)
    for block in blocks:
        if block.kind == "cut":
            continue
        if out:
            same_list = block.kind == "item" and previous == ("item", block.group)
            out.append("\n" if same_list else "\n\n")
        out.append(block.text)
        previous = (block.kind, block.group)
    return "".join(out)


def sections_from_blocks(blocks: list[Block]) -> list[tuple[str, str]]:
    """(heading, text) pairs: each heading opens a section; text before any is headed ""."""
    pairs: list[tuple[str, str]] = []
    heading, body = "", list[Block]()
    for block in blocks:
        if block.kind == "heading":
            pairs.append((heading, blocks_text(body)))
            heading, body = block.text, []
        else:
            body.append(block)
    pairs.append((heading, blocks_text(body)))
    return pairs


def load_html(data: bytes, name: str) -> tuple[str, tuple[Section, ...]]:
    root = parse_html(data, name)
    title = html_title(root) or stem(name)
    return title, make_sections(sections_from_blocks(html_blocks(root)), title)
