"""``readbot feedback export``: every verdict with its question, as CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

COLUMNS = ("question", "verdict", "sections", "grounded", "note", "at")


def feedback_json(rows: Sequence[dict[str, Any]]) -> str:
    """A list of {"question", "verdict": "up"|"down", "sections", "grounded", "note", "at"}."""
    return json.dumps([{k: row[k] for k in COLUMNS} for row in rows], ensure_ascii=False, indent=1)


def feedback_csv(rows: Sequence[dict[str, Any]]) -> str:
    """One row per verdict; sections joined by " | "."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row["question"],
                row["verdict"],
                " | ".join(row["sections"]),
                "yes" if row["grounded"] else "no",
                row["note"],
                row["at"],
            ]
        )
    return buffer.getvalue().rstrip("\n")
