"""A button's custom id carries the neutral action and value: ``"action|value"``.

Discord limits a custom id to 100 characters; an action never contains ``|`` (the value may).
"""

from __future__ import annotations

import re

MAX_CUSTOM_ID = 100
SEPARATOR = "|"
TEMPLATE = re.compile(r"(?P<action>[^|]+)\|(?P<value>.*)", re.DOTALL)


def encode(action: str, value: str) -> str:
    """The custom id for ``action``/``value``; ValueError if it can't be one."""
    if not action or SEPARATOR in action:
        raise ValueError(f"a button action must be non-empty and free of {SEPARATOR!r}: {action!r}")
    custom_id = f"{action}{SEPARATOR}{value}"
    if len(custom_id) > MAX_CUSTOM_ID:
        raise ValueError(
            f"button custom id is {len(custom_id)} characters; Discord allows {MAX_CUSTOM_ID}: {custom_id[:40]!r}…"
        )
    return custom_id


def decode(custom_id: str) -> tuple[str, str] | None:
    """``(action, value)``, or None for a custom id that isn't one of ours."""
    match = TEMPLATE.fullmatch(custom_id)
    return (match["action"], match["value"]) if match else None
