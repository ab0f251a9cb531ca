"""Render an example results chart to benchmarks/results/chart_example.png.

    .venv/bin/python benchmarks/chart_example.py

A claim with an em dash, options in German (ß), Greek and Russian, and a 40-character option,
so every glyph and the wrapping of a long label can be checked by eye.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.polls.chart import bar_chart
from bot.polls.model import Tally

OUT = Path(__file__).resolve().parent / "results" / "chart_example.png"
CLAIM = "Scaling is over — or is it?"
OPTIONS = ("Weiß nicht", "Ναι", "Нет", "Partly – scaling pays, research pays too")  # the last: 40 chars, an en dash


def main() -> None:
    assert len(OPTIONS[-1]) == 40, len(OPTIONS[-1])
    png = bar_chart(CLAIM, OPTIONS, Tally((3, 7, 2, 5)), closed_at=datetime(2026, 3, 14, 18, 30, tzinfo=UTC))
    OUT.write_bytes(png)
    print(f"wrote {OUT} ({len(png)} bytes)")


if __name__ == "__main__":
    main()
