"""Slack's slash commands live in the app's manifest (``deploy/slack-manifest.yaml``), not in code:
this builds that part of the manifest from the features' declarations, and a test checks the file
against it. Slack commands are plain text: the declared options are typed after the command.

``/help`` is registered as ``/readbot`` (``/readbot help``): a workspace shares one namespace of
slash commands among all its apps, and a generic ``/help`` would clash with another app's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.core.commands import CommandSpec
from bot.core.help import APP_COMMAND as UMBRELLA  # /readbot help, /readbot <any command> …
from bot.core.help import NAME as HELP

DESCRIPTION_LIMIT = 100  # what Slack shows in the command menu without cutting
USAGE_LIMIT = 1000


def slash_commands(specs: Iterable[CommandSpec], events_url: str) -> list[dict[str, Any]]:
    return [
        {
            "command": f"/{UMBRELLA if spec.name == HELP else spec.name}",
            "url": events_url,
            "description": spec.description[:DESCRIPTION_LIMIT],
            "usage_hint": (f"help {spec.usage}".strip() if spec.name == HELP else spec.usage)[:USAGE_LIMIT],
            "should_escape": False,
        }
        for spec in specs
    ]


# What the rest of the manifest must grant readbot (checked against deploy/slack-manifest.yaml by a test).
BOT_SCOPES = (
    "app_mentions:read",
    "assistant:write",  # the assistant side panel: its status, suggested prompts and title
    "channels:history",  # follow-ups in threads (message.channels), a thread's messages for /recap
    "chat:write",
    "commands",
    "files:read",
    "files:write",
    "groups:history",  # the same in private channels
    "im:history",  # DMs and the assistant panel's threads
    "users:read",
)
BOT_EVENTS = (
    "app_mention",
    "assistant_thread_context_changed",
    "assistant_thread_started",
    "message.channels",  # members' replies in readbot's threads (answered without a mention if they ask)
    "message.groups",
    "message.im",
)
ASSISTANT_DESCRIPTION = "Ask about the group's reading: answers quoted from the text, with the section cited."


def assistant_view() -> dict[str, Any]:
    """``features.assistant_view``: turns on the Agents & AI Apps side panel."""
    return {"assistant_description": ASSISTANT_DESCRIPTION}
