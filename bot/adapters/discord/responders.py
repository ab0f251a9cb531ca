"""Responders (:class:`bot.core.adapter.Responder`) bound to one Discord event, and the posting helper.

* :class:`MessageResponder` answers a mention: in the thread it was asked in, else in a new public
  thread started from the message, else (threads not allowed there, a DM) as a reply to it.
* :class:`InteractionResponder` answers a slash command or a button click through the interaction:
  ``acknowledge()`` defers, replies are the initial response or follow-ups, private ones ephemeral.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import discord

from bot.adapters.discord.forms import modal_for
from bot.adapters.discord.render import RenderedReply, render, thread_name
from bot.adapters.discord.translate import where_of
from bot.core.adapter import UnsupportedOperation
from bot.core.events import Form, MessageRef, Reply, Where

log = logging.getLogger(__name__)

THREAD_ALREADY_EXISTS = 160004  # Discord error code: "A thread has already been created for this message"


async def start_thread(message: discord.Message, rendered: RenderedReply) -> None:
    """``Reply.start_thread``: open a public thread from the posted message (text channels only)."""
    if not rendered.start_thread or not isinstance(message.channel, discord.TextChannel):
        return
    try:
        await message.create_thread(name=rendered.thread_title or thread_name(message.content))
    except discord.HTTPException as exc:
        log.warning("could not start a thread from message %s: %s", message.id, exc)


async def post(
    target: discord.abc.Messageable, rendered: RenderedReply, *, reference: discord.Message | None = None
) -> discord.Message:
    """Send every chunk of ``rendered`` to ``target``; returns the last message (it holds the embed and
    buttons). ``reference``: reply (without pinging) to that message."""
    first: discord.Message | None = None
    sent: discord.Message | None = None
    for index in range(len(rendered.chunks)):
        kwargs = rendered.message_kwargs(index)
        if reference is not None and index == 0:
            kwargs.update(reference=reference.to_reference(fail_if_not_exists=False), mention_author=False)
        sent = await target.send(**kwargs)
        first = first or sent
    assert first is not None and sent is not None  # render() never yields zero chunks
    await start_thread(first, rendered)
    return sent


class MessageResponder:
    """Answers a message that mentions the bot.

    Public replies go to the thread the message was posted in; otherwise to a public thread started
    from the message (named after the question; its id is the message id, so the core's history key
    for the question and for follow-ups in the thread is the same), created on the first public reply.
    If a thread can't be created (no permission, a DM, a voice channel's chat) the reply is posted in
    the channel as a reply to the message. Discord has no ephemeral messages outside interactions and
    readbot doesn't DM people, so a *private* reply (an input error, an apology) is posted where the
    question was asked, as a non-pinging reply to it, without opening a thread.
    """

    def __init__(self, message: discord.Message, question: str) -> None:
        self.message = message
        self._thread_name = thread_name(question)
        self._target: tuple[discord.abc.Messageable, discord.Message | None] | None = None
        self._lock = asyncio.Lock()

    async def acknowledge(self, *, private: bool = False) -> None:
        """Show "readbot is typing…" where the question was asked (best effort)."""
        try:
            await self.message.channel.typing()
        except discord.HTTPException as exc:
            log.debug("typing indicator failed: %s", exc)

    async def open_form(self, form: object) -> None:
        raise UnsupportedOperation("discord", "forms here")

    @property
    def where(self) -> Where:
        """Where a public reply goes: the answer's thread once it exists, else the question's channel
        (an answer Discord refused is owed there: :meth:`bot.store.outbox.DurableOutbox.owe`)."""
        if self._target is not None:
            return where_of(self._target[0])
        return where_of(self.message.channel, self.message.channel.id)

    async def reply(self, reply: Reply) -> MessageRef | None:
        rendered = render(reply)
        if rendered.private:
            target: discord.abc.Messageable = self.message.channel
            reference: discord.Message | None = self.message
        else:
            async with self._lock:
                target, reference = await self._public_target()
        sent = await post(target, rendered, reference=reference)
        return MessageRef(where_of(sent.channel), str(sent.id))

    async def _public_target(self) -> tuple[discord.abc.Messageable, discord.Message | None]:
        if self._target is None:
            self._target = await self._find_public_target()
        target, reference = self._target
        self._target = (target, None)  # only the first reply quotes the question
        return target, reference

    async def _find_public_target(self) -> tuple[discord.abc.Messageable, discord.Message | None]:
        message, channel = self.message, self.message.channel
        if isinstance(channel, discord.TextChannel):
            try:
                return await message.create_thread(name=self._thread_name), None
            except discord.Forbidden as exc:
                log.info("can't create a thread in #%s (%s): replying in the channel", channel.name, exc)
            except discord.HTTPException as exc:
                if exc.code == THREAD_ALREADY_EXISTS:
                    existing = channel.guild.get_thread(message.id)
                    with contextlib.suppress(discord.HTTPException):
                        existing = existing or await channel.guild.fetch_channel(message.id)  # type: ignore[assignment]
                    if isinstance(existing, discord.Thread):
                        return existing, None
                log.warning("thread creation failed in #%s (%s): replying in the channel", channel.name, exc)
        return channel, message


class InteractionResponder:
    """Answers one interaction (slash command or button click).

    ``acknowledge()`` defers (a slash command shows "readbot is thinking…", a click shows nothing).
    A reply before any response is the initial response; after it, follow-ups (the first follow-up
    after a slash command's defer replaces the thinking message). A private reply is ephemeral;
    because Discord keeps the first follow-up after a *public* defer public, a private reply at that
    point deletes the thinking message first and is then sent as an ephemeral follow-up.
    Private replies return no MessageRef (an ephemeral message can't be edited through the channel).
    """

    def __init__(self, interaction: discord.Interaction) -> None:
        self.interaction = interaction
        self.where: Where = where_of(interaction.channel, interaction.channel_id)
        self._lock = asyncio.Lock()
        self._thinking = False  # a public "thinking…" message awaits its first follow-up

    @property
    def responded(self) -> bool:
        return self.interaction.response.is_done()

    async def acknowledge(self, *, private: bool = False) -> None:
        """Defer; ``private``: the "thinking…" is ephemeral, so the answer that replaces it is too."""
        async with self._lock:
            if self.interaction.response.is_done():
                return
            command = self.interaction.type is discord.InteractionType.application_command
            await self.interaction.response.defer(ephemeral=private and command)
            self._thinking = command and not private  # a public "thinking…" a private reply must remove

    async def open_form(self, form: Form) -> None:
        """A modal, as the interaction's first response (a form of text fields only; not after a defer,
        nor in answer to a submitted modal)."""
        modal = modal_for(form)
        async with self._lock:
            if self.interaction.response.is_done():
                raise UnsupportedOperation("discord", "forms after the interaction was answered")
            if self.interaction.type is discord.InteractionType.modal_submit:
                raise UnsupportedOperation("discord", "a form in answer to a form")
            await self.interaction.response.send_modal(modal)

    async def reply(self, reply: Reply) -> MessageRef | None:
        rendered = render(reply)
        async with self._lock:
            first, last = await self._send(rendered)
        if rendered.private:
            return None
        if rendered.start_thread and first is not None:
            await start_thread(first, rendered)
        return MessageRef(self.where, str(last)) if last else None

    async def _send(self, rendered: RenderedReply) -> tuple[discord.Message | None, int | None]:
        """Post all chunks; returns (first message if known, id of the last message)."""
        interaction, private = self.interaction, rendered.private
        first: discord.Message | None = None
        last: int | None = None
        start = 0
        if not interaction.response.is_done():
            result = await interaction.response.send_message(**rendered.message_kwargs(0), ephemeral=private)
            last = getattr(result, "message_id", None)
            if not private and (rendered.start_thread or not last):
                first = await interaction.original_response()
                last = first.id
            start = 1
        elif private and self._thinking:
            with contextlib.suppress(discord.NotFound):
                await interaction.delete_original_response()
        for index in range(start, len(rendered.chunks)):
            message = await interaction.followup.send(**rendered.message_kwargs(index), ephemeral=private, wait=True)
            first, last = first or message, message.id
            self._thinking = False
        return first, last
