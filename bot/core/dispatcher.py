"""Routes neutral events to handlers; the one place errors become messages to people.

* events from bots (including readbot itself) are ignored;
* an event id seen before (a platform retry) is ignored, within a bounded window;
* an :class:`~bot.errors.InputError` becomes a private reply with its message;
* any other exception is logged and the person gets a short private apology, never a
  traceback.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from bot.core.adapter import Responder
from bot.core.events import ButtonClick, Command, Event, FormSubmitted, Message, Reply, Visibility
from bot.errors import InputError

log = logging.getLogger(__name__)

Handler = Callable[[Event, Responder], Awaitable[None]]
SORRY = "Sorry, something went wrong while handling that. The moderators can find details in the bot's log."


class RecentIds:
    """A bounded set of recently seen ids (platform retries arrive within minutes)."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._seen: OrderedDict[str, None] = OrderedDict()

    def add(self, key: str) -> bool:
        """True if ``key`` is new."""
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return True


class Dispatcher:
    def __init__(self) -> None:
        self._on_message: Handler | None = None
        self._commands: dict[str, Handler] = {}
        self._buttons: dict[str, Handler] = {}
        self._forms: dict[str, Handler] = {}
        self._seen = RecentIds()
        self._claim: Callable[[str], Awaitable[bool]] | None = None

    def share_seen_events(self, claim: Callable[[str], Awaitable[bool]]) -> None:
        """De-duplicate across processes too: ``claim(key)`` is True for the first one."""
        self._claim = claim

    def on_message(self, handler: Handler) -> None:
        self._on_message = handler

    def command(self, name: str, handler: Handler) -> None:
        self._commands[name] = handler

    def button(self, action_prefix: str, handler: Handler) -> None:
        self._buttons[action_prefix] = handler

    def form(self, form_prefix: str, handler: Handler) -> None:
        self._forms[form_prefix] = handler

    @property
    def command_names(self) -> list[str]:
        return sorted(self._commands)

    def _handler_for(self, event: Event) -> Handler | None:
        if isinstance(event, Message):
            return self._on_message
        if isinstance(event, Command):
            return self._commands.get(event.name)
        if isinstance(event, ButtonClick):
            return self._buttons.get(event.action.split(":", 1)[0])
        if isinstance(event, FormSubmitted):
            return self._forms.get(event.form_id.split(":", 1)[0])
        return None

    async def dispatch(self, event: Event, responder: Responder) -> bool:
        """Handle one event; False if it was ignored (a bot's, a duplicate, unrouted)."""
        if event.user.is_bot:
            if isinstance(event, ButtonClick):  # a person would expect an answer; a bot gets one too
                await responder.reply(Reply("Bots can't vote or use readbot's buttons.",
                                            visibility=Visibility.PRIVATE))
            return False
        key = f"{event.where.channel.platform}:{event.event_id}"
        if event.event_id and not self._seen.add(key):
            log.info("duplicate delivery ignored: %s", key)
            return False
        if event.event_id and self._claim is not None and not await self._claim(key):
            log.info("delivery already handled by another process: %s", key)
            return False
        handler = self._handler_for(event)
        if handler is None:
            if isinstance(event, Command):
                await responder.reply(Reply(f"I don't know the command /{event.name}.",
                                            visibility=Visibility.PRIVATE))
            elif isinstance(event, ButtonClick):
                await responder.reply(Reply("That button no longer does anything.",
                                            visibility=Visibility.PRIVATE))
            return False
        try:
            await handler(event, responder)
        except InputError as exc:
            await responder.reply(Reply(str(exc), visibility=Visibility.PRIVATE))
        except Exception:
            log.exception("handler failed for %s event %s", type(event).__name__, key)
            try:
                await responder.reply(Reply(SORRY, visibility=Visibility.PRIVATE))
            except Exception:
                log.exception("could not tell the person about the failure")
        return True
