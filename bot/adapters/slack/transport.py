"""How Slack reaches readbot: HTTP (Events API on ``/slack/events``) or Socket Mode."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Protocol

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConfigError

log = logging.getLogger(__name__)

# Web API errors that mean a token itself is wrong (a setting to fix, not an outage).
TOKEN_REJECTED = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type"}
)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
AddRoutes = Callable[[web.Application], None]  # more routes for the same server (/readyz, /metrics)


class Transport(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def connected(self) -> bool: ...

    def describe(self) -> str: ...


async def healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok", content_type="text/plain")


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound TCP socket (IPv4 host like 0.0.0.0; port 0 picks a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"READBOT_HTTP_PORT={port}: can't listen on {host}:{port} ({exc.strerror or exc})") from None
    sock.setblocking(False)
    return sock


class HttpTransport:
    """bolt's aiohttp app on ``host:port`` plus ``GET /healthz``.

    Request signatures are checked by bolt before any listener runs (401 otherwise)."""

    def __init__(
        self,
        app: AsyncApp,
        host: str,
        port: int,
        shutdown_timeout: float = 3.0,
        *,
        extra_routes: AddRoutes | None = None,
    ) -> None:
        self.app = app
        self.extra_routes = extra_routes
        self.host = host
        self.port = port
        self.shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        web_app = self.app.web_app(path=EVENTS_PATH, port=self.port)
        web_app.router.add_get(HEALTH_PATH, healthz)
        if self.extra_routes is not None:
            self.extra_routes(web_app)
        sock = listening_socket(self.host, self.port)
        runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=self.shutdown_timeout)
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
        except BaseException:
            await runner.cleanup()
            sock.close()
            raise
        self._runner = runner
        self.port = int(sock.getsockname()[1])

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def connected(self) -> bool:
        return self._runner is not None

    def describe(self) -> str:
        return f"HTTP on {self.host}:{self.port}{EVENTS_PATH}"


class SocketModeTransport:
    """A Socket Mode WebSocket opened with the app-level token (``xapp-``).

    The first WebSocket URL is asked for here (``apps.connections.open``): slack_sdk's
    ``connect()`` retries failures forever, so a wrong app token would never surface."""

    def __init__(self, app: AsyncApp, client: AsyncWebClient, app_token: str) -> None:
        self.app = app
        self.client = client
        self.app_token = app_token
        self.handler: AsyncSocketModeHandler | None = None

    async def start(self) -> None:
        try:
            opened = await self.client.apps_connections_open(app_token=self.app_token)
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in TOKEN_REJECTED:
                raise ConfigError(f"SLACK_APP_TOKEN was rejected by Slack ({error})") from None
            raise
        # Built here, inside the running loop: the Socket Mode client binds to it.
        self.handler = AsyncSocketModeHandler(self.app, app_token=self.app_token, web_client=self.client)
        self.handler.client.wss_uri = str(opened["url"])
        await self.handler.connect_async()

    async def stop(self) -> None:
        if self.handler is not None:
            handler, self.handler = self.handler, None
            await handler.close_async()

    async def connected(self) -> bool:
        return self.handler is not None and bool(await self.handler.client.is_connected())

    def describe(self) -> str:
        return "Socket Mode"
