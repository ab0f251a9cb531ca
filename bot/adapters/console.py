"""The console adapter: `readbot chat`, to try readbot locally as a person would.

Type a question (as if mentioning the bot) or a command (``/ask …``, ``/poll …``,
``/prompt …``, ``/recap``); readbot's replies are printed as they would be posted. A line that starts
with ``>`` is said in the session's thread without addressing readbot (a member's aside: answered
only if it asks something, once readbot has answered in the thread). The same
scenarios as the platform adapters run against it in-process.

A command that declares a file option takes a local path as its last word
(``/reading add ~/books/kari.epub``, or quoted if it has spaces): an existing path becomes
the command's attachment (its id the absolute path) and leaves the command's text; ``fetch``
reads it, bounded, in a worker thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import mimetypes
import os
import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import TextIO

from bot.core.adapter import UnsupportedOperation
from bot.core.commands import CommandSpec
from bot.core.dispatcher import Dispatcher
from bot.core.events import (
    Attachment,
    ButtonClick,
    Channel,
    Command,
    Event,
    Message,
    MessageRef,
    PastMessage,
    Reply,
    User,
    Visibility,
    Where,
)
from bot.core.files import FileTooLarge, FileUnavailable, check_size
from bot.core.text import neutralize_mentions

PLATFORM = "console"
# the last word of a command's text: "quoted with spaces", 'quoted', or a bare word
_LAST_WORD = re.compile(r"""(?:^|\s)(?:"([^"]+)"|'([^']+)'|(\S+))\s*$""")


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
        self,
        dispatcher: Dispatcher,
        out: TextIO,
        *,
        user: User | None = None,
        channel: str = "reading-group",
        commands: Iterable[CommandSpec] = (),
    ) -> None:
        """``commands``: the features' declarations (``AdapterKit.commands``): a command with a file
        option takes a path as its last word."""
        self.dispatcher = dispatcher
        self.commands = {spec.name: spec for spec in commands}
        self.out = out
        self.user = user or User("console-user", "you")
        self.channel = Channel(PLATFORM, channel, channel)
        self.posted: list[tuple[Where, Reply]] = []
        self.updates: list[tuple[MessageRef, Reply]] = []
        self.cards: list[tuple[MessageRef, Reply]] = []
        self._ids = itertools.count(1)
        self._session = secrets.token_hex(4)
        self.threads: dict[Where, list[PastMessage]] = {}  # what was said in each thread, for history()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def connected(self) -> bool:
        return True

    def event_for(self, line: str) -> Event | None:
        line = line.strip("\n")
        event_id = f"{self._session}-{next(self._ids)}"  # unique across chat sessions on one database
        where = Where(self.channel, thread_id=f"console-{self._session}")  # each chat session is a new thread
        click = re.fullmatch(r"\s*click\s+(\d+)\s*", line, re.IGNORECASE)
        if click:
            return self._click(event_id, where, int(click.group(1)))
        if line.startswith("/"):
            name, _, text = line[1:].partition(" ")
            return Command(event_id, where, self.user, name.lower(), text.strip())
        if line.startswith(">"):  # said in the thread without addressing readbot (a member's aside)
            return Message(event_id, where, self.user, line[1:].strip(), message_id=event_id, addressed=False)
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
        if isinstance(event, Command) and self._takes_file(event.name):
            event = await asyncio.to_thread(attach_path, event)  # a stat: off the event loop
        if event is not None:
            if isinstance(event, Message) and event.text.strip():
                self._said(event.where, PastMessage(event.user, event.text, event.message_id))
            await self.dispatcher.dispatch(event, ConsoleResponder(self, event.where))

    def _said(self, where: Where, message: PastMessage) -> None:
        if where.thread_id:
            self.threads.setdefault(Where(where.channel, where.thread_id), []).append(message)

    async def history(self, where: Where, *, limit: int) -> list[PastMessage]:
        """What was said in the thread in this chat session (the person's messages and readbot's public
        replies), oldest first."""
        return list(self.threads.get(Where(where.channel, where.thread_id), []))[-limit:]

    def _takes_file(self, name: str) -> bool:
        spec = self.commands.get(name)
        return spec is not None and spec.takes_file

    async def fetch(self, attachment: Attachment, *, limit: int) -> bytes:
        """The file at ``attachment.id`` (a path), read in a worker thread, at most ``limit + 1`` bytes."""
        return await asyncio.to_thread(read_file, attachment, limit)

    async def send(self, where: Where, reply: Reply) -> MessageRef:
        self.posted.append((where, reply))
        if reply.visibility is Visibility.PUBLIC:
            self._said(where, PastMessage(User("readbot", "readbot", is_bot=True), reply.text, str(len(self.posted))))
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


def attach_path(command: Command) -> Command:
    """The command with its text's last word as its attachment, if that word is an existing path
    (``~`` expanded, relative to the working directory); unchanged otherwise."""
    found = _LAST_WORD.search(command.text)
    if found is None:
        return command
    word = next(group for group in found.groups() if group)
    path = Path(word).expanduser()
    try:
        if not path.exists():
            return command
        path = path.resolve()
        size: int | None = path.stat().st_size if path.is_file() else None
    except (OSError, RuntimeError):  # unreadable, a symlink loop
        return command
    kind = mimetypes.guess_type(path.name)[0] or ""
    attachment = Attachment(str(path), path.name, size, kind)
    text = command.text[: found.start()].strip()
    return dataclasses.replace(command, text=text, attachments=(*command.attachments, attachment))


def read_file(attachment: Attachment, limit: int) -> bytes:
    """Blocking: the file's bytes, its size checked before reading and at most ``limit + 1`` bytes read."""
    name = attachment.name or os.path.basename(attachment.id)
    check_size(name, attachment.size, limit)
    try:
        with open(attachment.id, "rb") as handle:
            check_size(name, os.fstat(handle.fileno()).st_size, limit)
            data = handle.read(limit + 1)
    except OSError as exc:
        raise FileUnavailable(name, exc.strerror or type(exc).__name__) from None
    if len(data) > limit:
        raise FileTooLarge(name, limit)
    return data


async def lines_from(stream: TextIO, prompt: Callable[[], None]) -> AsyncIterator[str]:
    """Lines typed at the terminal, read off the event loop."""
    while True:
        prompt()
        line = await asyncio.to_thread(stream.readline)
        if not line:
            return
        yield line
