"""Reading loaders at book size: a 300-page PDF and the same book as an EPUB.

    python benchmarks/bench_readings.py [--runs 3] [--out benchmarks/results/bench_readings.txt]

The book is generated deterministically (fixed seed): prose of sentences, dialogue and
paragraphs of varied length, in 3 parts of 8 chapters, each chapter with a titled scene
inside it. The PDF (fpdf2, A5, Times 10.5 pt, a running head and page numbers) has exactly
300 pages and a three-level outline (part > chapter > scene); the EPUB (EbookLib, nav and
NCX) holds the same paragraphs, one XHTML file per chapter, with the same three-level
table of contents, scenes reached through fragment anchors.

Each file is loaded with ``bot.readings.formats.load_path`` in a fresh subprocess, --runs
times. The child imports the loaders, then times load_path; the parent reads the child's
peak RSS (ru_maxrss) from os.wait4, so the peak covers the whole process. Reported: the
load_path time, the child's wall time (interpreter and imports included), its peak RSS
and the peak before loading (the interpreter and the loader imports), so the difference
is what loading the book costs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = 300
PARTS = 3
CHAPTERS_PER_PART = 8
SEED = 12
TITLE = "The Lantern Keeper of Skerry Bay"

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from bot.readings import formats, formats_epub, formats_pdf  # every loader imported before the clock starts
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
doc = formats.load_path(Path(sys.argv[1]))
seconds = time.perf_counter() - start
print(json.dumps({
    "seconds": seconds, "rss_before_kb": before, "sections": len(doc.sections),
    "chars": sum(len(s.text) for s in doc.sections), "title": doc.title,
    "headings": [s.heading for s in doc.sections],
}))
"""

# --------------------------------------------------------------------------- deterministic prose

NAMES = ["Marta", "Anselm", "Ines", "the ferryman", "the keeper", "her brother", "the stranger", "old Tomas", "Lena"]
NOUNS = [
    "lantern", "harbour", "tide", "rope", "window", "stair", "boat", "net", "letter", "road", "bell", "field",
    "kitchen", "storm", "candle", "island", "gull", "shore", "door", "winter", "fire", "key", "map", "chapel",
]  # fmt: skip
ADJECTIVES = [
    "grey", "narrow", "old", "cold", "quiet", "broken", "bright", "heavy", "salt-stained", "distant", "empty",
    "small", "wet", "patient", "crooked", "last",
]  # fmt: skip
VERBS = [
    "watched", "climbed", "carried", "mended", "opened", "followed", "remembered", "crossed", "lit", "counted",
    "pulled", "found", "left", "waited by", "listened to", "looked at",
]  # fmt: skip
ADVERBS = ["slowly", "without a word", "again", "at last", "as if nothing had happened", "before dawn", "twice"]
CLAUSES = [
    "the wind turned", "the tide went out", "the bell rang in the chapel", "the fog came down over the water",
    "the boats came home", "the lamp burned low", "nobody answered", "the rain stopped",
]  # fmt: skip
SAYINGS = [
    "We will wait until the tide turns", "Nobody crosses the bay in weather like this",
    "Light the lantern before it gets dark", "I have seen that boat before", "Tell me what the letter says",
    "It is only the wind", "Come inside and warm your hands",
]  # fmt: skip


def _sentence(rng: random.Random) -> str:
    a, b = rng.choice(NAMES), rng.choice(NAMES)
    noun, other = rng.choice(NOUNS), rng.choice(NOUNS)
    adj, verb, verb2 = rng.choice(ADJECTIVES), rng.choice(VERBS), rng.choice(VERBS)
    shapes = [
        f"{a} {verb} the {adj} {noun} {rng.choice(ADVERBS)}.",
        f"When {rng.choice(CLAUSES)}, {a} {verb} the {noun} and {verb2} the {adj} {other}.",
        f"{a} {verb} the {noun}, and {b} {verb2} the {other} {rng.choice(ADVERBS)}.",
        f"Nobody in the village had {verb} the {adj} {noun} since {rng.choice(CLAUSES)}.",
        f'"{rng.choice(SAYINGS)}," said {a}.',
        f"It was {rng.choice(['late', 'early', 'very cold', 'almost dark'])} when {rng.choice(CLAUSES)}.",
    ]
    sentence = rng.choice(shapes)
    return sentence[0].upper() + sentence[1:]


def _paragraph(rng: random.Random) -> str:
    if rng.random() < 0.2:  # a line of dialogue on its own
        return f'"{rng.choice(SAYINGS)}," said {rng.choice(NAMES)}.'
    return " ".join(_sentence(rng) for _ in range(rng.randint(2, 8)))


def _title(rng: random.Random) -> str:
    return f"The {rng.choice(ADJECTIVES).title()} {rng.choice(NOUNS).title()}"


@dataclass
class Chapter:
    part: str
    title: str
    scene: str  # the titled scene's heading
    opening: list[str] = field(default_factory=list)  # paragraphs before the scene
    scene_text: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- the files


def make_pdf(path: Path) -> list[Chapter]:
    """Exactly PAGES pages; returns the chapters with the paragraphs drawn, for the EPUB."""
    from fpdf import FPDF

    rng = random.Random(SEED)

    class Book(FPDF):
        def header(self) -> None:
            if self.page_no() > 1:
                self.set_font("Times", "I", 8)
                self.cell(0, 5, TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
                self.ln(2)

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("Times", size=8)
            self.cell(0, 6, str(self.page_no()), align="C")

    pdf = Book(format=(148, 210))  # A5, in mm
    pdf.set_title(TITLE)
    pdf.set_auto_page_break(True, margin=16)
    total = PARTS * CHAPTERS_PER_PART
    chapters: list[Chapter] = []
    for n in range(total):
        part_no, first_of_part = n // CHAPTERS_PER_PART + 1, n % CHAPTERS_PER_PART == 0
        chapter = Chapter(part=f"Part {part_no}", title=f"Chapter {n + 1}: {_title(rng)}", scene=_title(rng))
        end_page = round(PAGES * (n + 1) / total)
        pdf.add_page()
        start_page = pdf.page_no()
        if first_of_part:
            pdf.start_section(chapter.part, level=0)
        pdf.set_font("Times", "B", 15)
        pdf.start_section(chapter.title, level=1)
        pdf.multi_cell(0, 8, chapter.title)
        pdf.ln(3)
        scene_page = start_page + (end_page - start_page) * 3 // 5
        target = chapter.opening
        while pdf.page_no() < end_page:
            if target is chapter.opening and pdf.page_no() >= scene_page:
                pdf.ln(2)
                pdf.set_font("Times", "B", 12)
                pdf.start_section(chapter.scene, level=2)
                pdf.multi_cell(0, 6, chapter.scene)
                pdf.ln(2)
                target = chapter.scene_text
            text = _paragraph(rng)
            pdf.set_font("Times", size=10.5)
            pdf.multi_cell(0, 4.8, text)
            pdf.ln(2.2)
            target.append(text)
        chapters.append(chapter)
    assert pdf.page_no() == PAGES, pdf.page_no()
    pdf.output(str(path))
    return chapters


def make_epub(path: Path, chapters: list[Chapter]) -> None:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("readbot-bench-lantern-keeper")
    book.set_title(TITLE)
    book.set_language("en")
    items, toc, part_entries = [], [], {}
    for n, chapter in enumerate(chapters, start=1):
        name = f"chapter_{n:02d}.xhtml"
        body = "".join(f"<p>{p}</p>" for p in chapter.opening)
        scene = "".join(f"<p>{p}</p>" for p in chapter.scene_text)
        item = epub.EpubHtml(title=chapter.title, file_name=name, lang="en")
        item.content = f'<h1>{chapter.title}</h1>{body}<h2 id="scene">{chapter.scene}</h2>{scene}'
        book.add_item(item)
        items.append(item)
        links = [epub.Link(name, chapter.title, f"c{n}"), [epub.Link(f"{name}#scene", chapter.scene, f"c{n}s")]]
        if chapter.part not in part_entries:
            part_entries[chapter.part] = []
            toc.append((epub.Section(chapter.part), part_entries[chapter.part]))
        part_entries[chapter.part].append((links[0], links[1]))
    book.toc = toc
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *items]
    epub.write_epub(str(path), book, {})


def make_files(folder: Path) -> None:
    started = time.perf_counter()
    chapters = make_pdf(folder / "lantern-keeper.pdf")
    pdf_s = time.perf_counter() - started
    started = time.perf_counter()
    make_epub(folder / "lantern-keeper.epub", chapters)
    paragraphs = [p for c in chapters for p in c.opening + c.scene_text]
    summary = {
        "chapters": len(chapters),
        "paragraphs": len(paragraphs),
        "words": sum(len(p.split()) for p in paragraphs),
        "pdf_s": pdf_s,
        "epub_s": time.perf_counter() - started,
    }
    print(json.dumps(summary))


# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    seconds: float  # load_path
    wall: float  # the whole child process
    peak_mb: float
    before_mb: float
    report: dict[str, object]


def measure(path: Path) -> Run:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, cwd=ROOT, env=env)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"loading {path.name} failed (exit {child.returncode})")
    report = json.loads(output)
    return Run(report["seconds"], wall, usage.ru_maxrss / 1024, report["rss_before_kb"] / 1024, report)


def git_state() -> str:
    def run(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    changed = [line[3:] for line in run("status", "--porcelain", "--untracked-files=no").splitlines()]
    return run("rev-parse", "--short", "HEAD") + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bench_readings.txt")
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)  # internal: write the two files there
    args = parser.parse_args()
    if args.make:
        make_files(args.make)
        return
    lines: list[str] = []

    def out(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    load = os.getloadavg()
    out("readbot reading loaders benchmark (benchmarks/bench_readings.py)")
    out(
        f"run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}: {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; code: {git_state()}"
    )
    out(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (1/5/15 min)")
    out(f"command: python benchmarks/bench_readings.py {' '.join(sys.argv[1:])}".rstrip())
    out()
    # the files are made in a child of their own: this process stays small, so the measuring
    # children's ru_maxrss (which counts what a forked parent held) is theirs alone
    folder = Path(tempfile.mkdtemp(prefix="readbot-bench-readings-"))
    made = subprocess.run(
        [sys.executable, __file__, "--make", str(folder)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    book = json.loads(made.stdout)
    pdf_path, epub_path = folder / "lantern-keeper.pdf", folder / "lantern-keeper.epub"
    out(
        f"book: {book['chapters']} chapters in {PARTS} parts, {book['paragraphs']:,} paragraphs, {book['words']:,} "
        f"words (seed {SEED}); toc/outline: part > chapter > scene"
    )
    out(f"  PDF  {PAGES} pages (A5), {pdf_path.stat().st_size / 1e6:.1f} MB, made with fpdf2 in {book['pdf_s']:.1f} s")
    out(
        f"  EPUB {book['chapters']} XHTML files, {epub_path.stat().st_size / 1e6:.1f} MB, "
        f"made with EbookLib in {book['epub_s']:.1f} s"
    )
    out()
    header = (
        f"{'file':<6} {'runs':>4} {'load_path':>10} {'(min-max)':>14} {'process':>8} {'peak RSS':>9} "
        f"{'before load':>12} {'load adds':>10} {'sections':>8} {'chars':>10}"
    )
    out(header)
    out("-" * len(header))
    found: dict[str, list[str]] = {}
    for label, path in (("PDF", pdf_path), ("EPUB", epub_path)):
        runs = [measure(path) for _ in range(args.runs)]
        times = [r.seconds for r in runs]
        peak, before = max(r.peak_mb for r in runs), max(r.before_mb for r in runs)
        report = runs[0].report
        out(
            f"{label:<6} {len(runs):>4} {statistics.median(times):>9.2f}s {min(times):>6.2f}-{max(times):.2f} s "
            f"{statistics.median(r.wall for r in runs):>7.2f}s {peak:>6.0f} MB {before:>9.0f} MB "
            f"{peak - before:>7.0f} MB {report['sections']:>8} {report['chars']:>10,}"
        )
        found[label] = list(report["headings"])  # type: ignore[call-overload]
        out(f"       title {report['title']!r}; first sections {found[label][:4]}")
    same = found["PDF"] == found["EPUB"]
    out(f"the PDF's outline and the EPUB's toc give the same {len(found['PDF'])} section headings: {same}")
    out()
    out("load_path: median of the runs, in a fresh process each; process: the child's wall time (interpreter,")
    out("imports, loading); peak RSS: the child's ru_maxrss (os.wait4); before load: its peak after importing the")
    out("loaders; load adds: the difference. Targets for the whole add (loading + embedding): <= 3 min, <= 600 MB.")
    out(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    shutil.rmtree(folder, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
