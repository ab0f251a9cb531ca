"""The Slack adapter (slack-bolt, asyncio): HTTP Events API or Socket Mode.

Modules, one concern each: ``translate`` (payload → neutral event), ``render``
(Reply → blocks), ``responders`` (where an answer goes), ``retries`` (re-deliveries),
``users`` (who is an admin), ``transport`` (HTTP server / Socket Mode), ``adapter``.
"""

from bot.adapters.slack.adapter import SlackAdapter

__all__ = ["SlackAdapter"]
