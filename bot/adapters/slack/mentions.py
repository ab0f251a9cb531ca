"""Slack's mention syntax, translated at the edge: ``<@U1|bob>``, ``<!here>``,
``<!subteam^S1|@team>`` become neutral ``@bob``, ``@here``, ``@team`` on the way in (the core
strips or defuses neutral mentions) and on the way out (then escaped, so nothing can ping)."""

from __future__ import annotations

import re

SPECIAL = re.compile(r"<!(channel|here|everyone)(\|[^>]*)?>", re.IGNORECASE)
GROUP = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|@?([^>]*))?>", re.IGNORECASE)
USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")


def to_neutral(text: str) -> str:
    """Slack mentions → neutral ``@word`` mentions (``<@U1|bob>`` → ``@bob``, ``<!here>`` → ``@here``)."""
    text = SPECIAL.sub(lambda m: f"@{m.group(1).lower()}", text)
    text = GROUP.sub(lambda m: "@" + re.sub(r"\W+", "-", m.group(1) or "group").strip("-"), text)
    return USER.sub(lambda m: "@" + re.sub(r"\s+", "_", (m.group(2) or m.group(1)).strip()), text)
