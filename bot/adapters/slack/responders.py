"""Responders: where the answer to one Slack event goes.

* a mention or DM → :class:`ThreadResponder`: public replies in the event's thread,
  private ones as an ephemeral message to the person (in that thread too);
* a slash command → :class:`CommandResponder`: public replies in the channel, private
  ones ephemeral; if the bot can't post there (not a member, someone else's DM) the
  command's ``response_url`` is used instead. It can open a form: a modal, through
  ``views.open`` with the command's ``trigger_id`` (valid for 3 seconds);
* a submitted modal → :class:`FormResponder`: public replies in the channel (and
  thread) the form was opened from, private ones ephemeral to the person there, or in
  a direct message when the bot can't post in that channel.

Events and commands are acknowledged by the adapter before any work starts. A button click or a
modal submission, which Slack never delivers again, is acknowledged only once what it asked for is
stored: its responder holds an :class:`AckGate`, opened by :meth:`acknowledge` or by the first
reply (the vote is in the database by then), by the end of the handler, or by the adapter when
Slack's 3 seconds run short.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.adapters.slack.render import modal_view, render
from bot.core.adapter import UnsupportedOperation
from bot.core.events import Channel, Form, MessageRef, Reply, User, Visibility, Where
from bot.errors import InputError

log = logging.getLogger(__name__)

# chat.postMessage errors a command's response_url gets around.
NO_ACCESS = frozenset({"not_in_channel", "channel_not_found"})
# views.open errors that mean the person waited too long (a trigger_id lives 3 seconds).
STALE_TRIGGER = frozenset({"expired_trigger_id", "invalid_trigger_id", "exchanged_trigger_id"})
# chat.postEphemeral errors a direct message gets around.
NO_EPHEMERAL = NO_ACCESS | frozenset({"user_not_in_channel", "is_archived"})


class Outbox(Protocol):
    """What a responder needs from the adapter."""

    async def send(self, where: Where, reply: Reply) -> MessageRef: ...

    async def post_ephemeral(self, where: Where, user: User, reply: Reply) -> None: ...

    async def open_modal(self, trigger_id: str, view: dict[str, Any]) -> None: ...


class AckGate:
    """Slack's ``ack()`` for one request, called once, when :meth:`open` is first awaited."""

    def __init__(self, ack: Callable[[], Awaitable[Any]]) -> None:
        self._ack = ack
        self._done = asyncio.Event()
        self._lock = asyncio.Lock()

    @property
    def opened(self) -> bool:
        return self._done.is_set()

    async def open(self) -> None:
        async with self._lock:
            if self._done.is_set():
                return
            try:
                await self._ack()
            finally:
                self._done.set()

    async def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the gate to open; whether it did."""
        try:
            await asyncio.wait_for(self._done.wait(), timeout)
        except TimeoutError:
            return False
        return True


class ThreadResponder:
    def __init__(self, outbox: Outbox, where: Where, user: User, *, gate: AckGate | None = None) -> None:
        self.outbox = outbox
        self.where = where
        self.user = user
        self.gate = gate

    async def reply(self, reply: Reply) -> MessageRef | None:
        if self.gate is not None:
            await self.gate.open()  # what the event asked for is done (stored): Slack may know
        if reply.visibility is Visibility.PRIVATE:
            await self.outbox.post_ephemeral(self.where, self.user, reply)
            return None
        return await self.outbox.send(self.where, reply)

    async def acknowledge(self, *, private: bool = False) -> None:
        """Slack got its acknowledgement when the event arrived, or gets it now (a click, a form)."""
        if self.gate is not None:
            await self.gate.open()

    async def open_form(self, form: Form) -> None:
        raise UnsupportedOperation("slack", "forms here")


async def open_modal(outbox: Outbox, trigger_id: str | None, form: Form, where: Where) -> None:
    """A modal from an interaction's trigger; its submission comes back as FormSubmitted."""
    if trigger_id is None:
        raise UnsupportedOperation("slack", "forms without a trigger_id")
    try:
        await outbox.open_modal(trigger_id, modal_view(form, where))
    except SlackApiError as exc:
        if str(exc.response.get("error", "")) in STALE_TRIGGER:
            raise InputError("Slack took too long to open the form; please run the command again.") from None
        raise


class CommandResponder(ThreadResponder):
    def __init__(
        self,
        outbox: Outbox,
        where: Where,
        user: User,
        response_url: str | None,
        trigger_id: str | None = None,
        *,
        gate: AckGate | None = None,
    ) -> None:
        super().__init__(outbox, where, user, gate=gate)
        self.response_url = response_url or None
        self.trigger_id = trigger_id or None

    async def open_form(self, form: Form) -> None:
        """A modal from the command's trigger; its submission comes back as FormSubmitted."""
        await open_modal(self.outbox, self.trigger_id, form, self.where)

    async def reply(self, reply: Reply) -> MessageRef | None:
        private = reply.visibility is Visibility.PRIVATE
        try:
            return await super().reply(reply)
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if self.response_url is None or not (private or error in NO_ACCESS):
                raise
            log.info(
                "slack %s failed (%s); answering through the command's response_url",
                "chat.postEphemeral" if private else "chat.postMessage",
                error,
            )
        await self._respond(reply, "ephemeral" if private else "in_channel")
        return None

    async def _respond(self, reply: Reply, response_type: str) -> None:
        assert self.response_url is not None
        message = render(reply)
        response = await AsyncWebhookClient(self.response_url).send(
            text=message.text, blocks=message.blocks or None, response_type=response_type, replace_original=False
        )
        if response.status_code != 200:
            raise RuntimeError(f"Slack response_url answered HTTP {response.status_code}")


class FormResponder(ThreadResponder):
    """Answers a submitted modal in the channel (and thread) it was opened from."""

    async def reply(self, reply: Reply) -> MessageRef | None:
        try:
            return await super().reply(reply)
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if reply.visibility is Visibility.PUBLIC and error in NO_ACCESS:  # told privately by the dispatcher
                raise InputError(
                    "I can't post in that channel: invite me there first (/invite @readbot), then try again."
                ) from None
            if reply.visibility is not Visibility.PRIVATE or error not in NO_EPHEMERAL or reply.image is not None:
                raise
            log.info("slack chat.postEphemeral failed (%s); answering the form in a direct message", error)
        # a private answer the channel can't take: a DM (channel = the person's id)
        dm = Where(Channel(self.where.channel.platform, self.user.id))
        await self.outbox.send(dm, Reply(reply.text, reply.citations, reply.buttons))
        return None
