"""DiscordAdapter: the :class:`~bot.core.adapter.ChatAdapter` for Discord (discord.py).

In: mentions of the bot (``on_message``), slash commands (built from the features' declarations,
:mod:`.commands`; synced to Discord when the declarations changed since the last sync, whose hash is
kept in the database) and clicks on readbot's buttons – each translated to a neutral event and
dispatched with a responder bound to it (private replies are ephemeral interaction responses).
Out: :meth:`send`, :meth:`update`; :meth:`fetch` downloads a file attached to a command or mention.

* Gateway intents: discord.py's defaults; the privileged message-content intent only with
  ``message_content=True`` (off by default: Discord still delivers the content of messages that
  mention the bot, and slash commands don't need it).
* Nothing readbot posts can ping: the client's default and every single payload carry
  ``allowed_mentions`` = none, and the text is defused (:mod:`.render`).
* An interaction must be answered within 3 s: the handler's ``acknowledge()`` defers, and if the
  handler hasn't responded after ``ACK_AFTER`` (2 s) the adapter defers itself.
* The edge: ``discord_api_url``/``discord_gateway_url`` are applied process-wide (:mod:`.endpoints`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import aiohttp
import discord

from bot.adapters.discord import files, forms, translate
from bot.adapters.discord.commands import ReadbotTree, build_tree
from bot.adapters.discord.endpoints import point_discord_py_at
from bot.adapters.discord.render import render
from bot.adapters.discord.responders import InteractionResponder, MessageResponder, post
from bot.adapters.discord.views import ActionButton
from bot.core.adapter import Responder, State, UnsupportedOperation
from bot.core.commands import CommandSpec, spec_hash
from bot.core.events import Attachment, Event, MessageRef, PastMessage, Reply, Visibility, Where
from bot.core.tasks import InFlight
from bot.errors import ConfigError, ReadbotError
from bot.settings import Settings

log = logging.getLogger(__name__)

ANSWERED_MESSAGE_TYPES = (discord.MessageType.default, discord.MessageType.reply)


class EventSink(Protocol):
    """The dispatcher, as far as the adapter is concerned."""

    async def dispatch(self, event: Event, responder: Responder) -> bool: ...


class DiscordStartError(ReadbotError):
    """The client could not connect / become ready (one line, fit to show the operator)."""


class _ReadbotClient(discord.Client):
    def __init__(
        self, adapter: DiscordAdapter, *, intents: discord.Intents, guild_ready_timeout: float | None, **sharding: Any
    ) -> None:
        extra: dict[str, Any] = {} if guild_ready_timeout is None else {"guild_ready_timeout": guild_ready_timeout}
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # readbot has no voice
        super().__init__(intents=intents, allowed_mentions=discord.AllowedMentions.none(), **extra, **sharding)
        self.adapter = adapter
        self.click_handler = adapter  # read by views.ActionButton
        self.tree: ReadbotTree = build_tree(self, adapter, adapter.commands)
        self.synced = False

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ActionButton)  # clicks on "action|value" buttons, even after a restart

    async def on_ready(self) -> None:
        await self.adapter._on_ready(self)

    async def on_message(self, message: discord.Message) -> None:
        await self.adapter._on_message(message)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is discord.InteractionType.modal_submit:  # readbot's forms (.forms)
            await self.adapter.handle_form(interaction)


class _ShardedReadbotClient(_ReadbotClient, discord.AutoShardedClient):
    """DISCORD_SHARDS=auto|N: discord.py's AutoShardedClient, all shards in this process."""


class DiscordAdapter:
    platform = "discord"
    ACK_AFTER = 2.0  # seconds; Discord drops an interaction not answered within 3 s
    DRAIN_TIMEOUT = 5.0  # stop(): how long events being handled may take to finish

    def __init__(
        self,
        settings: Settings,
        dispatcher: EventSink,
        *,
        commands: Sequence[CommandSpec] = (),
        state: State | None = None,
        guild_ready_timeout: float | None = None,
        message_content: bool = False,
        start_timeout: float = 30.0,
    ) -> None:
        """``commands``: the features' declarations, registered as slash commands. ``state``: where the
        hash of the commands last synced is kept (None: sync on every start). ``guild_ready_timeout``:
        discord.py's wait for guild data after READY (None = its default, 2 s; tests pass less).
        ``start_timeout``: how long :meth:`start` waits for the client to be ready before raising
        :class:`DiscordStartError`."""
        self.settings = settings
        self.dispatcher = dispatcher
        self.commands = tuple(commands)
        self.state = state
        self.guild_ready_timeout = guild_ready_timeout
        self.message_content = message_content
        self.start_timeout = start_timeout
        self._client: _ReadbotClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._restore_endpoints: list[Callable[[], None]] = []
        self._inflight = InFlight("discord events")
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle
    @property
    def client(self) -> discord.Client:
        if self._client is None:
            raise RuntimeError("the Discord adapter is not started")
        return self._client

    def intents(self) -> discord.Intents:
        intents = discord.Intents.default()
        intents.message_content = self.message_content
        return intents

    async def start(self) -> None:
        """Log in, connect and wait until ready (commands synced). Raises ConfigError for a rejected
        token or a refused intent, DiscordStartError if Discord can't be reached in time."""
        if self._task is not None:
            raise RuntimeError("the Discord adapter is already started")
        restore = point_discord_py_at(self.settings.discord_api_url, self.settings.discord_gateway_url)
        self._restore_endpoints = [restore]
        self._ready = asyncio.Event()
        self._stopping = False
        shards = self.settings.discord_shards
        client: _ReadbotClient
        if shards:
            client = self._client = _ShardedReadbotClient(
                self,
                intents=self.intents(),
                guild_ready_timeout=self.guild_ready_timeout,
                **({} if shards == "auto" else {"shard_count": int(shards)}),
            )
        else:
            client = self._client = _ReadbotClient(
                self, intents=self.intents(), guild_ready_timeout=self.guild_ready_timeout
            )
        task = self._task = asyncio.create_task(
            client.start(self.settings.discord_token), name="readbot-discord-client"
        )
        waiter = asyncio.create_task(self._ready.wait())
        try:
            await asyncio.wait({task, waiter}, timeout=self.start_timeout, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            waiter.cancel()
            await self.stop()
            raise
        waiter.cancel()
        if self._ready.is_set() and not task.done():
            task.add_done_callback(self._client_ended)
            return
        error = self._start_error(task)
        await self.stop()
        raise error

    def _start_error(self, task: asyncio.Task[None]) -> ReadbotError:
        exc = task.exception() if task.done() and not task.cancelled() else None
        if isinstance(exc, discord.PrivilegedIntentsRequired):
            return ConfigError(
                "Discord refused the message content intent: enable it for the bot in "
                "the developer portal, or don't ask for it"
            )
        if isinstance(exc, discord.LoginFailure):
            return ConfigError(f"DISCORD_TOKEN was rejected by Discord: {exc}")
        if isinstance(exc, aiohttp.ClientError | OSError):
            return DiscordStartError(f"could not reach Discord at {discord.http.Route.BASE}: {exc}")
        client = self._client
        if client is not None and client.user is not None and client.ws is None:
            # logged in over REST but never got a gateway connection (discord.py may even crash on
            # its retry in that state, with an AttributeError that would say nothing useful)
            gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
            return DiscordStartError(
                f"could not connect to the Discord gateway at {gateway} within {self.start_timeout:g}s"
            )
        if not task.done():
            return DiscordStartError(f"Discord did not become ready within {self.start_timeout:g}s")
        if exc is None:
            return DiscordStartError("the Discord client stopped before it was ready")
        return DiscordStartError(f"the Discord client failed to start: {exc!r}")

    def _client_ended(self, task: asyncio.Task[None]) -> None:
        if self._stopping or task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("the Discord client stopped: %r", exc, exc_info=exc)
        else:
            log.warning("the Discord client stopped")

    async def wait_closed(self) -> None:
        """Wait until the client stops (it only stops by itself on a fatal error, re-raised here)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        """Let events being handled finish (up to DRAIN_TIMEOUT), then close the client."""
        client, task = self._client, self._task
        if client is None:
            return
        self._stopping = True
        await self._inflight.drain(self.DRAIN_TIMEOUT)
        await client.close()
        if task is not None:
            if not task.done():
                await asyncio.wait({task}, timeout=5)
            if not task.done():
                task.cancel()
            elif not task.cancelled():
                task.exception()  # retrieved: start() or _client_ended reported it
        for restore in self._restore_endpoints:
            restore()
        self._restore_endpoints = []
        self._client = self._task = None

    async def idle(self) -> None:
        """Wait until every event being handled has been handled (its answers sent)."""
        await self._inflight.idle()

    async def connected(self) -> bool:
        client = self._client
        return (
            client is not None
            and client.is_ready()
            and not client.is_closed()
            and client.ws is not None
            and bool(client.ws.open)
        )

    # ------------------------------------------------------------------ incoming
    async def _on_ready(self, client: _ReadbotClient) -> None:
        if not client.synced:
            client.synced = True
            await self._sync_commands(client)
        log.info("connected to Discord as %s", client.user)
        self._ready.set()

    async def _sync_commands(self, client: _ReadbotClient) -> None:
        """Send the commands to Discord (global commands take a while to spread, and syncing is
        rate-limited) only when their declarations changed since the last sync by this application."""
        key = f"discord:{client.application_id}:commands"
        digest = spec_hash(self.commands)  # the context menus follow from the declarations (/ask → its menu)
        try:
            if self.state is not None and await self.state.get(key) == digest:
                log.info("slash commands unchanged since the last sync: not syncing")
                return
            synced = await client.tree.sync()
            log.info("registered slash commands: %s", ", ".join(f"/{c.name}" for c in synced))
            if self.state is not None:
                await self.state.set(key, digest)
        except discord.HTTPException:
            log.exception("could not register the slash commands")
        except Exception:
            log.exception("could not check or record the slash commands' sync")

    async def _on_message(self, message: discord.Message) -> None:
        me = self._client.user if self._client is not None else None
        if self._stopping:
            return  # shutting down: take no new work (Discord redelivers nothing; the question stays visible)
        if me is None or message.author.id == me.id or message.author.bot or message.webhook_id:
            return  # its own messages (Discord echoes them), other bots', webhooks'
        if message.type not in ANSWERED_MESSAGE_TYPES:
            return
        if translate.mentions_bot(message, me.id):
            event = translate.message_event(message, me.id)
        elif self.message_content and translate.in_own_thread(message, me.id):
            # a member's message in readbot's own thread: the Q&A feature answers it if it asks something
            event = dataclasses.replace(translate.message_event(message, me.id), addressed=False)
        else:
            return
        async with self._inflight.tracking():
            await self.dispatcher.dispatch(event, MessageResponder(message, event.text))

    async def handle_command(self, interaction: discord.Interaction) -> None:
        """A slash command (called by the command tree)."""
        await self._dispatch_interaction(translate.command_event(interaction), interaction)

    async def handle_message_command(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """ "Ask readbot about this" on a message (called by the command tree): /ask with its text."""
        me = self.client.user
        event = translate.message_command_event(interaction, message, me.id if me is not None else 0)
        await self._dispatch_interaction(event, interaction)

    async def handle_click(self, interaction: discord.Interaction, action: str, value: str) -> None:
        """A click on one of readbot's buttons (called by views.ActionButton)."""
        await self._dispatch_interaction(translate.click_event(interaction, action, value), interaction)

    async def handle_form(self, interaction: discord.Interaction) -> None:
        """A submitted modal of one of readbot's forms (called by the client's ``on_interaction``)."""
        event = forms.submission_event(interaction)
        if event is not None:
            await self._dispatch_interaction(event, interaction)

    async def _dispatch_interaction(self, event: Event, interaction: discord.Interaction) -> None:
        responder = InteractionResponder(interaction)
        if self._stopping:  # shutting down: say so rather than leave "This interaction failed"
            with contextlib.suppress(discord.HTTPException):
                await interaction.response.send_message(
                    "readbot is restarting; please try again in a minute.",
                    ephemeral=True,
                    allowed_mentions=discord.AllowedMentions.none(),
                )
            return
        async with self._inflight.tracking():
            handling = asyncio.ensure_future(self.dispatcher.dispatch(event, responder))
            try:
                done, _ = await asyncio.wait({handling}, timeout=self.ACK_AFTER)
                if not done and not responder.responded:
                    try:
                        await responder.acknowledge()  # the 3 s deadline is near
                    except discord.HTTPException as exc:
                        log.warning("could not defer interaction %s: %s", interaction.id, exc)
                await handling
            except asyncio.CancelledError:
                handling.cancel()  # stop() gave up waiting: don't leave the handler running
                raise

    # ------------------------------------------------------------------ outgoing
    async def _messageable(self, where: Where) -> discord.abc.Messageable:
        channel_id = int(where.thread_id or where.channel.id)
        channel = self.client.get_channel(channel_id)
        if channel is None:
            channel = await self.client.fetch_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            raise ValueError(f"Discord channel {channel_id} can't hold messages")
        return channel

    async def send(self, where: Where, reply: Reply) -> MessageRef:
        """Post in a channel, or in ``where.thread_id``; ``Reply.start_thread`` opens a thread from it."""
        if reply.visibility is Visibility.PRIVATE:
            raise UnsupportedOperation(
                self.platform,
                "a private reply outside an interaction (Discord has ephemeral messages only as interaction responses)",
            )
        sent = await post(await self._messageable(where), render(reply))
        return MessageRef(where, str(sent.id))

    async def update(self, ref: MessageRef, reply: Reply) -> None:
        """Edit a message the bot posted into ``reply`` (text, embed, buttons; an image replaces the
        attachments)."""
        channel = self.client.get_partial_messageable(int(ref.where.thread_id or ref.where.channel.id))
        await channel.get_partial_message(int(ref.message_id)).edit(**render(reply).edit_kwargs())

    @staticmethod
    def retry_after(exc: BaseException) -> float | None:
        """The seconds Discord asked readbot to wait (a rate limit discord.py did not wait out itself)."""
        if isinstance(exc, discord.RateLimited):
            return float(exc.retry_after)
        if isinstance(exc, discord.HTTPException) and exc.status == 429:
            value = exc.response.headers.get("Retry-After") if exc.response is not None else None
            try:
                return float(value) if value is not None else None
            except ValueError:
                return None
        return None

    @staticmethod
    def permanent(exc: BaseException) -> bool:
        """The channel or message is gone, or readbot may not post there: retrying won't help."""
        return isinstance(exc, discord.NotFound | discord.Forbidden)

    async def history(self, where: Where, *, limit: int) -> list[PastMessage]:
        """The thread's messages (its channel history), oldest first, at most ``limit``. Others' words
        are readable only with the Message Content intent (DISCORD_MESSAGE_CONTENT=true)."""
        if not where.thread_id:
            raise ValueError("history() reads a thread")
        channel = await self._messageable(where)
        me = self.client.user
        found: list[PastMessage] = []
        async for message in channel.history(limit=limit, oldest_first=True):
            found.append(translate.past_message(message, me.id if me is not None else 0))
        return found

    async def fetch(self, attachment: Attachment, *, limit: int) -> bytes:
        """A file attached to a command or mention (``attachment.id`` is its CDN URL), bounded."""
        return await files.fetch(attachment, limit=limit)
