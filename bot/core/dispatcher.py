"""Routes neutral events to handlers through a chain of middleware (bolt-python's shape).

The default chain, outermost first (:func:`default_middleware`):

* :func:`ignore_bots`: events from bots (readbot included) are dropped; a bot's click is told why;
* :class:`Dedupe`: an event id seen before (a platform retry) is dropped, within a bounded window,
  and, given a ``claim`` (the database's event log), across processes too;
* :func:`count_events`: each routed event is counted on the process's metrics;
* :func:`errors_to_messages`: an :class:`~bot.errors.InputError` becomes a private reply with its
  message; the database being unavailable (``unavailable(exc)``, given by the composition root)
  becomes "I can't record that right now…"; any other exception is logged and the person gets a
  short private apology, never a traceback.

Without the database a question is still answered: the cross-process claim failing, Dedupe falls back
to this process's memory (logged once per outage).

The routes (:class:`~bot.core.feature.Routes`) are fixed at construction. With a help route
(:mod:`bot.core.help`), a command nobody declared and a message whose whole text is "help" go to it,
so the person gets the list of commands they may use.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence

from bot.core.adapter import Responder
from bot.core.events import ButtonClick, Command, Event, FormSubmitted, Message, Reply, Visibility
from bot.core.feature import Handler, Routes
from bot.core.help import asks_for_help
from bot.core.metrics import NO_METRICS, Metrics
from bot.errors import InputError

log = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong while handling that. The moderators can find details in the bot's log."
CANT_RECORD = "I can't record that right now, please try again in a minute."
Next = Callable[[], Awaitable[bool]]
Middleware = Callable[[Event, Responder, Next], Awaitable[bool]]
Claim = Callable[[str], Awaitable[bool]]
Unavailable = Callable[[BaseException], bool]


def private(text: str) -> Reply:
    return Reply(text, visibility=Visibility.PRIVATE)


def event_key(event: Event) -> str:
    return f"{event.where.channel.platform}:{event.event_id}"


def event_kind(event: Event) -> str:
    return {Message: "message", Command: "command", ButtonClick: "button", FormSubmitted: "form"}.get(
        type(event), "other"
    )


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


async def ignore_bots(event: Event, responder: Responder, call_next: Next) -> bool:
    if event.user.is_bot:
        if isinstance(event, ButtonClick):  # a person would expect an answer; a bot gets one too
            await responder.reply(private("Bots can't vote or use readbot's buttons."))
        return False
    return await call_next()


class Dedupe:
    """Each delivery once: in this process (bounded memory) and, with ``claim``, across processes
    (``claim(key)`` is True for the first process to record the key)."""

    def __init__(self, claim: Claim | None = None, *, size: int = 10_000) -> None:
        self._seen = RecentIds(size)
        self._claim = claim
        self._degraded = False

    async def __call__(self, event: Event, responder: Responder, call_next: Next) -> bool:
        if event.event_id:
            key = event_key(event)
            if not self._seen.add(key):
                log.info("duplicate delivery ignored: %s", key)
                return False
            if self._claim is not None and not await self._claimed(key):
                log.info("delivery already handled by another process: %s", key)
                return False
        return await call_next()

    async def _claimed(self, key: str) -> bool:
        """The cross-process claim; when it can't be made (the database is down) this process's memory
        alone decides, so questions are still answered (logged once per outage)."""
        assert self._claim is not None
        try:
            first = await self._claim(key)
        except Exception as exc:
            if not self._degraded:
                self._degraded = True
                log.warning(
                    "de-duplication across processes unavailable (%s); using this process's memory until it is back",
                    type(exc).__name__,
                )
            return True
        if self._degraded:
            self._degraded = False
            log.info("de-duplication across processes is back")
        return first


def count_events(metrics: Metrics) -> Middleware:
    async def middleware(event: Event, responder: Responder, call_next: Next) -> bool:
        handled = await call_next()
        metrics.event(event.where.channel.platform, event_kind(event), handled)
        return handled

    return middleware


def handle_errors(unavailable: Unavailable | None = None) -> Middleware:
    """:func:`errors_to_messages`, telling apart the database being unavailable (``unavailable(exc)``)."""

    async def middleware(event: Event, responder: Responder, call_next: Next) -> bool:
        try:
            return await call_next()
        except InputError as exc:
            await responder.reply(private(str(exc)))
        except Exception as exc:
            if unavailable is not None and unavailable(exc):
                log.warning(
                    "%s event %s not handled: the database is unavailable (%s)",
                    type(event).__name__,
                    event_key(event),
                    type(exc).__name__,
                )
                text = CANT_RECORD
            else:
                log.exception("handler failed for %s event %s", type(event).__name__, event_key(event))
                text = SORRY
            try:
                await responder.reply(private(text))
            except Exception:
                log.exception("could not tell the person about the failure")
        return True

    return middleware


errors_to_messages = handle_errors()


def default_middleware(
    *, claim: Claim | None = None, metrics: Metrics = NO_METRICS, unavailable: Unavailable | None = None
) -> tuple[Middleware, ...]:
    return (ignore_bots, Dedupe(claim), count_events(metrics), handle_errors(unavailable))


class Dispatcher:
    def __init__(self, routes: Routes | None = None, *, middleware: Sequence[Middleware] | None = None) -> None:
        self.routes = routes or Routes()
        self.middleware = tuple(default_middleware() if middleware is None else middleware)

    @property
    def command_names(self) -> list[str]:
        return self.routes.command_names

    def handler_for(self, event: Event) -> Handler | None:
        routes = self.routes
        if isinstance(event, Message):
            if routes.help is not None and asks_for_help(event.text) and not event.attachments:
                return routes.help
            return routes.on_message
        if isinstance(event, Command):
            return routes.commands.get(event.name)
        if isinstance(event, ButtonClick):
            return routes.buttons.get(event.action.split(":", 1)[0])
        if isinstance(event, FormSubmitted):
            return routes.forms.get(event.form_id.split(":", 1)[0])
        return None

    async def dispatch(self, event: Event, responder: Responder) -> bool:
        """Handle one event; False if it was ignored (a bot's, a duplicate, unrouted)."""

        async def step(index: int) -> bool:
            if index < len(self.middleware):
                return await self.middleware[index](event, responder, lambda: step(index + 1))
            return await self._route(event, responder)

        return await step(0)

    async def _route(self, event: Event, responder: Responder) -> bool:
        handler = self.handler_for(event)
        if handler is None and isinstance(event, Command) and self.routes.help is not None:
            handler = self.routes.help  # an unknown command: the list of those there are
        if handler is None:
            if isinstance(event, Command):
                await responder.reply(private(f"I don't know the command /{event.name}."))
            elif isinstance(event, ButtonClick):
                await responder.reply(private("That button no longer does anything."))
            return False
        await handler(event, responder)
        return True
