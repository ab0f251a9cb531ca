"""Streaming a stored file to a client, as the platforms' file servers do (shared by the fakes)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

DOWNLOAD_CHUNK = 64 * 1024


async def stream_file(
    request: web.Request, data: bytes, content_type: str, declared_size: int | None, progress: dict[str, Any]
) -> web.StreamResponse:
    """Send ``data`` in chunks, counting ``progress["sent"]`` and setting ``progress["complete"]``.
    A file whose declared size lies is sent without a Content-Length (chunked); a client that stops
    reading ends the download quietly."""
    response = web.StreamResponse(headers={"Content-Type": content_type})
    if declared_size is None or declared_size == len(data):
        response.content_length = len(data)
    try:
        await response.prepare(request)
        for start in range(0, len(data), DOWNLOAD_CHUNK):
            chunk = data[start : start + DOWNLOAD_CHUNK]
            await response.write(chunk)
            progress["sent"] += len(chunk)
        await response.write_eof()
        progress["complete"] = True
    except ConnectionError:  # the client stopped reading (aiohttp: ClientConnectionResetError)
        pass
    return response
