"""Discord's mention syntax, translated at the edge: ``<@123>``, ``<@!123>`` and ``<@&123>`` (a role)
become neutral ``@123`` on the way in (the core strips or defuses neutral mentions) and on the way
out (where every payload also carries ``allowed_mentions`` = none)."""

from __future__ import annotations

import re

USER_OR_ROLE = re.compile(r"<@[!&]?(\d{5,25})>")
CHANNEL = re.compile(r"<#(\d{5,25})>")


def to_neutral(text: str) -> str:
    return CHANNEL.sub(r"#\1", USER_OR_ROLE.sub(r"@\1", text))
