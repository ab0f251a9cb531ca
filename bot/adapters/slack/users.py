"""Who is a Slack admin: ``users.info``, cached, failing soft (not an admin)."""

from __future__ import annotations

import logging
import time

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


class AdminDirectory:
    def __init__(
        self, client: AsyncWebClient, ttl: float = 600.0, failure_ttl: float = 60.0, size: int = 5_000
    ) -> None:
        self.client = client
        self.ttl = ttl
        self.failure_ttl = failure_ttl
        self.size = size
        self._cache: dict[str, tuple[float, bool]] = {}
        self._warned: set[str] = set()

    async def is_admin(self, user_id: str) -> bool:
        """True for a workspace admin or owner (readbot's moderators by default)."""
        if not user_id:
            return False
        now = time.monotonic()
        cached = self._cache.get(user_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            response = await self.client.users_info(user=user_id)
        except SlackApiError as exc:
            return self._failed(user_id, str(exc.response.get("error")), now)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return self._failed(user_id, type(exc).__name__, now)
        user = response.get("user") or {}
        admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        self._remember(user_id, admin, now + self.ttl)
        return admin

    def _failed(self, user_id: str, reason: str, now: float) -> bool:
        level = logging.DEBUG if reason in self._warned else logging.WARNING
        self._warned.add(reason)
        log.log(level, "slack users.info failed for %s (%s): treating them as not an admin", user_id, reason)
        self._remember(user_id, False, now + self.failure_ttl)
        return False

    def _remember(self, user_id: str, admin: bool, until: float) -> None:
        if len(self._cache) >= self.size:
            self._cache.clear()
        self._cache[user_id] = (until, admin)
