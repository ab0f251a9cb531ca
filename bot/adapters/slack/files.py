"""Files on Slack: the one a command gets, and fetching a file's bytes.

* Slack's slash commands carry no files. For a command that declares a file option, the file is
  the one the person shared in that channel most recently, within :data:`RECENT_WINDOW`
  (``files.list`` with channel, user, ts_from, count; the ``files:read`` scope).
* Fetching: ``files.info`` gives the size and ``url_private_download``; that URL is fetched with the
  bot token (``Authorization: Bearer``), streamed, never more than ``limit + 1`` bytes. The token is
  only ever sent to Slack's own hosts (a remote file's link points elsewhere: it is refused).
  Without the token (or the scope) Slack answers with its sign-in page rather than an error: that is
  reported as the file being unavailable, not handed over as its content.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.translate import attachment_of, recent_attachment
from bot.core.events import Attachment
from bot.core.files import FileUnavailable, check_size, read_bounded

log = logging.getLogger(__name__)

SOURCE = "Slack"
RECENT_WINDOW = 15 * 60  # seconds: a file shared this long before the command goes with it
RECENT_COUNT = 10
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=30)
GONE = frozenset({"file_not_found", "file_deleted"})


def reason_for(error: str) -> str:
    """A Web API error code, as a person would understand it."""
    if error in GONE:
        return "the file was deleted, or readbot can't see it"
    if error == "missing_scope":
        return "readbot lacks Slack's files:read permission (an admin can add it and reinstall the app)"
    return f"Slack said {error or 'no'}"


class SlackFiles:
    def __init__(self, client: AsyncWebClient, api_url: str) -> None:
        self.client = client
        self._slack_host = (urlsplit(api_url or "https://slack.com/api/").hostname or "slack.com").lower()

    async def recent(self, channel: str, user: str, *, now: float | None = None) -> Attachment | None:
        """The newest file ``user`` shared in ``channel`` within RECENT_WINDOW; None if there is none,
        or Slack can't say (logged: the command goes on without a file)."""
        since = (time.time() if now is None else now) - RECENT_WINDOW
        try:
            found = await self.client.files_list(
                channel=channel, user=user, ts_from=str(int(since)), count=RECENT_COUNT
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            hint = " (the app needs the files:read scope)" if error == "missing_scope" else ""
            log.warning("slack files.list failed (%s)%s: the command gets no file", error, hint)
            return None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("slack files.list failed (%s): the command gets no file", type(exc).__name__)
            return None
        return recent_attachment(found.get("files"), since)

    def _is_slack(self, url: str) -> bool:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        same = host == self._slack_host or host.endswith("." + self._slack_host)
        return parts.scheme in ("https", "http") and bool(host) and same

    async def fetch(self, attachment: Attachment, *, limit: int) -> bytes:
        name = attachment.name or attachment.id
        check_size(name, attachment.size, limit)
        try:
            info = await self.client.files_info(file=attachment.id)
        except SlackApiError as exc:
            raise FileUnavailable(name, reason_for(str(exc.response.get("error", ""))), source=SOURCE) from None
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise FileUnavailable(name, f"Slack could not be reached ({type(exc).__name__})", source=SOURCE) from None
        file: dict[str, Any] = dict(info.get("file") or {})
        described = attachment_of(file)
        if described is not None:
            name = described.name
            check_size(name, described.size, limit)
        url = str(file.get("url_private_download") or file.get("url_private") or "")
        if file.get("is_external") or (url and not self._is_slack(url)):
            raise FileUnavailable(name, "it is a link to a file kept outside Slack", source=SOURCE)
        if not url:
            raise FileUnavailable(name, "Slack gave no download link for it", source=SOURCE)
        return await self._download(url, name, str(file.get("mimetype") or ""), limit)

    async def _download(self, url: str, name: str, mimetype: str, limit: int) -> bytes:
        headers = {"Authorization": f"Bearer {self.client.token}"}
        try:
            async with (
                aiohttp.ClientSession(timeout=DOWNLOAD_TIMEOUT) as session,
                session.get(url, headers=headers) as response,
            ):
                if response.status != 200:
                    raise FileUnavailable(name, f"Slack answered HTTP {response.status}", source=SOURCE)
                if response.content_type == "text/html" and not mimetype.startswith("text/html"):
                    raise FileUnavailable(
                        name,
                        "Slack sent its sign-in page instead of the file (readbot's token or files:read permission)",
                        source=SOURCE,
                    )
                check_size(name, response.content_length, limit)
                return await read_bounded(response.content.read, name, limit)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.warning("slack file download failed: %r", exc)
            raise FileUnavailable(name, f"the download failed ({type(exc).__name__})", source=SOURCE) from None
