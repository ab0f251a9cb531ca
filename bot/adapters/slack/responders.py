"""Responders: where the answer to one Slack event goes.

* a mention or DM → :class:`ThreadResponder`: public replies in the event's thread,
  private ones as an ephemeral message to the person (in that thread too);
* a slash command → :class:`CommandResponder`: public replies in the channel, private
  ones ephemeral; if the bot can't post there (not a member, someone else's DM) the
  command's ``response_url`` is used instead.

Slack is acknowledged by the adapter before any work starts (events automatically,
commands and buttons with ``ack()``), so :meth:`acknowledge` has nothing left to do.
"""

from __future__ import annotations

import logging
from typing import Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.adapters.slack.render import render
from bot.core.adapter import UnsupportedOperation
from bot.core.events import MessageRef, Reply, User, Visibility, Where

log = logging.getLogger(__name__)

# chat.postMessage errors a command's response_url gets around.
NO_ACCESS = frozenset({"not_in_channel", "channel_not_found"})


class Outbox(Protocol):
    """What a responder needs from the adapter."""

    async def send(self, where: Where, reply: Reply) -> MessageRef: ...

    async def send_private(self, where: Where, user: User, reply: Reply) -> None: ...


class ThreadResponder:
    def __init__(self, outbox: Outbox, where: Where, user: User) -> None:
        self.outbox = outbox
        self.where = where
        self.user = user

    async def reply(self, reply: Reply) -> MessageRef | None:
        if reply.visibility is Visibility.PRIVATE:
            await self.outbox.send_private(self.where, self.user, reply)
            return None
        return await self.outbox.send(self.where, reply)

    async def acknowledge(self) -> None:
        """Nothing to do: Slack got its acknowledgement when the event arrived."""

    async def open_form(self, form: object) -> None:
        raise UnsupportedOperation("slack", "forms here")


class CommandResponder(ThreadResponder):
    def __init__(self, outbox: Outbox, where: Where, user: User, response_url: str | None) -> None:
        super().__init__(outbox, where, user)
        self.response_url = response_url or None

    async def reply(self, reply: Reply) -> MessageRef | None:
        private = reply.visibility is Visibility.PRIVATE
        try:
            return await super().reply(reply)
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if self.response_url is None or not (private or error in NO_ACCESS):
                raise
            log.info("slack %s failed (%s); answering through the command's response_url",
                     "chat.postEphemeral" if private else "chat.postMessage", error)
        await self._respond(reply, "ephemeral" if private else "in_channel")
        return None

    async def _respond(self, reply: Reply, response_type: str) -> None:
        assert self.response_url is not None
        message = render(reply)
        response = await AsyncWebhookClient(self.response_url).send(
            text=message.text, blocks=message.blocks or None, response_type=response_type,
            replace_original=False)
        if response.status_code != 200:
            raise RuntimeError(f"Slack response_url answered HTTP {response.status_code}")
