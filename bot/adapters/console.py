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
from typing import TYPE_CHECKING, TextIO

from bot.core.adapter import UnsupportedOperation
from bot.core.commands import CommandSpec
from bot.core.dispatcher import Dispatcher
from bot.core.events import (
    Attachment,
    ButtonClick,
    Channel,
    Command,
    Event,
    Form,
    FormSubmitted,
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

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession

PLATFORM = "console"
# the last word of a command's text: "quoted with spaces", 'quoted', or a bare word
_LAST_WORD = re.compile(r"""(?:^|\s)(?:"([^"]+)"|'([^']+)'|(\S+))\s*$""")


def render(reply: Reply, image_path: Path | None = None) -> str:
    """The reply as the transcript shows it; an image as the path it was written to, if it was."""
    lines = [neutralize_mentions(reply.text)]
    for c in reply.citations:
        lines.append(f"  [source: “{c.section}” ({c.document})]")
    if reply.buttons:
        lines.append(
            "  " + "  ".join(f"[{i}: {b.label}]" for i, b in enumerate(reply.buttons, 1)) + "   (type `click N`)"
        )
    if reply.image is not None and image_path is not None:
        lines.append(f"  [image: {image_path}, {len(reply.image):,} bytes]")
    elif reply.image is not None:
        lines.append(f"  [image: {reply.image_name}, {len(reply.image):,} bytes]")
    text = "\n".join(lines)
    if reply.visibility is Visibility.PRIVATE:
        return "(only you can see this) " + text
    return text


class ConsoleResponder:
    def __init__(self, adapter: ConsoleAdapter, where: Where) -> None:
        self._adapter = adapter
        self._where = where

    async def acknowledge(self, *, private: bool = False) -> None:
        return None

    async def open_form(self, form: Form) -> None:
        """A one-field form (👎's "what was wrong?") is asked as a follow-up line; larger ones aren't."""
        if len(form.fields) != 1 or form.fields[0].kind != "text":
            raise UnsupportedOperation(PLATFORM, "forms of more than one line")
        self._adapter.ask_form(form, self._where)

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
        files_dir: Path | None = None,
    ) -> None:
        """``commands``: the features' declarations (``AdapterKit.commands``): a command with a file
        option takes a path as its last word. ``files_dir`` (``DATA_DIR/console``): where charts and
        files readbot posts are written, their path printed in the transcript."""
        self.files_dir = files_dir
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
        self._form: tuple[Form, Where] | None = None  # a one-field form waiting for the next line
        self.threads: dict[Where, list[PastMessage]] = {}  # what was said in each thread, for history()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def connected(self) -> bool:
        return True

    def ask_form(self, form: Form, where: Where) -> None:
        self._form = (form, where)
        field = form.fields[0]
        self.out.write(
            f"readbot> (only you can see this) {field.label} (type it on the next line; an empty line skips)\n"
        )
        self.out.flush()

    def event_for(self, line: str) -> Event | None:
        line = line.strip("\n")
        event_id = f"{self._session}-{next(self._ids)}"  # unique across chat sessions on one database
        if self._form is not None:  # the line answers the form just asked
            (form, where), self._form = self._form, None
            if not line.strip():
                self.out.write("readbot> (only you can see this) Skipped.\n")
                return None
            return FormSubmitted(event_id, where, self.user, form.id, {form.fields[0].id: line})
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
        path = await self._write_image(reply)
        self.out.write(f"readbot> {render(reply, path)}\n")
        self.out.flush()
        return ref

    async def update(self, ref: MessageRef, reply: Reply) -> None:
        self.updates.append((ref, reply))
        self.cards = [(r, reply if r == ref else old) for r, old in self.cards]
        path = await self._write_image(reply)
        self.out.write(f"readbot (edited message {ref.message_id})> {render(reply, path)}\n")
        self.out.flush()

    async def _write_image(self, reply: Reply) -> Path | None:
        """The reply's image written under ``files_dir`` (a worker thread); None without a folder.
        A file that can't be written is said in the transcript, never lost silently."""
        if reply.image is None or self.files_dir is None:
            return None
        try:
            return await asyncio.to_thread(write_file, self.files_dir, reply.image_name, reply.image)
        except OSError as exc:
            self.out.write(
                f"readbot> (could not write {reply.image_name} to {self.files_dir}: {exc.strerror or exc})\n"
            )
            return None


def write_file(folder: Path, name: str, data: bytes) -> Path:
    """Blocking: ``data`` as ``folder/name`` (the name's own folders dropped), replaced whole: written
    to a temporary file first, so a reader never sees half a chart."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (Path(name).name or "file")
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    partial.write_bytes(data)
    os.replace(partial, path)
    return path.resolve()


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


async def terminal_lines(session: PromptSession[str]) -> AsyncIterator[str]:
    """Lines typed at a terminal through prompt_toolkit: output printed meanwhile (through
    ``patch_stdout``) is drawn above the ``you>`` line, which keeps what is being typed. Ctrl-D or
    Ctrl-C ends the chat."""
    while True:
        try:
            line = await session.prompt_async("you> ")
        except (EOFError, KeyboardInterrupt):
            return
        yield line
