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

Then the whole add, as a person runs it: ``readbot readings add FILE --id ID`` as a
subprocess (the installed console script, in an empty working directory, no READBOT_,
SLACK_ or DISCORD_ settings inherited), for the PDF and for the EPUB, each on a data dir
of its own:

* warm index: the data dir first gets a plain ``readbot ingest`` (the shipped reading
  indexed, timed and reported on its own), so the add is loading the file, embedding its
  chunks and storing them (plus the interpreter, the imports, the model and Chroma opening);
* cold: an empty data dir, so the add also indexes the shipped reading first (what the
  first command on a new install does).

Each add's wall time and its peak RSS (the child's ru_maxrss from os.wait4) are reported
beside the targets (<= 3 minutes, <= 600 MB), with the chunks the reading got (counted
afterwards, in a process of its own, not timed). ``--add-runs 0`` skips the adds,
``--no-cold`` the cold ones.
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
from collections.abc import Callable
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


CHUNKS = r"""
import json, sys
from collections import Counter
from bot.knowledge.service import KnowledgeService
from bot.settings import Settings
service = KnowledgeService.open(Settings.from_env({"READBOT_DATA_DIR": sys.argv[1]}, dotenv=None))
try:
    chunks = Counter()
    for record in service.index.files().values():
        chunks[record.reading] += max(record.chunks, 0)
    print(json.dumps(chunks))
finally:
    service.close()
"""
ADD_TARGET_S = 180.0
ADD_TARGET_MB = 600.0

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


@dataclass
class Child:
    wall: float
    peak_mb: float
    stdout: str


def readbot_exe() -> Path:
    exe = Path(sys.executable).parent / "readbot"
    if not exe.exists():
        raise SystemExit(f"{exe} is missing: install readbot first (make run, or pip install -e .)")
    return exe


def cli_env(data_dir: Path) -> dict[str, str]:
    """The environment a person's shell would give readbot: none of this machine's readbot or chat
    settings, offline, the data dir given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("READBOT_", "SLACK_", "DISCORD_"))}
    env.update(READBOT_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    return env


def run_child(args: list[str], data_dir: Path, cwd: Path) -> Child:
    """Run a command to its end; its wall time, its peak RSS (ru_maxrss from os.wait4) and stdout."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errors:  # a file: a chatty stderr can't block it
        started = time.perf_counter()
        child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, cwd=cwd, env=cli_env(data_dir))
        assert child.stdout is not None
        stdout = child.stdout.read().decode("utf-8", "replace")
        _, status, usage = os.wait4(child.pid, 0)  # reaped here, with its rusage
        wall = time.perf_counter() - started
        child.returncode = code = os.waitstatus_to_exitcode(status)
        child.stdout.close()
        if code != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(args[1:])} failed (exit {code}): {errors.read().strip()[-500:]}")
    return Child(wall, usage.ru_maxrss / 1024, stdout.strip())


def reading_chunks(data_dir: Path, cwd: Path) -> dict[str, int]:
    child = subprocess.run(
        [sys.executable, "-c", CHUNKS, str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env={**cli_env(data_dir), "PYTHONPATH": str(ROOT)},
    )
    return {str(k): int(v) for k, v in json.loads(child.stdout).items()}


def git_state() -> str:
    def run(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout

    # porcelain lines are "XY path": not stripped first, or " M path" would lose a letter of its path
    changed = [line[3:] for line in run("status", "--porcelain", "--untracked-files=no").splitlines() if line]
    return run("rev-parse", "--short", "HEAD").strip() + (
        f" + uncommitted changes in {', '.join(changed)}" if changed else ""
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bench_readings.txt")
    parser.add_argument("--add-runs", type=int, default=2, help="runs of each whole `readbot readings add` (0: none)")
    parser.add_argument(
        "--cold", action=argparse.BooleanOptionalAction, default=True, help="also add on empty data dirs"
    )
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
    if args.add_runs > 0:
        out()
        whole_add(out, folder, {"PDF": pdf_path, "EPUB": epub_path}, args.add_runs, cold=args.cold)
    out(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    shutil.rmtree(folder, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def whole_add(out: Callable[[str], None], folder: Path, files: dict[str, Path], runs: int, *, cold: bool) -> None:
    """``readbot readings add FILE --id ID`` in a subprocess, on a warm index and (``cold``) on an empty
    data dir, ``runs`` times each, every run on a fresh data dir."""
    exe, cwd = readbot_exe(), folder / "cwd"
    cwd.mkdir(exist_ok=True)  # no .env nor readbot.toml of this checkout is picked up
    out("the whole add: `readbot readings add FILE --id ID` in a subprocess, each run on a fresh data dir")
    header = (
        f"{'file':<6} {'index':<6} {'runs':>4} {'wall':>8} {'(min-max)':>15} {'peak RSS':>9} {'chunks':>7} "
        f"{'chunks/s':>9}  within 3 min / 600 MB"
    )
    out(header)
    out("-" * len(header))
    ingests: list[Child] = []
    worst = (0.0, 0.0)
    added = ""
    for label, path in files.items():
        reading_id = f"lantern-{label.lower()}"
        kinds = [("warm", True), ("cold", False)] if cold else [("warm", True)]
        for kind, warm in kinds:
            children, chunks = [], 0
            for n in range(runs):
                data_dir = folder / f"data-{reading_id}-{kind}-{n}"
                if warm:
                    ingests.append(run_child([str(exe), "ingest"], data_dir, cwd))
                children.append(run_child([str(exe), "readings", "add", str(path), "--id", reading_id], data_dir, cwd))
                added = children[-1].stdout
                if n == 0:
                    chunks = reading_chunks(data_dir, cwd).get(reading_id, 0)
                shutil.rmtree(data_dir, ignore_errors=True)
            walls = [c.wall for c in children]
            wall, peak = statistics.median(walls), max(c.peak_mb for c in children)
            worst = (max(worst[0], max(walls)), max(worst[1], peak))
            within = "yes" if max(walls) <= ADD_TARGET_S and peak <= ADD_TARGET_MB else "NO"
            out(
                f"{label:<6} {kind:<6} {len(children):>4} {wall:>7.1f}s {min(walls):>7.1f}-{max(walls):.1f} s "
                f"{peak:>6.0f} MB {chunks:>7,} {chunks / wall:>9.0f}  {within}"
            )
        out(f"       {added}")
    if ingests:
        out(
            f"`readbot ingest` before each warm add (the shipped reading): median "
            f"{statistics.median(c.wall for c in ingests):.1f} s, peak RSS {max(c.peak_mb for c in ingests):.0f} MB"
        )
    met = "met" if worst[0] <= ADD_TARGET_S and worst[1] <= ADD_TARGET_MB else "NOT met"
    out(
        f"slowest add {worst[0]:.1f} s (target <= {ADD_TARGET_S:.0f} s), largest peak RSS {worst[1]:.0f} MB "
        f"(target <= {ADD_TARGET_MB:.0f} MB): targets {met}"
    )
    out()
    out("wall: the child's, from start to exit (interpreter, imports, the model, Chroma, loading the file: once to")
    out("refuse a bad file before anything is opened, once to add it; embedding and storing its chunks); warm: the")
    out("data dir already indexed by `readbot ingest`; cold: an empty data dir (the add indexes the shipped reading")
    out("first); peak RSS: the child's ru_maxrss (os.wait4); chunks: what the reading holds in the index after.")


if __name__ == "__main__":
    main()
