"""The results chart: a horizontal bar chart as PNG bytes, drawn with matplotlib.

Headless and thread-safe (it runs in a worker thread): a :class:`~matplotlib.figure.Figure`
with its own Agg canvas, never pyplot, no global state changed. Text is set in DejaVu Sans,
the font matplotlib ships (Latin, Latin Extended, Greek, Cyrillic), loaded from matplotlib's
data folder, so no system font is looked up; a character it has no glyph for (CJK, emoji)
is drawn as U+FFFD, the replacement character, and the full text is in the message anyway.
Sized for Slack's and Discord's previews: 800 px wide, no text below 12 px at that size.
Colours are Okabe–Ito (distinguishable with every common colour-vision deficiency) and every
bar is labelled with its count and share, so colour is never the only cue.
"""

from __future__ import annotations

import io
import textwrap
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot.polls.model import Tally

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH, DPI = 800, 100  # pixels, and pixels per inch (so 1 pt = 100/72 px)
TITLE_PT, LABEL_PT, NOTE_PT = 16, 13, 12  # 22, 18 and 17 px
TITLE_CHARS, LABEL_CHARS = 58, 24  # wrap widths, in characters
PAD, LABEL, VALUE_COLUMN = 24, 260, 130  # px: margin, option labels' column, "12 · 100%" after a bar
TITLE_LINE, LABEL_LINE, BAR, ROW_GAP, NOTE = 30, 22, 26, 18, 44  # px
ROW = BAR + ROW_GAP  # px: the height of an option with a one-line label
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")  # Okabe–Ito
YELLOW = "#F0E442"  # too pale on white alone: outlined
INK, MUTED = "#1a1a1a", "#4d4d4d"
MISSING = "\ufffd"


@cache
def font_path(bold: bool = False) -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")


@cache
def _charmap(bold: bool) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(str(font_path(bold))).get_charmap())


def drawable(text: str, bold: bool = False) -> str:
    """``text`` with every character the font has no glyph for replaced by U+FFFD."""
    charmap = _charmap(bold)
    return "".join(c if ord(c) in charmap or c == "\n" else MISSING for c in text)


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=True) or [""]


def figure(
    title: str, options: tuple[str, ...], tally: Tally, *, closed_at: datetime | None = None, width: int = WIDTH
) -> Figure:
    """The chart as a matplotlib Figure (``width`` px wide at :data:`DPI`; the height follows the text)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    regular, bold = FontProperties(fname=font_path()), FontProperties(fname=font_path(bold=True))
    title_lines = _wrap(title, TITLE_CHARS)
    labels = [_wrap(option, LABEL_CHARS) for option in options]
    rows = [max(ROW, len(lines) * LABEL_LINE + ROW_GAP) for lines in labels]
    head = PAD + len(title_lines) * TITLE_LINE + PAD // 2
    height = head + sum(rows) + NOTE + PAD

    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    fig.text(
        PAD / width,
        1 - PAD / height,
        drawable("\n".join(title_lines), bold=True),
        fontproperties=bold,
        fontsize=TITLE_PT,
        color=INK,
        va="top",
        ha="left",
        linespacing=1.25,
    )
    plot_width = width - LABEL - VALUE_COLUMN
    ax = fig.add_axes((LABEL / width, (NOTE + PAD) / height, plot_width / width, sum(rows) / height))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, sum(rows))  # one data unit = one pixel, top row first
    ax.set_axis_off()
    top = sum(rows)
    for i, (option_lines, row) in enumerate(zip(labels, rows, strict=True)):
        middle = top - row / 2
        top -= row
        share = tally.percent(i) / 100
        colour = COLOURS[i % len(COLOURS)]
        ax.barh(middle, 1, height=BAR, color="#eeeeee", linewidth=0)  # the track: where 100% would reach
        if tally.counts[i]:
            ax.barh(middle, share, height=BAR, color=colour, edgecolor=INK if colour == YELLOW else colour)
        ax.text(
            -12 / plot_width,
            middle,
            drawable("\n".join(option_lines)),
            transform=ax.get_yaxis_transform(),
            fontproperties=regular,
            fontsize=LABEL_PT,
            color=INK,
            ha="right",
            va="center",
            linespacing=1.05,
        )
        ax.text(
            1 + 10 / plot_width,
            middle,
            f"{tally.counts[i]} · {tally.percent(i):.0f}%",
            transform=ax.get_yaxis_transform(),
            fontproperties=bold,
            fontsize=LABEL_PT,
            color=INK,
            ha="left",
            va="center",
        )
    note = f"{tally.voters} voter{'' if tally.voters == 1 else 's'}"
    if closed_at is not None:
        note += f" · closed {closed_at.day} {closed_at:%b %Y, %H:%M} {closed_at.tzname() or ''}".rstrip()
    fig.text(
        PAD / width, PAD / height, note, fontproperties=regular, fontsize=NOTE_PT, color=MUTED, va="bottom", ha="left"
    )
    return fig


def bar_chart(
    title: str, options: tuple[str, ...], tally: Tally, *, closed_at: datetime | None = None, width: int = WIDTH
) -> bytes:
    """The chart as PNG bytes, exactly ``width`` pixels wide."""
    out = io.BytesIO()
    figure(title, options, tally, closed_at=closed_at, width=width).savefig(out, format="png", dpi=DPI)
    return out.getvalue()
