"""The console adapter: `readbot chat`, to try readbot locally as a person would.

Type a question (as if mentioning the bot) or a command (``/ask …``, ``/poll …``,
``/prompt …``); readbot's replies are printed as they would be posted. The same
scenarios as the platform adapters run against it in-process.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
from collections.abc import AsyncIterator, Callable
from typing import TextIO

from bot.core.adapter import UnsupportedOperation
from bot.core.dispatcher import Dispatcher
from bot.core.events import ButtonClick, Channel, Command, Event, Message, MessageRef, Reply, User, Visibility, Where
from bot.core.text import neutralize_mentions

PLATFORM = "console"


def render(reply: Reply) -> str:
    lines = [neutralize_mentions(reply.text)]
    for c in reply.citations:
        lines.append(f"  [source: “{c.section}” ({c.document})]")
    if reply.buttons:
        lines.append(
            "  " + "  ".join(f"[{i}: {b.label}]" for i, b in enumerate(reply.buttons, 1)) + "   (type `click N`)"
        )
    if reply.image is not None:
        lines.append(f"  [image: {reply.image_name}, {len(reply.image):,} bytes]")
    text = "\n".join(lines)
    if reply.visibility is Visibility.PRIVATE:
        return "(only you can see this) " + text
    return text


class ConsoleResponder:
    def __init__(self, adapter: ConsoleAdapter, where: Where) -> None:
        self._adapter = adapter
        self._where = where

    async def acknowledge(self) -> None:
        return None

    async def open_form(self, form: object) -> None:
        raise UnsupportedOperation(PLATFORM, "forms")

    async def reply(self, reply: Reply) -> MessageRef | None:
        return await self._adapter.send(self._where, reply)


class ConsoleAdapter:
    platform = PLATFORM

    def __init__(
        self, dispatcher: Dispatcher, out: TextIO, *, user: User | None = None, channel: str = "reading-group"
    ) -> None:
        self.dispatcher = dispatcher
        self.out = out
        self.user = user or User("console-user", "you")
        self.channel = Channel(PLATFORM, channel, channel)
        self.posted: list[tuple[Where, Reply]] = []
        self.updates: list[tuple[MessageRef, Reply]] = []
        self.cards: list[tuple[MessageRef, Reply]] = []
        self._ids = itertools.count(1)
        self._session = secrets.token_hex(4)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def connected(self) -> bool:
        return True

    def event_for(self, line: str) -> Event | None:
        line = line.strip("\n")
        event_id = f"{self._session}-{next(self._ids)}"  # unique across chat sessions on one database
        where = Where(self.channel, thread_id="console-thread")
        click = re.fullmatch(r"\s*click\s+(\d+)\s*", line, re.IGNORECASE)
        if click:
            return self._click(event_id, where, int(click.group(1)))
        if line.startswith("/"):
            name, _, text = line[1:].partition(" ")
            return Command(event_id, where, self.user, name.lower(), text.strip())
        return Message(event_id, where, self.user, line, message_id=event_id)

    def _click(self, event_id: str, where: Where, number: int) -> Event | None:
        """`click N`: press button N of the latest message that has buttons."""
        for ref, reply in reversed(self.cards):
            if 1 <= number <= len(reply.buttons):
                button = reply.buttons[number - 1]
                return ButtonClick(event_id, where, self.user, button.action, button.value, ref)
            break
        self.out.write("readbot> (there is no such button)\n")
        return None

    async def handle_line(self, line: str) -> None:
        event = self.event_for(line)
        if event is not None:
            await self.dispatcher.dispatch(event, ConsoleResponder(self, event.where))

    async def send(self, where: Where, reply: Reply) -> MessageRef:
        self.posted.append((where, reply))
        ref = MessageRef(where, str(len(self.posted)))
        if reply.buttons:
            self.cards.append((ref, reply))
        self.out.write(f"readbot> {render(reply)}\n")
        self.out.flush()
        return ref

    async def update(self, ref: MessageRef, reply: Reply) -> None:
        self.updates.append((ref, reply))
        self.cards = [(r, reply if r == ref else old) for r, old in self.cards]
        self.out.write(f"readbot (edited message {ref.message_id})> {render(reply)}\n")


async def lines_from(stream: TextIO, prompt: Callable[[], None]) -> AsyncIterator[str]:
    """Lines typed at the terminal, read off the event loop."""
    while True:
        prompt()
        line = await asyncio.to_thread(stream.readline)
        if not line:
            return
        yield line
