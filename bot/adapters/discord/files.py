"""Fetching a file attached on Discord: its CDN URL (signed by Discord, no token needed), streamed,
never more than ``limit + 1`` bytes; the size Discord declared is checked before anything is fetched."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import aiohttp

from bot.core.events import Attachment
from bot.core.files import FileUnavailable, check_size, read_bounded

log = logging.getLogger(__name__)

SOURCE = "Discord"
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=30)


def reason_for(status: int) -> str:
    if status in (403, 404):
        return f"Discord answered HTTP {status} (the link expired or the file was deleted; attach it again)"
    return f"Discord answered HTTP {status}"


async def fetch(attachment: Attachment, *, limit: int) -> bytes:
    name = attachment.name or "the file"
    check_size(name, attachment.size, limit)
    if urlsplit(attachment.id).scheme not in ("https", "http"):
        raise FileUnavailable(name, "it has no download link", source=SOURCE)
    try:
        async with (
            aiohttp.ClientSession(timeout=DOWNLOAD_TIMEOUT) as session,
            session.get(attachment.id) as response,
        ):
            if response.status != 200:
                raise FileUnavailable(name, reason_for(response.status), source=SOURCE)
            check_size(name, response.content_length, limit)
            return await read_bounded(response.content.read, name, limit)
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        log.warning("discord attachment download failed: %r", exc)
        raise FileUnavailable(name, f"the download failed ({type(exc).__name__})", source=SOURCE) from None
