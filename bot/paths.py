"""Where the shipped data (knowledge/, prompts/) lives: the source tree, or the wheel."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    """``knowledge`` or ``prompts``: the repository's folder in a checkout or editable
    install, else the copy a wheel carries under ``bot/_shipped``."""
    in_tree = PACKAGE.parent / name
    return in_tree if in_tree.is_dir() else PACKAGE / "_shipped" / name
