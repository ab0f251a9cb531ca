"""Draft time per reading: the discussion questions and poll claims drafted when a reading is added.

    python benchmarks/bench_drafts.py [--runs 5] [--out benchmarks/results/bench_drafts.txt]

Readings: the shipped reading, the 23 FairytaleQA val stories, and a book-sized one (the 300-page
book of bench_readings.py, as its EPUB: 48 sections, 116k words). Each is loaded once (not timed);
then ``bot.readings.drafts.offline_drafts`` is timed --runs times (median reported), and the drafts
are stored once in a fresh SQLite review queue (``ReviewQueue.replace_made``, timed). Reported per
reading: sections, words, questions and claims drafted (against the minimum), draft time, store time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_readings import git_state, make_epub, make_pdf
from benchmarks.common import story_files
from bot.readings.drafts import needed, offline_drafts
from bot.readings.formats import ReadingDoc, load_path
from bot.review.queue import ReviewQueue
from bot.store.db import Database, database_url

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "knowledge" / "dwarkesh-107-ilya-sutskever.txt"


async def store_time(doc: ReadingDoc, items: list, folder: Path) -> float:  # type: ignore[type-arg]
    db = await Database.open(database_url("", folder))
    try:
        started = time.perf_counter()
        await ReviewQueue(db).replace_made("bench", items, by="bench", now=datetime.now(UTC), approve=False)
        return time.perf_counter() - started
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    lines: list[str] = []

    def out(line: str = "") -> None:
        print(line)
        lines.append(line)

    folder = Path(tempfile.mkdtemp(prefix="readbot-bench-drafts-"))
    book = folder / "lantern-keeper.epub"
    make_epub(book, make_pdf(folder / "lantern-keeper.pdf"))
    readings = [("shipped", SHIPPED), *((p.stem, p) for p in story_files()), ("book-300-pages (EPUB)", book)]
    out("readbot drafts benchmark (benchmarks/bench_drafts.py)")
    cpus = len(os.sched_getaffinity(0))
    out(
        f"run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}: {cpus} CPUs,"
        f" Python {platform.python_version()}; code: {git_state()}"
    )
    out(f"command: python benchmarks/bench_drafts.py --runs {args.runs}")
    out()
    out(f"{'reading':42} {'sections':>8} {'words':>7} {'questions':>10} {'claims':>7} {'draft':>8} {'store':>7}")
    out("-" * 95)
    times = []
    for name, path in readings:
        doc = load_path(path)
        words = sum(len(s.text.split()) for s in doc.sections)
        runs = []
        items = []
        for _ in range(args.runs):
            started = time.perf_counter()
            items = offline_drafts(doc)
            runs.append(time.perf_counter() - started)
        draft_s = statistics.median(runs)
        times.append(draft_s)
        stored = asyncio.run(store_time(doc, items, folder / name.split()[0]))
        want_q, want_c = needed(len(doc.sections))
        q = sum(i.kind == "prompt" for i in items)
        c = sum(i.kind == "claim" for i in items)
        out(
            f"{name[:42]:42} {len(doc.sections):8} {words:7,} {f'{q}/{want_q}':>10} {f'{c}/{want_c}':>7}"
            f" {draft_s * 1000:6.1f}ms {stored * 1000:5.0f}ms"
        )
    out()
    out(
        f"draft time over {len(readings)} readings: median {statistics.median(times) * 1000:.1f} ms, "
        f"max {max(times) * 1000:.1f} ms (offline, one thread; the median of {args.runs} runs each)"
    )
    out("questions/claims: drafted / the minimum (5 and 3, or one per 2 and one per 3 sections);")
    out("store: the drafts written to a fresh SQLite review queue (replace_made, one transaction).")
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
