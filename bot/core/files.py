"""Files people attach, as far as the kernel is concerned: the errors a fetch raises, and the
bounded read every adapter's ``fetch`` uses.

``ChatAdapter.fetch(attachment, limit=...)`` (reached through ``Outbox.fetch``) returns the file's
bytes or raises one of the two errors below. Both are :class:`~bot.errors.InputError`: a feature may
catch them, or let them propagate, and the dispatcher answers the person privately with their one
line. Adapters check the size the platform declared first (no download at all for a file declared
too large), then read at most ``limit + 1`` bytes however large the body turns out to be.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.errors import InputError

CHUNK = 64 * 1024
NAME_LIMIT = 80  # a file's name, as quoted in a message


def size_text(size: int) -> str:
    """``61.2 MB``, ``50 MB``, ``12 KB``, ``800 bytes`` (decimal units, as the platforms show sizes)."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= scale:
            value = f"{size / scale:.1f}".removesuffix(".0")
            return f"{value} {unit}"
    return f"{size} byte" if size == 1 else f"{size} bytes"


def shown_name(name: str) -> str:
    """The name on one line, not overly long."""
    name = " ".join(name.split()) or "the file"
    return name if len(name) <= NAME_LIMIT else name[: NAME_LIMIT - 1] + "…"


class FileTooLarge(InputError):
    """The file is over the caller's limit: ``kari.epub is 61.2 MB; the limit is 50 MB.``
    ``size`` is None when the platform declared no (or a wrong) size and the download passed the limit."""

    def __init__(self, name: str, limit: int, size: int | None = None) -> None:
        self.name, self.limit, self.size = name, limit, size
        what = size_text(size) if size is not None else f"larger than {size_text(limit)}"
        super().__init__(f"{shown_name(name)} is {what}; the limit is {size_text(limit)}.")


class FileUnavailable(InputError):
    """The file could not be fetched: ``I couldn't download kari.epub from Slack: Slack answered HTTP 500.``
    ``source`` is the platform's name ("Slack", "Discord"); without one (a local file) the line says
    "read" rather than "download"."""

    def __init__(self, name: str, reason: str, *, source: str = "") -> None:
        self.name, self.reason, self.source = name, reason, source
        reason = " ".join(reason.split()).rstrip(".")
        where = f"download {shown_name(name)} from {source}" if source else f"read {shown_name(name)}"
        super().__init__(f"I couldn't {where}: {reason}.")


def check_size(name: str, size: int | None, limit: int) -> None:
    """Raise FileTooLarge if a declared ``size`` (None: not known) is over ``limit``."""
    if size is not None and size > limit:
        raise FileTooLarge(name, limit, size)


async def read_bounded(read: Callable[[int], Awaitable[bytes]], name: str, limit: int) -> bytes:
    """Everything ``read(n)`` (up to n bytes; b"" at the end, like ``aiohttp.StreamReader.read``)
    gives, asking for at most ``limit + 1`` bytes in all: one byte past the limit is enough to know
    the file is too large, so a body whose declared size lied is never read on."""
    data = bytearray()
    while True:
        chunk = await read(min(CHUNK, limit + 1 - len(data)))
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > limit:
            raise FileTooLarge(name, limit)
