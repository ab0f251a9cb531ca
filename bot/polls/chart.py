"""The results chart: a horizontal bar chart as PNG bytes (Pillow, no display needed)."""

from __future__ import annotations

import io

from bot.polls.model import Tally

WIDTH, ROW, PAD, LABEL = 720, 46, 24, 210
COLOURS = ("#1b7837", "#7fbf7b", "#bababa", "#e9a3c9", "#c51b7d")


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def bar_chart(title: str, options: tuple[str, ...], tally: Tally) -> bytes:
    from PIL import Image, ImageDraw

    height = PAD * 3 + 30 + ROW * len(options)
    image = Image.new("RGB", (WIDTH, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((PAD, PAD), title[:80] + ("…" if len(title) > 80 else ""), fill="#222", font=_font(18))
    top = PAD * 2 + 30
    span = WIDTH - LABEL - PAD * 2 - 90
    font = _font(15)
    for i, option in enumerate(options):
        y = top + i * ROW
        draw.text((PAD, y + 10), option[:24], fill="#222", font=font)
        share = tally.percent(i) / 100
        colour = COLOURS[i] if len(options) == 5 else COLOURS[(i * 2) % 5]
        if tally.counts[i]:
            draw.rectangle((LABEL, y + 6, LABEL + max(2, int(span * share)), y + ROW - 10), fill=colour)
        draw.text(
            (LABEL + int(span * share) + 8, y + 10),
            f"{tally.counts[i]} ({tally.percent(i):.0f}%)",
            fill="#222",
            font=font,
        )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
