"""The Slack adapter: bolt in, neutral events to the dispatcher, Web API calls out.

Flow for every request Slack sends:

1. the gate (:mod:`.gate`) verifies the signature and timestamp on the raw body and checks the
   payload's shape (HTTP mode: 401 or 400 before anything parses it; Socket Mode: the shape),
   then bolt verifies the signature again and acknowledges events itself; the command listener
   calls ``ack()`` first thing. A button click or a modal submission is never delivered again by
   Slack, so it is acknowledged once it is stored: at the handler's first reply or
   acknowledgement (a vote is in the database by then), at its end, or after ``ACK_WITHIN``
   seconds whatever happens, inside Slack's 3 (an empty ack closes a submitted modal; what the
   submission leads to is posted afterwards);
2. the payload is translated (:mod:`.translate`) into a neutral event; a re-delivery
   (``X-Slack-Retry-Num``) of an event already handled is dropped;
3. the event and a :mod:`.responders` responder go to ``dispatcher.dispatch`` in a
   background task the adapter keeps, so ``stop()`` can wait for answers in flight.
   Commands, clicks and form submissions first learn whether the person is a workspace
   admin or owner (``users.info``, cached): readbot's moderators by default. A command that
   declares a file option first gets the file the person shared in the channel just before
   (:mod:`.files`); a mention or DM posted with files carries them already.

Nothing here blocks the event loop: handlers run their blocking work in threads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.assistant import build_assistant
from bot.adapters.slack.files import SlackFiles
from bot.adapters.slack.gate import Gate
from bot.adapters.slack.render import render
from bot.adapters.slack.responders import AckGate, CommandResponder, FormResponder, ThreadResponder
from bot.adapters.slack.retries import RetryFilter, retry_num
from bot.adapters.slack.translate import (
    click_from_payload,
    command_from_payload,
    command_in_mention,
    message_from_dm,
    message_from_mention,
    message_from_thread,
    past_message,
    submission_from_payload,
)
from bot.adapters.slack.transport import (
    TOKEN_REJECTED,
    AddRoutes,
    HttpTransport,
    SocketModeTransport,
    Transport,
)
from bot.adapters.slack.users import AdminDirectory
from bot.core.adapter import Responder, UnsupportedOperation
from bot.core.commands import CommandSpec
from bot.core.events import (
    Attachment,
    ButtonClick,
    Command,
    Event,
    FormSubmitted,
    Message,
    MessageRef,
    PastMessage,
    Reply,
    User,
    Visibility,
    Where,
)
from bot.core.help import asks_for_help
from bot.core.metrics import NO_METRICS, Metrics
from bot.core.streaming import TEXT_SINK, TextSink
from bot.core.tasks import InFlight
from bot.errors import ConfigError
from bot.settings import Settings, slack_mode

log = logging.getLogger(__name__)

ANY = re.compile(r".*")
ACK_WITHIN = 2.0  # seconds: a click or submission is acknowledged by then, stored or not (Slack allows 3)
# Web API errors retrying won't fix (an outbox item that meets one is given up at once)
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "message_not_found",
        "cant_update_message",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "restricted_action",
    }
)  # a rejected token is not among them: an operator can fix it within the outbox's 24 hours


class _SkipClientTokenWarning(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN from the environment even when given a client, then
    warns that it will be unused: true, and expected (the client carries the token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


BOLT_LOG = logging.getLogger("bot.adapters.slack.bolt")
BOLT_LOG.addFilter(_SkipClientTokenWarning())


class EventSink(Protocol):
    """The dispatcher, as far as the adapter is concerned."""

    async def dispatch(self, event: Event, responder: Responder) -> bool: ...


def reply_where(message: Message, *, direct: bool) -> Where:
    """Answers go in the thread: the one asked in, or the one the question starts.
    In a DM a top-level question gets a top-level answer."""
    if message.where.thread_id or direct or not message.message_id:
        return message.where
    return Where(message.where.channel, thread_id=message.message_id)


class SlackAdapter:
    platform = "slack"

    def __init__(
        self,
        settings: Settings,
        dispatcher: EventSink,
        *,
        host: str = "0.0.0.0",
        drain_timeout: float = 8.0,
        extra_routes: AddRoutes | None = None,
        commands: Iterable[CommandSpec] = (),
        metrics: Metrics = NO_METRICS,
        healthz: bool = True,
        suggested_prompts: Callable[[], list[str]] = list,
    ) -> None:
        """``extra_routes`` adds routes to the HTTP server (the ops endpoints, on the same port);
        ``healthz=False`` leaves /healthz off it too (the ops endpoints served apart).
        ``commands``: the features' declarations (``AdapterKit.commands``): those with a file option get
        the person's latest file in the channel. ``metrics`` counts requests refused at the gate.
        ``suggested_prompts``: the questions the assistant panel
        suggests when a person opens it (:mod:`.assistant`)."""
        self.settings = settings
        commands = tuple(commands)
        self.file_commands = frozenset(spec.name for spec in commands if spec.takes_file)
        self.command_names = frozenset(spec.name for spec in commands)
        self.suggested_prompts = suggested_prompts
        self.extra_routes = extra_routes
        self.healthz = healthz
        self.gate = Gate(settings.slack_signing_secret, metrics)
        self.dispatcher = dispatcher
        self.host = host
        self.drain_timeout = drain_timeout
        self.mode = slack_mode(settings)
        self.client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
        self.app = AsyncApp(
            client=self.client,
            signing_secret=settings.slack_signing_secret,
            request_verification_enabled=self.mode == "http",  # Socket Mode has no signatures
            logger=BOLT_LOG,
        )
        self.bot_user_id: str | None = None
        self._transport: Transport | None = None
        self._retries = RetryFilter()
        self._admins = AdminDirectory(self.client)
        self.files = SlackFiles(self.client, settings.slack_api_url)
        self._inflight = InFlight("slack events")
        self._register()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Check the token, then listen; returns once Slack can reach readbot."""
        await self._identify()
        if self.mode == "socket":
            self._transport = SocketModeTransport(self.app, self.client, self.settings.slack_app_token, gate=self.gate)
        else:
            self._transport = HttpTransport(
                self.app,
                self.host,
                self.settings.http_port,
                gate=self.gate,
                extra_routes=self.extra_routes,
                healthz=self.healthz,
            )
        await self._transport.start()
        log.info("slack adapter ready: %s, bot user %s", self._transport.describe(), self.bot_user_id)

    @property
    def http_port(self) -> int | None:
        """The port HTTP mode listens on (useful when started with port 0)."""
        return self._transport.port if isinstance(self._transport, HttpTransport) else None

    async def stop(self) -> None:
        """Stop taking events, then give answers in flight ``drain_timeout`` seconds."""
        if self._transport is not None:
            transport, self._transport = self._transport, None
            await transport.stop()
        await self._drain()
        log.info("slack adapter stopped")

    async def idle(self) -> None:
        """Wait until every event accepted so far has been handled (its answers sent)."""
        await self._inflight.idle()

    async def connected(self) -> bool:
        return self._transport is not None and await self._transport.connected()

    async def _identify(self) -> None:
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in TOKEN_REJECTED:
                raise ConfigError(f"SLACK_BOT_TOKEN was rejected by Slack ({error})") from None
            raise
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            # Slack unreachable right now: bolt retries auth.test on the first request.
            log.warning("slack auth.test failed (%s); starting anyway", type(exc).__name__)
            return
        self.bot_user_id = auth.get("user_id")

    async def _drain(self) -> None:
        await self._inflight.drain(self.drain_timeout)

    # ------------------------------------------------------------------ outgoing

    async def send(self, where: Where, reply: Reply) -> MessageRef:
        if reply.visibility is Visibility.PRIVATE:
            raise ValueError("send() posts for everyone to see; a private reply goes through post_ephemeral()")
        message = render(reply)
        response = await self.client.chat_postMessage(
            channel=where.channel.id,
            thread_ts=where.thread_id,
            unfurl_links=False,
            unfurl_media=False,
            **message.kwargs(),
        )
        if reply.image is not None:
            await self.client.files_upload_v2(
                channel=where.channel.id,
                thread_ts=where.thread_id,
                file=reply.image,
                filename=reply.image_name,
                title=reply.image_name,
            )
        return MessageRef(where, str(response["ts"]))

    async def post_ephemeral(self, where: Where, user: User, reply: Reply) -> None:
        """A message only ``user`` sees, in ``where`` (used by the responders for private replies)."""
        if reply.image is not None:
            raise UnsupportedOperation(self.platform, "images in private (ephemeral) messages")
        await self.client.chat_postEphemeral(
            channel=where.channel.id, user=user.id, thread_ts=where.thread_id, **render(reply).kwargs()
        )

    async def update(self, ref: MessageRef, reply: Reply) -> None:
        if reply.image is not None:
            raise UnsupportedOperation(self.platform, "changing the image of a posted message")
        message = render(reply)
        # blocks always sent (even []) so blocks of the old version don't linger
        await self.client.chat_update(
            channel=ref.where.channel.id, ts=ref.message_id, text=message.text, blocks=message.blocks
        )

    @staticmethod
    def retry_after(exc: BaseException) -> float | None:
        """The seconds a 429 asked readbot to wait (``Retry-After``), for the outbox."""
        if not isinstance(exc, SlackApiError):
            return None
        headers = {str(k).lower(): v for k, v in (exc.response.headers or {}).items()}
        value = headers.get("retry-after")
        if isinstance(value, list):
            value = value[0] if value else None
        try:
            return float(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    @staticmethod
    def permanent(exc: BaseException) -> bool:
        return isinstance(exc, SlackApiError) and str(exc.response.get("error", "")) in PERMANENT_ERRORS

    async def fetch(self, attachment: Attachment, *, limit: int) -> bytes:
        """A file's bytes (``files.info``, then its ``url_private_download`` with the bot token), bounded."""
        return await self.files.fetch(attachment, limit=limit)

    async def history(self, where: Where, *, limit: int) -> list[PastMessage]:
        """The thread's messages (``conversations.replies``, page by page), oldest first, at most ``limit``."""
        if not where.thread_id:
            raise ValueError("history() reads a thread")
        found: list[PastMessage] = []
        cursor: str | None = None
        while len(found) < limit:
            page = await self.client.conversations_replies(
                channel=where.channel.id, ts=where.thread_id, limit=min(200, limit - len(found)), cursor=cursor
            )
            found.extend(past_message(m, self.bot_user_id) for m in page.get("messages") or [] if isinstance(m, dict))
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not page.get("has_more") or not cursor:
                break
        return found[:limit]

    async def open_modal(self, trigger_id: str, view: dict[str, Any]) -> None:
        """Show a modal (rendered by :func:`.render.modal_view`) to whoever triggered ``trigger_id``."""
        await self.client.views_open(trigger_id=trigger_id, view=view)

    # ------------------------------------------------------------------ incoming

    def _register(self) -> None:
        self.app.assistant(build_assistant(self, self.suggested_prompts))  # the side panel (its own events)
        self.app.event("app_mention")(self._on_app_mention)
        self.app.event("message")(self._on_message)
        self.app.command(ANY)(self._on_command)  # every command: the dispatcher routes them
        self.app.block_action(ANY)(self._on_block_action)
        self.app.view_submission(ANY)(self._on_view_submission)

    def _bot_id(self, context: AsyncBoltContext) -> str | None:
        return context.bot_user_id or self.bot_user_id

    async def _on_app_mention(self, body: dict[str, Any], context: AsyncBoltContext, request: AsyncBoltRequest) -> None:
        event = message_from_mention(body, self._bot_id(context))
        command = command_in_mention(event, self.command_names)
        if command is not None:  # Slack runs no slash command in a thread: "@readbot /recap" stands in
            self._accept(f"/{command.name} (mention)", command, ThreadResponder(self, command.where, command.user))
            return
        responder = ThreadResponder(self, reply_where(event, direct=False), event.user)
        self._accept("app_mention", event, responder, request.headers)

    async def _on_message(self, body: dict[str, Any], context: AsyncBoltContext, request: AsyncBoltRequest) -> None:
        event = message_from_dm(body, self._bot_id(context))
        if event is None:
            event = message_from_thread(body, self._bot_id(context))
            if event is None:  # top-level channel chatter, edits, joins: not for readbot
                return
            # a reply in a thread: the Q&A feature answers it if it asks something in a thread readbot started
            self._accept("message.thread", event, ThreadResponder(self, event.where, event.user), request.headers)
            return
        responder = ThreadResponder(self, reply_where(event, direct=True), event.user)
        self._accept("message.im", event, responder, request.headers)

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        event = command_from_payload(body)
        responder = CommandResponder(
            self, event.where, event.user, body.get("response_url"), trigger_id=body.get("trigger_id")
        )
        self._accept(f"/{event.name}", event, responder)

    async def _on_block_action(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        event = click_from_payload(body)
        if event is None:
            await ack()
            return
        gate = AckGate(ack)  # a vote is stored before Slack hears back (it never sends a click again)
        # a click can open a form (its trigger_id) and be answered through its response_url (an ephemeral
        # message's buttons, a channel readbot isn't in), like a command
        responder = CommandResponder(
            self, event.where, event.user, body.get("response_url"), trigger_id=body.get("trigger_id"), gate=gate
        )
        self._accept(f"button {event.action}", event, responder, gate=gate)
        await self._ack_in_time(gate)

    async def _on_view_submission(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        event = submission_from_payload(body)
        if event is None:
            await ack()
            view = body.get("view") or {}
            log.warning("slack view_submission %r without readbot's metadata: ignored", view.get("callback_id"))
            return
        gate = AckGate(ack)  # the ack closes the modal; the outcome is posted in the channel it came from
        self._accept(f"form {event.form_id}", event, FormResponder(self, event.where, event.user, gate=gate), gate=gate)
        await self._ack_in_time(gate)

    async def _ack_in_time(self, gate: AckGate) -> None:
        if not await gate.wait(ACK_WITHIN):
            log.warning("slack: acknowledging before the handler stored its work (Slack's 3 s are nearly up)")
            await gate.open()

    def _accept(
        self,
        kind: str,
        event: Event,
        responder: Responder,
        headers: Mapping[str, Any] | None = None,
        *,
        gate: AckGate | None = None,
        text_sink: TextSink | None = None,
    ) -> None:
        """``text_sink``: where an LLM answer's text goes as it is written (the assistant panel's stream)."""
        retry = retry_num(headers or {})
        note = f" retry={retry}" if retry else ""
        if headers is not None and self._retries.is_repeat(event.event_id, headers):
            log.info("slack %s %s: retry of an event already handled, dropped%s", kind, event.event_id, note)
            return
        log.info(
            "slack %s %s channel=%s user=%s%s%s",
            kind,
            event.event_id or "-",
            event.where.channel.id,
            event.user.id,
            " (bot)" if event.user.is_bot else "",
            note,
        )
        self._inflight.spawn(self._dispatch(event, responder, gate, text_sink))

    async def _dispatch(
        self, event: Event, responder: Responder, gate: AckGate | None = None, text_sink: TextSink | None = None
    ) -> None:
        if text_sink is not None:
            TEXT_SINK.set(text_sink)  # this task's context only: the LLM path streams into it
        try:
            asks_help = isinstance(event, Message) and asks_for_help(event.text)  # the list depends on who asks
            if (isinstance(event, Command | ButtonClick | FormSubmitted) or asks_help) and not event.user.is_bot:
                admin = await self._admins.is_admin(event.user.id)
                event = dataclasses.replace(event, user=dataclasses.replace(event.user, is_admin=admin))
            if isinstance(event, Command) and event.name in self.file_commands and not event.attachments:
                recent = await self.files.recent(event.where.channel.id, event.user.id)
                if recent is not None:
                    event = dataclasses.replace(event, attachments=(recent,))
            await self.dispatcher.dispatch(event, responder)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("slack: handling %s %s failed", type(event).__name__, event.event_id)
        finally:
            if gate is not None:
                await gate.open()
