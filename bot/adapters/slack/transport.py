"""How Slack reaches readbot: HTTP (Events API on ``/slack/events``) or Socket Mode."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.gate import Gate, Rejected
from bot.errors import ConfigError

log = logging.getLogger(__name__)

# Web API errors that mean a token itself is wrong (a setting to fix, not an outage).
TOKEN_REJECTED = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type"}
)

EVENTS_PATH = "/slack/events"
MAX_BODY = 1024 * 1024  # bytes; Slack's payloads are a few KB, a big modal's tens
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


def bolt_request(text: str, body: dict[str, object], request: web.Request) -> AsyncBoltRequest:
    """The request for bolt, holding the body the gate parsed. bolt parses the text again; where it
    would read it otherwise (a slash command whose text contains the word "payload" parses to {}
    there), the gate's reading wins, so no command is lost to it."""
    bolt_req = AsyncBoltRequest(body=text, query=request.query_string, headers=dict(request.headers))
    if bolt_req.body != body:
        bolt_req.body = body
        bolt_req.context = build_async_context(AsyncBoltContext({}), body)
    return bolt_req


class HttpTransport:
    """``POST /slack/events`` on ``host:port`` (plus ``GET /healthz`` unless ``healthz=False``).

    Every request passes the :class:`~bot.adapters.slack.gate.Gate` first (signature, timestamp and
    shape, on the raw bytes: 401 or 400 otherwise), then goes to bolt, which checks the signature
    again before any listener runs."""

    def __init__(
        self,
        app: AsyncApp,
        host: str,
        port: int,
        shutdown_timeout: float = 3.0,
        *,
        gate: Gate,
        extra_routes: AddRoutes | None = None,
        healthz: bool = True,
    ) -> None:
        self.app = app
        self.gate = gate
        self.extra_routes = extra_routes
        self.healthz = healthz
        self.host = host
        self.port = port
        self.shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None

    async def events(self, request: web.Request) -> web.Response:
        try:
            try:
                raw = await request.read()  # bounded by aiohttp's client_max_size
            except web.HTTPRequestEntityTooLarge:
                raise Rejected(413, "too_large", f"body over {MAX_BODY // 1024} KB") from None
            text, body = self.gate.check_http(raw, request.headers)
        except Rejected as rejected:
            self.gate.rejected(request.remote or "unknown", rejected)
            return web.Response(status=rejected.status, text=rejected.reason.replace("_", " "))
        return await to_aiohttp_response(await self.app.async_dispatch(bolt_request(text, body, request)))

    async def start(self) -> None:
        web_app = web.Application(client_max_size=MAX_BODY)
        web_app.router.add_post(EVENTS_PATH, self.events)
        if self.healthz:
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

    def __init__(self, app: AsyncApp, client: AsyncWebClient, app_token: str, *, gate: Gate) -> None:
        self.app = app
        self.client = client
        self.app_token = app_token
        self.gate = gate
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
        self.handler = CheckedSocketModeHandler(self.app, self.gate, app_token=self.app_token, web_client=self.client)
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


ENVELOPES = frozenset({"events_api", "slash_commands", "interactive"})  # what carries a payload for bolt


class CheckedSocketModeClient(SocketModeClient):
    """slack_sdk's Socket Mode client, each envelope shape-checked (:meth:`Gate.check_envelope`) before
    the SDK or bolt reads it: a malformed one is acknowledged (so Slack doesn't send it again),
    counted, and not handled."""

    def __init__(self, gate: Gate, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gate = gate

    async def run_message_listeners(self, message: dict[str, Any], raw_message: str) -> None:
        kind = message.get("type")
        if kind in ENVELOPES:
            envelope_id = message.get("envelope_id")
            try:
                if not isinstance(envelope_id, str) or not envelope_id:
                    raise Rejected(400, "malformed", "envelope without an id")
                self.gate.check_envelope(str(kind), message.get("payload"))
            except Rejected as rejected:
                self.gate.rejected("socket mode", rejected, f"{kind} envelope")
                if isinstance(envelope_id, str) and envelope_id:
                    await self.send_socket_mode_response(SocketModeResponse(envelope_id=envelope_id))
                return
        await super().run_message_listeners(message, raw_message)


class CheckedSocketModeHandler(AsyncSocketModeHandler):
    """bolt's Socket Mode handler on a :class:`CheckedSocketModeClient`."""

    def __init__(self, app: AsyncApp, gate: Gate, *, app_token: str, web_client: AsyncWebClient) -> None:
        # bolt's __init__, with the checked client in place of slack_sdk's
        self.app = app
        self.app_token = app_token
        self.client = CheckedSocketModeClient(gate, app_token=app_token, logger=app.logger, web_client=web_client)
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]
