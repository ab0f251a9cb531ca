"""The results chart: every glyph drawn, labels wrapped (not cut), sizes, counts, colours.

Real matplotlib (Agg) and the font it ships; the font's coverage is read with fontTools.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import matplotlib
import matplotlib.image
import pytest
from fontTools.ttLib import TTFont
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from bot.polls import chart
from bot.polls.model import SCALE, Tally

CLAIM = "Scaling is over — or is it?"
OPTIONS = ("Weiß nicht", "Ναι", "Нет", "Partly – scaling pays, research pays too")
CLOSED = datetime(2026, 3, 14, 18, 30, tzinfo=UTC)
SCRIPTS = {  # a few letters of each script the font must cover
    "Latin Extended": "ÀÉÎÕÜàéîõü ßẞ ĄąĆćĘęŁłŃńŚśŹźŻż ŐőŰű ČčĎďĚěŇňŘřŠšŤťŽž ÆæØøÅå Œœ Ğğİı Ăă Ţţ",
    "Greek": "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ αβγδεζηθικλμνξοπρσςτυφχψω άέήίόύώ",
    "Cyrillic": "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ абвгдеёжзийклмнопрстуфхцчшщъыьэюя ЄєІіЇїҐґЂђЉљЊњЋћЏџ",
    "punctuation": "—–‘’“”„«»…·%",
}


def texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_text()]


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


@pytest.mark.parametrize("bold", [False, True])
def test_the_packaged_font_has_a_glyph_for_every_character_of_the_example_and_each_script(bold: bool) -> None:
    path = chart.font_path(bold)
    assert path.is_file() and path.is_relative_to(matplotlib.get_data_path())  # no system font
    cmap = TTFont(str(path)).getBestCmap()
    for name, sample in {"example": CLAIM + "".join(OPTIONS), **SCRIPTS}.items():
        missing = sorted({c for c in sample if not c.isspace() and ord(c) not in cmap})
        assert not missing, f"{path.name} lacks {name} glyphs: {missing}"


def test_the_example_chart_draws_every_character_as_written_without_a_missing_glyph_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph … missing from font" for a character it can't draw
        fig = chart.figure(CLAIM, OPTIONS, Tally((3, 7, 2, 5)), closed_at=CLOSED)
        fig.canvas.draw()
    drawn = "".join(t.get_text() for t in texts(fig))
    assert chart.MISSING not in drawn
    for text in (CLAIM, *OPTIONS):
        assert "".join(text.split()) in "".join(drawn.split()), text


def test_long_labels_and_the_claim_are_wrapped_whole_inside_the_image_in_readable_sizes() -> None:
    claim = "Ilya argues that the age of scaling is over, research is back, and ideas, not compute, decide. " * 2
    options = (
        "Strongly agree — the evidence is already in the benchmarks",
        "Agree",
        "Unsure",
        "Supercalifragilisticexpialidociousnesswithoutanyspacesatall",
        "Strongly disagree",
    )
    fig = chart.figure(claim.strip(), options, Tally((1, 2, 3, 4, 5)))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    width, height = fig.bbox.width, fig.bbox.height
    drawn = texts(fig)
    for text in (claim, *options):  # each written whole (over several lines), none cut
        assert any("".join(t.get_text().split()) == "".join(text.split()) for t in drawn), text
    assert any(t.get_text().count("\n") >= 2 for t in drawn)  # the 60-character labels take lines
    for t in drawn:
        box = t.get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= width and box.y0 >= 0 and box.y1 <= height, (t.get_text(), box)
        assert float(t.get_fontsize()) * chart.DPI / 72 >= 12, t.get_text()
        assert max(len(line) for line in t.get_text().split("\n")) <= max(chart.TITLE_CHARS, chart.LABEL_CHARS)


@pytest.mark.parametrize("width", [800, 640])
def test_the_png_is_as_wide_as_asked_and_grows_in_height_with_the_text(width: int) -> None:
    short = chart.bar_chart("Short?", ("Yes", "No"), Tally((1, 1)), width=width)
    long = chart.bar_chart(CLAIM * 5, SCALE, Tally((1, 2, 3, 4, 5)), width=width)
    (w1, h1), (w2, h2) = png_size(short), png_size(long)
    assert w1 == w2 == width and 100 < h1 < h2 < 2 * width
    pixels = matplotlib.image.imread(io.BytesIO(long))
    assert pixels.shape[:2] == (h2, width)
    assert chart.bar_chart("Short?", ("Yes", "No"), Tally((1, 1))) == chart.bar_chart(
        "Short?", ("Yes", "No"), Tally((1, 1)), width=chart.WIDTH
    )  # the default width is the preview size


def test_counts_shares_voters_and_the_close_date_are_written() -> None:
    drawn = [t.get_text() for t in texts(chart.figure(CLAIM, OPTIONS, Tally((3, 7, 2, 5)), closed_at=CLOSED))]
    assert {"3 · 18%", "7 · 41%", "2 · 12%", "5 · 29%"} <= set(drawn)
    assert "17 voters · closed 14 Mar 2026, 18:30 UTC" in drawn
    assert "1 voter" in [t.get_text() for t in texts(chart.figure("One?", ("Yes", "No"), Tally((1, 0))))]
    assert "0 voters" in [t.get_text() for t in texts(chart.figure("None?", ("Yes", "No"), Tally((0, 0))))]


def test_bars_use_distinct_okabe_ito_colours_and_are_as_long_as_their_share() -> None:
    fig = chart.figure("Five?", SCALE, Tally((5, 4, 3, 2, 1)))
    (ax,) = fig.axes
    bars = [p for p in ax.patches if isinstance(p, Rectangle) and to_hex(p.get_facecolor()) != "#eeeeee"]
    colours = [to_hex(p.get_facecolor()).upper() for p in bars]
    assert len(set(colours)) == 5 and set(colours) <= set(chart.COLOURS)
    assert [round(p.get_width(), 3) for p in bars] == [round(n / 15, 3) for n in (5, 4, 3, 2, 1)]
    png = chart.bar_chart("Five?", SCALE, Tally((5, 4, 3, 2, 1)))
    pixels = (matplotlib.image.imread(io.BytesIO(png))[..., :3] * 255).round().astype(int)
    found = {f"#{r:02X}{g:02X}{b:02X}" for r, g, b in pixels.reshape(-1, 3)}
    assert set(colours) <= found  # and they are in the image


def test_characters_the_font_lacks_become_the_replacement_character_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = chart.figure("絵文字 👍?", ("是", "Нет"), Tally((1, 1)))
        fig.canvas.draw()
    drawn = [t.get_text() for t in texts(fig)]
    assert "\ufffd\ufffd\ufffd \ufffd?" in drawn and "\ufffd" in drawn and "Нет" in drawn
    assert chart.drawable("Weiß — Ναι, Нет") == "Weiß — Ναι, Нет"


def test_charts_drawn_in_threads_at_once_are_the_same_as_one_by_one() -> None:
    jobs = [(f"Claim {i} — ß?", OPTIONS[: 2 + i % 3], Tally(tuple(range(1, 3 + i % 3)))) for i in range(6)]
    alone = [chart.bar_chart(*job) for job in jobs]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda job: chart.bar_chart(*job), jobs * 2))
    assert together == alone * 2


def test_drawing_a_chart_leaves_pyplot_and_the_global_backend_alone() -> None:
    code = """
import sys, matplotlib
before = matplotlib.rcParams.copy()
from bot.polls.chart import bar_chart
from bot.polls.model import Tally
bar_chart("Q?", ("a", "b"), Tally((1, 2)))
assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
after = matplotlib.rcParams.copy()
changed = sorted(k for k in before if before._get(k) != after._get(k))  # _get: no backend resolution
assert not changed, changed
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
