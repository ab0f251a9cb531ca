"""The Discord adapter: discord.py events in, neutral events to the dispatcher, replies out.

Modules, one concern each:

* :mod:`.custom_ids` – the ``"action|value"`` custom id of a button;
* :mod:`.translate` – discord.py objects → :mod:`bot.core.events`;
* :mod:`.render` – :class:`~bot.core.events.Reply` → message content, embed, view, file;
* :mod:`.views` – the persistent button (routed by custom id, also after a restart);
* :mod:`.responders` – the :class:`~bot.core.adapter.Responder` for a mention and for an interaction;
* :mod:`.commands` – the slash commands (``/ask``, ``/poll`` with its options, one per other dispatcher command);
* :mod:`.autocomplete` – ``/poll claim:`` choices from a claims bank (injected, no poll imports);
* :mod:`.files` – fetching a file attached to a command or mention (its CDN URL, bounded);
* :mod:`.endpoints` – pointing discord.py at another REST base / gateway (tests, proxies);
* :mod:`.adapter` – :class:`DiscordAdapter`, the :class:`~bot.core.adapter.ChatAdapter`.
"""

from bot.adapters.discord.adapter import DiscordAdapter, DiscordStartError

__all__ = ["DiscordAdapter", "DiscordStartError"]
