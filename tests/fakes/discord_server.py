"""A local fake Discord (REST API v10 + JSON gateway) that the real discord.py client can talk to.

Pointing discord.py at it (verified against discord.py 2.7.1; see ``patch_discord_py``)::

    import discord, yarl
    discord.http.Route.BASE = "http://127.0.0.1:PORT/api/v10"  # DISCORD_API_URL
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL("ws://127.0.0.1:PORT/gateway")
    # ^ DISCORD_GATEWAY_URL

Both are *class attributes*, i.e. process-global, and must be set before ``client.login()``/``start()``:

* ``Route.BASE`` is read whenever a ``Route`` is built, by the bot HTTP client *and* by the webhook
  adapter used for interaction callbacks/follow-ups (``/interactions/...``, ``/webhooks/...``).
* A plain ``discord.Client`` never calls ``GET /gateway/bot``: it connects straight to
  ``DEFAULT_GATEWAY`` with ``?v=10&encoding=json&compress=...`` (``with_query`` replaces any query
  already on the URL). Resumes go to READY's ``resume_gateway_url``; INVALID_SESSION falls back to
  ``DEFAULT_GATEWAY``. Only ``AutoShardedClient`` asks ``/gateway/bot`` (and then uses its ``url``).
* ``compress`` is ``zstd-stream`` if ``zstandard`` is importable, else ``zlib-stream``; ``Client`` cannot
  turn it off, but discord.py also accepts uncompressed TEXT frames. This fake compresses like Discord
  (binary frames) when it can and falls back to text otherwise.
* Attachment URLs point back at this server (``/attachments/...``), so ``Attachment.read()`` works offline.
* A slash command can carry files (``send_slash_command(..., attachments={"file": FakeAttachment(...)})``):
  the option's value is the attachment id and the file is in ``data.resolved.attachments``, its URL a
  signed CDN-like one on this server (``/ephemeral-attachments/...?ex=&is=&hm=``; a wrong signature is a
  404, as on Discord's CDN). Downloads of those are streamed and recorded in ``downloads`` (``response``:
  sent, complete); ``fail_download`` injects HTTP errors; a declared size that lies is sent without a
  Content-Length.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import re
import socket
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

from tests.fakes.downloads import stream_file

try:  # discord.py asks for zstd-stream when zstandard is importable, zlib-stream otherwise
    import zstandard
except ImportError:  # pragma: no cover
    zstandard = None

DISCORD_EPOCH_MS = 1420070400000
# Permission bits (https://discord.com/developers/docs/topics/permissions)
ADMINISTRATOR, ADD_REACTIONS, VIEW_CHANNEL, SEND_MESSAGES = 1 << 3, 1 << 6, 1 << 10, 1 << 11
MANAGE_MESSAGES, EMBED_LINKS, ATTACH_FILES, READ_MESSAGE_HISTORY = 1 << 13, 1 << 14, 1 << 15, 1 << 16
USE_APPLICATION_COMMANDS, MANAGE_THREADS, CREATE_PUBLIC_THREADS = 1 << 31, 1 << 34, 1 << 35
CREATE_PRIVATE_THREADS, SEND_MESSAGES_IN_THREADS = 1 << 36, 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1
DEFAULT_EVERYONE = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | ADD_REACTIONS
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)
# Gateway intents
GUILD_MESSAGES_INTENT, MESSAGE_CONTENT_INTENT = 1 << 9, 1 << 15
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | MESSAGE_CONTENT_INTENT
EPHEMERAL, LOADING = 1 << 6, 1 << 7
THREAD_TYPES = (10, 11, 12)
OPTION_TYPES = {bool: 5, int: 4, float: 10, str: 3}
ATTACHMENT_OPTION = 11
CDN_SECRET = b"fake-discord-cdn-secret"


def _fixed_id(n: int) -> int:
    """Deterministic snowflake for the pre-built world (2024-01-01 + n)."""
    return ((1704067200000 - DISCORD_EPOCH_MS) << 22) | n


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class RecordedCall:
    """One REST request received by the fake (path is relative to /api/v10)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None  # JSON body, or the parsed ``payload_json`` of a multipart body
    files: list[dict[str, Any]] = field(default_factory=list)  # {field, filename, content_type, data}
    status: int | None = None  # filled in once the fake has answered
    response: Any = None


@dataclass
class FakeAttachment:
    """A file a person attaches to a slash command. ``size``: what Discord declares, if it should differ
    from the data (a lie)."""

    filename: str
    data: bytes
    content_type: str = "application/octet-stream"
    size: int | None = None

    @property
    def declared_size(self) -> int:
        return len(self.data) if self.size is None else self.size


@dataclass
class InteractionRef:
    """What a test gets back from an injected interaction."""

    id: int
    token: str
    type: int
    channel_id: int
    user_id: int
    message_id: int | None = None  # component interactions: the message the component lives on
    response_type: int | None = None
    original_id: int | None = None
    deferral_pending: bool = False

    @property
    def callback_path(self) -> str:
        return f"/interactions/{self.id}/{self.token}/callback"


@dataclass
class _Session:
    ws: web.WebSocketResponse
    compressor: Callable[[bytes], bytes] | None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    session_id: str = ""
    seq: int = 0
    intents: int = 0
    identified: bool = False


def _compressor(kind: str | None) -> Callable[[bytes], bytes] | None:
    """One shared compression context per connection, flushed after every message (as Discord does)."""
    if kind == "zlib-stream":
        z = zlib.compressobj()
        return lambda data: z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    if kind == "zstd-stream" and zstandard is not None:
        c = zstandard.ZstdCompressor().compressobj()
        return lambda data: c.compress(data) + c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
    return None


class HTTPError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.body = status, {"code": code, "message": message}


Handler = Callable[..., Any]
T = TypeVar("T")


@dataclass
class _RestFailure:
    method: str
    path: re.Pattern[str]
    status: int
    times: int
    retry_after: float | None
    via_gateway: bool

    def body(self) -> dict[str, Any]:
        if self.status == 429:
            return {"message": "You are being rate limited.", "retry_after": self.retry_after or 1.0, "global": False}
        return {"code": 0, "message": f"{self.status}: injected failure"}

    def headers(self) -> dict[str, str]:
        headers = {"Via": "1.1 google"} if self.via_gateway else {}
        if self.retry_after is not None:
            headers["Retry-After"] = f"{self.retry_after:g}"
        return headers


class FakeDiscord:
    """In-process fake Discord with one guild. Pre-built world (ids are deterministic snowflakes):

    * ``guild_id``, owned by ``owner_id``;
    * users ``bot_user_id`` (== ``application_id``), ``moderator_id`` (role ``mod_role_id``: MANAGE_MESSAGES,
      MANAGE_THREADS), ``member_id`` (plain member, the default actor) and ``other_bot_id``;
    * text channels ``general_id`` (the default channel), ``help_id`` and ``staff_id`` (moderators only).

    Extend it with ``add_role``/``add_member``/``add_text_channel`` *before* the bot connects: GUILD_CREATE
    is a snapshot taken at IDENTIFY time."""

    def __init__(
        self,
        token: str = "fake-bot-token",
        *,
        heartbeat_interval_ms: int = 41250,
        allowed_intents: int = PRIVILEGED_INTENTS,
        echo_own_messages: bool = True,
    ) -> None:
        """``allowed_intents``: privileged intents "enabled in the developer portal" (else IDENTIFY -> 4014).
        ``echo_own_messages``: like Discord, send MESSAGE_CREATE/UPDATE for the bot's own messages too."""
        self.token, self.heartbeat_interval_ms = token, heartbeat_interval_ms
        self.allowed_intents, self.echo_own_messages = allowed_intents, echo_own_messages
        self.calls: list[RecordedCall] = []
        self.gateway_received: list[dict[str, Any]] = []  # every op the client sent, in order
        self.gateway_connections: list[dict[str, str]] = []  # query params of each websocket connect
        self.identify_payloads: list[dict[str, Any]] = []
        self.messages: dict[int, dict[str, Any]] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}  # guild id (None = global) -> commands
        self.interactions: dict[str, InteractionRef] = {}
        self.blobs: dict[str, bytes] = {}
        self.cdn_files: dict[str, FakeAttachment] = {}  # "ephemeral-attachments/..." path -> file
        self.downloads: list[RecordedCall] = []  # GETs of cdn_files, once answered
        self._download_failures: deque[tuple[str | None, int]] = deque()  # (filename or any, status)
        self._rest_failures: list[_RestFailure] = []  # injected REST errors, first match wins
        self._allowed_mentions: dict[int, Any] = {}
        self._sessions: list[_Session] = []
        self._known_sessions: dict[str, _Session] = {}  # session_id -> latest connection, for RESUME
        self._changed = asyncio.Event()
        self._id_counter = 0
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.guild_id, self.bot_user_id = _fixed_id(1), _fixed_id(2)
        self.application_id = self.bot_user_id
        self.users: dict[int, dict[str, Any]] = {}
        self.members: dict[int, dict[str, Any]] = {}
        self.roles: dict[int, dict[str, Any]] = {}
        self.channels: dict[int, dict[str, Any]] = {}
        self._next_fixed = 100
        self.add_role("@everyone", DEFAULT_EVERYONE, role_id=self.guild_id)
        self.mod_role_id = self.add_role("Moderator", DEFAULT_EVERYONE | MANAGE_MESSAGES | MANAGE_THREADS)
        self.bot_role_id = self.add_role(
            "Readbot",
            DEFAULT_EVERYONE | MANAGE_THREADS | CREATE_PRIVATE_THREADS,
            tags={"bot_id": str(self.bot_user_id)},
        )
        self._add_user(self.bot_user_id, "readbot", bot=True, roles=[self.bot_role_id])
        self.owner_id = self.add_member("owner")
        self.moderator_id = self.add_member("mod", roles=[self.mod_role_id])
        self.member_id = self.add_member("alice")
        self.other_bot_id = self.add_member("otherbot", bot=True)
        self.general_id = self.add_text_channel("general")
        self.help_id = self.add_text_channel("help")
        self.staff_id = self.add_text_channel(
            "staff",
            overwrites=[
                {"id": str(self.guild_id), "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)},
                {"id": str(self.mod_role_id), "type": 0, "allow": str(VIEW_CHANNEL), "deny": "0"},
            ],
        )
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            (m, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", p) + "$"), h)
            for m, p, h in [
                ("GET", "/gateway", self._r_gateway),
                ("GET", "/gateway/bot", self._r_gateway),
                ("GET", "/users/@me", lambda c: self.user_payload(self.bot_user_id)),
                ("GET", "/users/{uid}", lambda c, uid: self.user_payload(int(uid))),
                ("GET", "/oauth2/applications/@me", self._r_app_info),
                ("GET", "/applications/{app}/commands", lambda c, app: self.commands.get(None, [])),
                ("PUT", "/applications/{app}/commands", self._r_put_commands),
                (
                    "GET",
                    "/applications/{app}/guilds/{gid}/commands",
                    lambda c, app, gid: self.commands.get(int(gid), []),
                ),
                ("PUT", "/applications/{app}/guilds/{gid}/commands", self._r_put_commands),
                ("GET", "/guilds/{gid}/members/{uid}", lambda c, gid, uid: self.member_payload(int(uid))),
                ("GET", "/channels/{cid}", lambda c, cid: self._channel(cid)),
                ("POST", "/channels/{cid}/typing", lambda c, cid: None),
                ("GET", "/channels/{cid}/messages", self._r_history),
                ("POST", "/channels/{cid}/messages", self._r_post_message),
                ("GET", "/channels/{cid}/messages/{mid}", lambda c, cid, mid: self._message(mid, cid)),
                ("PATCH", "/channels/{cid}/messages/{mid}", self._r_edit_message),
                ("DELETE", "/channels/{cid}/messages/{mid}", self._r_delete_message),
                ("PUT", "/channels/{cid}/messages/{mid}/reactions/{emoji}/@me", self._r_react),
                ("DELETE", "/channels/{cid}/messages/{mid}/reactions/{emoji}/@me", self._r_react),
                ("POST", "/channels/{cid}/messages/{mid}/threads", self._r_thread_from_message),
                ("POST", "/channels/{cid}/threads", self._r_thread),
                ("POST", "/interactions/{iid}/{token}/callback", self._r_callback),
                ("POST", "/webhooks/{app}/{token}", self._r_followup),
                ("GET", "/webhooks/{app}/{token}/messages/{mid}", self._r_webhook_message),
                ("PATCH", "/webhooks/{app}/{token}/messages/{mid}", self._r_webhook_message),
                ("DELETE", "/webhooks/{app}/{token}/messages/{mid}", self._r_webhook_message),
            ]
        ]

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{tail:.*}", self._cdn)
        app.router.add_get("/ephemeral-attachments/{tail:.*}", self._cdn_download)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        for sess in list(self._sessions):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sess.ws.close(code=1001, message=b"server stopping"), 1.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def patch_discord_py(self) -> contextlib.AbstractContextManager[None]:
        return patch_discord_py(self.api_url, self.gateway_url)

    # ------------------------------------------------------------------ world building
    def _fixed(self) -> int:
        self._next_fixed += 1
        return _fixed_id(self._next_fixed)

    def snowflake(self) -> int:
        self._id_counter += 1
        return ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (self._id_counter & 0x3FFFFF)

    def add_role(self, name: str, permissions: int, *, role_id: int | None = None, **extra: Any) -> int:
        rid = role_id or self._fixed()
        self.roles[rid] = {
            "id": str(rid),
            "name": name,
            "permissions": str(permissions),
            "position": len(self.roles),
            "color": 0,
            "colors": {"primary_color": 0},
            "hoist": False,
            "managed": "tags" in extra,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
            **extra,
        }
        return rid

    def _add_user(self, uid: int, username: str, *, bot: bool, roles: Sequence[int]) -> int:
        self.users[uid] = {
            "id": str(uid),
            "username": username,
            "global_name": None if bot else username.title(),
            "discriminator": "0",
            "avatar": None,
            "bot": bot,
            "system": False,
            "public_flags": 0,
        }
        self.members[uid] = {
            "roles": [str(r) for r in roles],
            "nick": None,
            "avatar": None,
            "joined_at": _now(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        return uid

    def add_member(self, username: str, *, roles: Sequence[int] = (), bot: bool = False) -> int:
        return self._add_user(self._fixed(), username, bot=bot, roles=roles)

    def add_text_channel(self, name: str, *, overwrites: Sequence[dict[str, Any]] = (), type: int = 0) -> int:
        cid = self._fixed()
        self.channels[cid] = {
            "id": str(cid),
            "type": type,
            "guild_id": str(self.guild_id),
            "name": name,
            "position": len(self.channels),
            "permission_overwrites": list(overwrites),
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "last_message_id": None,
            "flags": 0,
        }
        return cid

    def user_payload(self, uid: int) -> dict[str, Any]:
        if uid not in self.users:
            raise HTTPError(404, 10013, "Unknown User")
        return dict(self.users[uid])

    def member_payload(self, uid: int, *, with_user: bool = True, channel_id: int | None = None) -> dict[str, Any]:
        if uid not in self.members:
            raise HTTPError(404, 10007, "Unknown Member")
        m = dict(self.members[uid])
        if with_user:
            m["user"] = self.user_payload(uid)
        if channel_id is not None:
            m["permissions"] = str(self.permissions_for(uid, channel_id))
        return m

    def permissions_for(self, uid: int, channel_id: int | None = None) -> int:
        """Discord's permission algorithm: @everyone + roles, then the channel's overwrites
        (the parent's, for threads)."""
        if uid == self.owner_id:
            return ALL_PERMISSIONS
        role_ids = [int(r) for r in self.members[uid]["roles"]]
        perms = 0
        for rid in [self.guild_id, *role_ids]:
            perms |= int(self.roles[rid]["permissions"])
        if perms & ADMINISTRATOR:
            return ALL_PERMISSIONS
        if channel_id is None:
            return perms
        ch = self.channels[channel_id]
        if ch["type"] in THREAD_TYPES:
            ch = self.channels[int(ch["parent_id"])]
        ows = {int(o["id"]): (int(o["allow"]), int(o["deny"])) for o in ch["permission_overwrites"]}
        allow, deny = ows.get(self.guild_id, (0, 0))
        perms = (perms & ~deny) | allow
        allow = deny = 0
        for rid in role_ids:
            a, d = ows.get(rid, (0, 0))
            allow, deny = allow | a, deny | d
        perms = (perms & ~deny) | allow
        allow, deny = ows.get(uid, (0, 0))
        return (perms & ~deny) | allow

    def guild_create_payload(self) -> dict[str, Any]:
        channels = [c for c in self.channels.values() if c["type"] not in THREAD_TYPES]
        threads = [c for c in self.channels.values() if c["type"] in THREAD_TYPES]
        return {
            "id": str(self.guild_id),
            "name": "Readbot Test Guild",
            "icon": None,
            "owner_id": str(self.owner_id),
            "unavailable": False,
            "large": False,
            "member_count": len(self.members),
            "joined_at": _now(),
            "roles": list(self.roles.values()),
            "channels": channels,
            "threads": threads,
            "members": [self.member_payload(u) for u in self.members],
            "emojis": [],
            "stickers": [],
            "features": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "afk_timeout": 300,
            "afk_channel_id": None,
            "application_id": None,
        }

    def _channel(self, cid: int | str) -> dict[str, Any]:
        try:
            return self.channels[int(cid)]
        except KeyError:
            raise HTTPError(404, 10003, "Unknown Channel") from None

    def _message(self, mid: int | str, cid: int | str | None = None) -> dict[str, Any]:
        msg = self.messages.get(int(mid))
        if msg is None or (cid is not None and msg["channel_id"] != str(cid)):
            raise HTTPError(404, 10008, "Unknown Message")
        return msg

    def messages_in(self, channel_id: int) -> list[dict[str, Any]]:
        """Messages currently in a channel or thread, oldest first (ephemeral ones included, flagged 64)."""
        return [m for m in self.messages.values() if m["channel_id"] == str(channel_id)]

    # ------------------------------------------------------------------ waiting
    def _notify(self) -> None:
        self._changed.set()

    async def _wait(self, find: Callable[[], T | None], timeout: float, describe: Callable[[], str]) -> T:
        async def poll() -> T:
            while True:
                self._changed.clear()
                if (found := find()) is not None:
                    return found
                await self._changed.wait()

        try:
            return await asyncio.wait_for(poll(), timeout)
        except TimeoutError:
            raise AssertionError(f"nothing matched within {timeout}s; {describe()}") from None

    async def wait_for_call(
        self, predicate: Callable[[RecordedCall], bool], timeout: float = 5.0, *, answered: bool = True
    ) -> RecordedCall:
        """First recorded call (oldest first) matching ``predicate``; by default only once it has been
        answered (so ``status``/``response`` are set)."""
        return await self._wait(
            lambda: next((c for c in self.calls if (c.status is not None or not answered) and predicate(c)), None),
            timeout,
            lambda: "REST calls:\n  " + "\n  ".join(f"{c.method} {c.path} -> {c.status}" for c in self.calls),
        )

    async def wait_for_message(
        self, channel_id: int, predicate: Callable[[dict[str, Any]], bool] = lambda m: True, timeout: float = 5.0
    ) -> dict[str, Any]:
        return await self._wait(
            lambda: next((m for m in self.messages_in(channel_id) if predicate(m)), None),
            timeout,
            lambda: f"messages in {channel_id}: {self.messages_in(channel_id)}",
        )

    async def wait_for_interaction_response(self, ref: InteractionRef, timeout: float = 5.0) -> RecordedCall:
        return await self.wait_for_call(lambda c: c.method == "POST" and c.path == ref.callback_path, timeout)

    # ------------------------------------------------------------------ REST plumbing
    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        call = RecordedCall(request.method, path, dict(request.query), dict(request.headers))
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()  # type: ignore[union-attr]
                if part.name == "payload_json":
                    call.json = json.loads(data)
                else:
                    call.files.append(
                        {
                            "field": part.name,
                            "filename": part.filename,
                            "data": bytes(data),
                            "content_type": part.headers.get("Content-Type"),
                        }
                    )
        elif request.can_read_body:
            raw = await request.read()
            call.json = json.loads(raw) if raw else None
        self.calls.append(call)
        self._notify()
        failure = next((f for f in self._rest_failures if f.method == request.method and f.path.fullmatch(path)), None)
        if failure is not None:
            failure.times -= 1
            if failure.times <= 0:
                self._rest_failures.remove(failure)
            call.status, call.response = failure.status, failure.body()
            self._notify()
            return web.Response(
                status=failure.status,
                body=json.dumps(call.response).encode(),
                content_type="application/json",
                headers=failure.headers(),
            )
        status: int = 404
        body: Any = {"code": 0, "message": f"404: Not Found (fake has no route {request.method} {path})"}
        try:
            token_authed = path.startswith(("/interactions/", "/webhooks/"))  # these carry no bot token
            if not token_authed and call.headers.get("Authorization") != f"Bot {self.token}":
                raise HTTPError(401, 0, "401: Unauthorized")
            for method, pattern, handler in self._routes:
                match = pattern.match(path)
                if method == request.method and match:
                    result = handler(call, **match.groupdict())
                    body = await result if asyncio.iscoroutine(result) else result
                    status = 200 if body is not None else 204
                    break
        except HTTPError as exc:
            status, body = exc.status, exc.body
        call.status, call.response = status, body
        self._notify()
        if status == 204:
            return web.Response(status=204)
        # discord.py's json_or_text() only parses a Content-Type of exactly "application/json" (no charset)
        return web.Response(status=status, body=json.dumps(body).encode(), content_type="application/json")

    async def _cdn(self, request: web.Request) -> web.Response:
        data = self.blobs.get(request.match_info["tail"])
        return web.Response(body=data) if data is not None else web.Response(status=404)

    # ------------------------------------------------------------------ injected REST errors
    def fail(
        self,
        method: str,
        path: str,
        *,
        status: int = 503,
        times: int = 1,
        retry_after: float | None = None,
        via_gateway: bool = False,
    ) -> None:
        """The next ``times`` REST calls ``method`` on a path fully matching the regex ``path`` answer
        HTTP ``status`` with Discord's error body. A 429 carries ``Retry-After`` (and ``retry_after`` in
        the body); ``via_gateway=False`` leaves out the ``Via`` header, as a rate limit from in front of
        Discord's API does (discord.py raises it at once instead of sleeping it out itself). Note that
        discord.py retries 500, 502, 504 and 524 itself (sleeping); 503 reaches the caller at once."""
        self._rest_failures.append(_RestFailure(method, re.compile(path), status, times, retry_after, via_gateway))

    # ------------------------------------------------------------------ files attached to commands
    def fail_download(self, filename: str | None = None, *, status: int = 500, times: int = 1) -> None:
        """The next ``times`` downloads (of ``filename``, or of any attached file) answer HTTP ``status``."""
        self._download_failures.extend([(filename, status)] * times)

    def _signature(self, path: str, issued: str, expires: str) -> str:
        return hmac.new(CDN_SECRET, f"{path}:{issued}:{expires}".encode(), hashlib.sha256).hexdigest()

    def attach(self, file: FakeAttachment) -> dict[str, Any]:
        """Store ``file`` on the fake CDN; returns its attachment object (as in ``resolved.attachments``)."""
        aid = self.snowflake()
        path = f"/ephemeral-attachments/{self.application_id}/{aid}/{file.filename}"
        issued = f"{int(time.time()):x}"
        expires = f"{int(time.time()) + 86400:x}"
        self.cdn_files[path] = file
        url = f"{self.base_url}{path}?ex={expires}&is={issued}&hm={self._signature(path, issued, expires)}&"
        return {
            "id": str(aid),
            "filename": file.filename,
            "size": file.declared_size,
            "url": url,
            "proxy_url": url.replace(self.base_url, f"{self.base_url}/media", 1),
            "content_type": file.content_type,
            "ephemeral": True,
        }

    async def _cdn_download(self, request: web.Request) -> web.StreamResponse:
        path, query = request.path, request.query
        call = RecordedCall("GET", path, dict(query), dict(request.headers), response={"sent": 0, "complete": False})
        file = self.cdn_files.get(path)
        signed = hmac.compare_digest(
            query.get("hm", ""), self._signature(path, query.get("is", ""), query.get("ex", ""))
        )
        failure = next((f for f in self._download_failures if file is not None and f[0] in (None, file.filename)), None)
        if failure is not None:
            self._download_failures.remove(failure)
            call.status = failure[1]
        elif file is None or not signed:
            call.status = 404  # Discord's CDN: "This content is no longer available."
        if call.status is not None:
            self.downloads.append(call)
            self._notify()
            return web.Response(status=call.status, text="This content is no longer available.")
        assert file is not None
        call.status = 200
        try:
            return await stream_file(request, file.data, file.content_type, file.size, call.response)
        finally:
            self.downloads.append(call)
            self._notify()

    async def wait_for_download(
        self, predicate: Callable[[RecordedCall], bool] = lambda c: True, timeout: float = 5.0
    ) -> RecordedCall:
        """First answered download of an attached file matching ``predicate``."""
        return await self._wait(
            lambda: next((c for c in self.downloads if predicate(c)), None),
            timeout,
            lambda: "downloads:\n  " + "\n  ".join(f"{c.path} -> {c.status} {c.response}" for c in self.downloads),
        )

    def _r_gateway(self, call: RecordedCall) -> dict[str, Any]:
        return {
            "url": self.gateway_url,
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1},
        }

    def _r_app_info(self, call: RecordedCall) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": "readbot",
            "icon": None,
            "description": "",
            "summary": "",
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": 0,
            "owner": self.user_payload(self.owner_id),
            "team": None,
            "rpc_origins": [],
            "interactions_endpoint_url": None,
            "bot": self.user_payload(self.bot_user_id),
        }

    def _r_put_commands(self, call: RecordedCall, app: str, gid: str | None = None) -> list[dict[str, Any]]:
        guild = int(gid) if gid else None
        old = {c["name"]: c["id"] for c in self.commands.get(guild, [])}
        out = []
        for cmd in call.json or []:
            out.append(
                {
                    "type": 1,
                    "description": "",  # what Discord answers for a context-menu command
                    "options": [],
                    "default_member_permissions": None,
                    "nsfw": False,
                    **cmd,
                    "id": old.get(cmd["name"]) or str(self.snowflake()),
                    "application_id": app,
                    "version": str(self.snowflake()),
                    **({"guild_id": gid} if gid else {}),
                }
            )
        self.commands[guild] = out
        return out

    def _r_history(self, call: RecordedCall, cid: str) -> list[dict[str, Any]]:
        self._channel(cid)
        msgs = sorted(self.messages_in(int(cid)), key=lambda m: int(m["id"]), reverse=True)
        if "before" in call.query:
            msgs = [m for m in msgs if int(m["id"]) < int(call.query["before"])]
        if "after" in call.query:
            msgs = [m for m in msgs if int(m["id"]) > int(call.query["after"])]
        return msgs[: int(call.query.get("limit", 50))]

    def _require(self, cid: int, perms: int) -> None:
        if self.permissions_for(self.bot_user_id, cid) & perms != perms:
            raise HTTPError(403, 50013, "Missing Permissions")

    async def _r_post_message(self, call: RecordedCall, cid: str) -> dict[str, Any]:
        ch = self._channel(cid)
        in_thread = ch["type"] in THREAD_TYPES
        self._require(int(cid), VIEW_CHANNEL | (SEND_MESSAGES_IN_THREADS if in_thread else SEND_MESSAGES))
        return await self.create_message(int(cid), self.bot_user_id, call.json or {}, call.files)

    async def _r_edit_message(self, call: RecordedCall, cid: str, mid: str) -> dict[str, Any]:
        msg = self._message(mid, cid)
        if msg["author"]["id"] != str(self.bot_user_id):
            raise HTTPError(403, 50005, "Cannot edit a message authored by another user")
        return await self._edit_message(msg, call.json or {}, call.files)

    async def _r_delete_message(self, call: RecordedCall, cid: str, mid: str) -> None:
        msg = self._message(mid, cid)
        if msg["author"]["id"] != str(self.bot_user_id):
            self._require(int(cid), MANAGE_MESSAGES)
        await self._delete_message(msg)

    def _r_react(self, call: RecordedCall, cid: str, mid: str, emoji: str) -> None:
        self._message(mid, cid)

    async def _r_thread_from_message(self, call: RecordedCall, cid: str, mid: str) -> dict[str, Any]:
        msg = self._message(mid, cid)
        if int(mid) in self.channels:
            raise HTTPError(400, 160004, "A thread has already been created for this message")
        self._require(int(cid), CREATE_PUBLIC_THREADS)
        thread = await self.create_thread(
            int(cid), (call.json or {})["name"], owner=self.bot_user_id, thread_id=int(mid), type=11
        )
        msg["thread"] = thread
        return thread

    async def _r_thread(self, call: RecordedCall, cid: str) -> dict[str, Any]:
        body = call.json or {}
        self._channel(cid)
        kind = body.get("type", 12)
        self._require(int(cid), CREATE_PUBLIC_THREADS if kind != 12 else CREATE_PRIVATE_THREADS)
        return await self.create_thread(int(cid), body["name"], owner=self.bot_user_id, type=kind)

    # ------------------------------------------------------------------ messages & threads
    def _attachments(
        self, cid: int, body: Mapping[str, Any], files: Sequence[Mapping[str, Any]], keep: Sequence[dict[str, Any]] = ()
    ) -> list[dict[str, Any]]:
        by_field = {f["field"]: f for f in files}
        kept = {a["id"]: a for a in keep}
        out: list[dict[str, Any]] = []
        for att in body.get("attachments", [{"id": i} for i in range(len(files))]):
            if str(att["id"]) in kept:
                out.append(kept[str(att["id"])])
                continue
            f = by_field.get(f"files[{att['id']}]")
            if f is None:
                continue
            aid, filename = self.snowflake(), att.get("filename") or f["filename"]
            self.blobs[f"{cid}/{aid}/{filename}"] = f["data"]
            url = f"{self.base_url}/attachments/{cid}/{aid}/{filename}"
            out.append(
                {
                    "id": str(aid),
                    "filename": filename,
                    "size": len(f["data"]),
                    "url": url,
                    "proxy_url": url,
                    "content_type": f.get("content_type"),
                    "description": att.get("description"),
                }
            )
        return out

    def _mentions(self, content: str, allowed: Mapping[str, Any] | None, ref: dict[str, Any] | None) -> dict[str, Any]:
        """What Discord would actually ping, honouring allowed_mentions (None = Discord's defaults)."""
        parse = set(allowed.get("parse", [])) if allowed is not None else {"users", "roles", "everyone"}
        users = {str(u) for u in (allowed or {}).get("users", [])}
        roles = {str(r) for r in (allowed or {}).get("roles", [])}
        uids = [u for u in re.findall(r"<@!?(\d+)>", content) if "users" in parse or u in users]
        if ref is not None and (allowed is None or allowed.get("replied_user")):
            uids.append(ref["author"]["id"])
        mentioned = [self.user_payload(int(u)) for u in dict.fromkeys(uids) if int(u) in self.users]
        everyone = "everyone" in parse and bool(re.search(r"@(everyone|here)", content))
        return {
            "mentions": mentioned,
            "mention_everyone": everyone,
            "mention_roles": [r for r in re.findall(r"<@&(\d+)>", content) if "roles" in parse or r in roles],
        }

    async def create_message(
        self,
        channel_id: int,
        author_id: int,
        body: Mapping[str, Any],
        files: Sequence[Mapping[str, Any]] = (),
        *,
        extra: Mapping[str, Any] | None = None,
        echo: bool = True,
    ) -> dict[str, Any]:
        """Store a message (as Discord would build it from a create-message ``body``) and emit
        MESSAGE_CREATE."""
        ch = self._channel(channel_id)
        mid = self.snowflake()
        ref_data = body.get("message_reference")
        ref = self.messages.get(int(ref_data["message_id"])) if ref_data else None
        if ref_data and ref is None and ref_data.get("fail_if_not_exists", True):
            raise HTTPError(400, 50035, "Invalid Form Body: Unknown message (message_reference)")
        msg: dict[str, Any] = {
            "id": str(mid),
            "channel_id": str(channel_id),
            "guild_id": str(self.guild_id),
            "author": self.user_payload(author_id),
            "member": self.member_payload(author_id, with_user=False),
            "content": body.get("content") or "",
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "pinned": False,
            "type": 19 if ref else 0,
            "flags": body.get("flags", 0),
            "embeds": body.get("embeds", []),
            "components": body.get("components", []),
            "attachments": self._attachments(channel_id, body, files),
            "sticker_items": [],
            "nonce": body.get("nonce"),
            **self._mentions(body.get("content") or "", body.get("allowed_mentions"), ref),
        }
        if ref_data:
            ids = {k: str(ref_data[k]) for k in ("message_id", "channel_id", "guild_id") if ref_data.get(k)}
            msg["message_reference"] = {"type": 0, "channel_id": str(channel_id), "guild_id": str(self.guild_id), **ids}
            # Discord nests the referenced message only one level deep
            msg["referenced_message"] = ref and {k: v for k, v in ref.items() if k != "referenced_message"}
        msg.update(extra or {})
        self.messages[mid] = msg
        self._allowed_mentions[mid] = body.get("allowed_mentions")
        ch["last_message_id"] = str(mid)
        if ch["type"] in THREAD_TYPES:
            ch["message_count"] += 1
            ch["total_message_sent"] += 1
        self._notify()
        if echo and not msg["flags"] & EPHEMERAL and self._echoes(author_id):
            await self._dispatch("MESSAGE_CREATE", msg)
        return msg

    def _echoes(self, author_id: int) -> bool:
        """Discord also sends the bot its own messages; ``echo_own_messages=False`` turns that off."""
        return author_id != self.bot_user_id or self.echo_own_messages

    async def _edit_message(
        self, msg: dict[str, Any], body: Mapping[str, Any], files: Sequence[Mapping[str, Any]] = ()
    ) -> dict[str, Any]:
        for key in ("content", "embeds", "components", "flags"):
            if key in body and body[key] is not None:
                msg[key] = body[key]
        if "attachments" in body or files:
            msg["attachments"] = self._attachments(int(msg["channel_id"]), body, files, keep=msg["attachments"])
        if "content" in body or "allowed_mentions" in body:
            allowed = self._allowed_mentions[int(msg["id"])] = body.get(
                "allowed_mentions", self._allowed_mentions.get(int(msg["id"]))
            )
            msg.update(self._mentions(msg["content"], allowed, msg.get("referenced_message")))
        msg["edited_timestamp"] = _now()
        self._notify()
        if not msg["flags"] & EPHEMERAL and self._echoes(int(msg["author"]["id"])):
            await self._dispatch("MESSAGE_UPDATE", msg)
        return msg

    async def _delete_message(self, msg: dict[str, Any]) -> None:
        del self.messages[int(msg["id"])]
        self._notify()
        await self._dispatch(
            "MESSAGE_DELETE", {"id": msg["id"], "channel_id": msg["channel_id"], "guild_id": str(self.guild_id)}
        )

    async def create_thread(
        self, parent_id: int, name: str, *, owner: int | None = None, thread_id: int | None = None, type: int = 11
    ) -> dict[str, Any]:
        """Create a thread (as a user or the bot) and emit THREAD_CREATE. Returns the thread channel
        object."""
        tid, now = thread_id or self.snowflake(), _now()
        thread = {
            "id": str(tid),
            "guild_id": str(self.guild_id),
            "parent_id": str(parent_id),
            "owner_id": str(owner or self.member_id),
            "name": name,
            "type": type,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "rate_limit_per_user": 0,
            "flags": 0,
            "permission_overwrites": [],
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": now,
                "locked": False,
                "create_timestamp": now,
                "invitable": True,
            },
        }
        self.channels[tid] = thread
        self._notify()
        await self._dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return thread

    # ------------------------------------------------------------------ injecting user activity
    async def send_message(
        self,
        channel_id: int | None = None,
        content: str = "",
        *,
        author: int | None = None,
        mentions_bot: bool = False,
        reply_to: int | None = None,
        attachments: Sequence[tuple[str, bytes]] = (),
        embeds: Sequence[dict[str, Any]] = (),
    ) -> dict[str, Any]:
        """A user (default: ``member_id``) posts in a channel or thread -> MESSAGE_CREATE.
        Returns the stored message."""
        if mentions_bot and f"<@{self.bot_user_id}>" not in content:
            content = f"<@{self.bot_user_id}> {content}".strip()
        body: dict[str, Any] = {"content": content, "embeds": list(embeds)}
        if reply_to is not None:
            body["message_reference"] = {"message_id": str(reply_to)}
        files = [
            {"field": f"files[{i}]", "filename": n, "data": d, "content_type": None}
            for i, (n, d) in enumerate(attachments)
        ]
        self._require_connected()
        return await self.create_message(channel_id or self.general_id, author or self.member_id, body, files)

    def _require_connected(self) -> None:
        if not any(s.identified for s in self._sessions):
            raise RuntimeError("no bot is connected to the fake gateway")

    async def _interaction(
        self,
        type: int,
        data: dict[str, Any],
        user: int | None,
        channel_id: int | None,
        message: dict[str, Any] | None = None,
    ) -> InteractionRef:
        """Emit INTERACTION_CREATE shaped like Discord's for a guild channel (with member.permissions
        and app_permissions)."""
        self._require_connected()
        uid, cid = user or self.member_id, channel_id or self.general_id
        iid = self.snowflake()
        ref = InteractionRef(
            iid, f"fake-interaction-token-{iid}", type, cid, uid, int(message["id"]) if message else None
        )
        self.interactions[ref.token] = ref
        payload = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": type,
            "data": data,
            "guild_id": str(self.guild_id),
            "guild": {"id": str(self.guild_id), "locale": "en-US", "features": []},
            "channel_id": str(cid),
            "channel": self._channel(cid),
            "token": ref.token,
            "version": 1,
            "member": self.member_payload(uid, channel_id=cid),
            "app_permissions": str(self.permissions_for(self.bot_user_id, cid)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "context": 0,
            "authorizing_integration_owners": {"0": str(self.guild_id)},
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = message
        await self._dispatch("INTERACTION_CREATE", payload)
        return ref

    def _command_data(
        self,
        name: str,
        options: Mapping[str, Any] | Sequence[dict[str, Any]] | None,
        focused: str | None = None,
        attachments: Mapping[str, FakeAttachment] | None = None,
    ) -> dict[str, Any]:
        cmd, guild = next(((c, g) for g, cmds in self.commands.items() for c in cmds if c["name"] == name), ({}, None))
        schema = {o["name"]: o for o in cmd.get("options", [])}
        resolved: dict[str, dict[str, Any]] = {}
        if isinstance(options, Mapping):
            opts = []
            for key, value in options.items():
                otype = schema.get(key, {}).get("type") or OPTION_TYPES.get(type(value), 3)
                # USER / CHANNEL / ROLE options carry only an id; the objects travel in data.resolved
                if otype == 6:
                    resolved.setdefault("users", {})[str(value)] = self.user_payload(int(value))
                    member = self.member_payload(int(value), with_user=False)
                    resolved.setdefault("members", {})[str(value)] = member
                elif otype == 7:
                    resolved.setdefault("channels", {})[str(value)] = self._channel(value)
                elif otype == 8:
                    resolved.setdefault("roles", {})[str(value)] = self.roles[int(value)]
                opt = {"name": key, "type": otype, "value": str(value) if otype in (6, 7, 8) else value}
                if key == focused:
                    opt.update(focused=True, value=str(value))
                opts.append(opt)
        else:
            opts = list(options or [])
        for key, file in (attachments or {}).items():  # ATTACHMENT options: the id; the file in resolved
            attachment = self.attach(file)
            resolved.setdefault("attachments", {})[attachment["id"]] = attachment
            opts.append({"name": key, "type": ATTACHMENT_OPTION, "value": attachment["id"]})
        data = {"id": cmd.get("id", str(self.snowflake())), "name": name, "type": 1, "options": opts}
        if guild is not None:
            data["guild_id"] = str(guild)
        if resolved:
            data["resolved"] = resolved
        return data

    async def send_slash_command(
        self,
        name: str,
        options: Mapping[str, Any] | Sequence[dict[str, Any]] | None = None,
        *,
        user: int | None = None,
        channel_id: int | None = None,
        attachments: Mapping[str, FakeAttachment] | None = None,
    ) -> InteractionRef:
        """INTERACTION_CREATE type 2. ``options`` is {name: value} (types taken from the synced command, else
        inferred) or a raw option list (for subcommands); ``attachments`` is {option name: file}, each an
        attachment option (type 11) with the file in ``data.resolved.attachments``."""
        return await self._interaction(2, self._command_data(name, options, attachments=attachments), user, channel_id)

    async def send_message_command(
        self, name: str, message_id: int, *, user: int | None = None, channel_id: int | None = None
    ) -> InteractionRef:
        """A message context-menu command (Apps → ``name`` on a message): INTERACTION_CREATE type 2 with
        ``data.type`` 3, ``target_id`` the message and the message itself in ``data.resolved.messages``
        (its content included whatever the intents, as Discord sends it). The command must be synced."""
        message = self.messages[int(message_id)]
        cmd, guild = next(
            ((c, g) for g, cmds in self.commands.items() for c in cmds if c["name"] == name and c.get("type") == 3),
            (None, None),
        )
        if cmd is None:
            raise KeyError(f"no message command {name!r} was synced")
        data: dict[str, Any] = {
            "id": cmd["id"],
            "name": name,
            "type": 3,
            "target_id": str(message_id),
            "resolved": {"messages": {str(message_id): message}},
        }
        if guild is not None:
            data["guild_id"] = str(guild)
        return await self._interaction(2, data, user, channel_id or int(message["channel_id"]))

    async def send_autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        user: int | None = None,
        channel_id: int | None = None,
    ) -> InteractionRef:
        """INTERACTION_CREATE type 4; the bot answers with callback type 8 (``data.choices``)."""
        return await self._interaction(4, self._command_data(name, options, focused), user, channel_id)

    async def click_button(self, message_id: int, custom_id: str, *, user: int | None = None) -> InteractionRef:
        """INTERACTION_CREATE type 3 (component_type 2) on a stored message."""
        return await self._component(message_id, {"custom_id": custom_id, "component_type": 2}, user)

    async def select_menu(
        self,
        message_id: int,
        custom_id: str,
        values: Sequence[str],
        *,
        user: int | None = None,
        component_type: int = 3,
    ) -> InteractionRef:
        return await self._component(
            message_id, {"custom_id": custom_id, "component_type": component_type, "values": list(values)}, user
        )

    async def _component(self, message_id: int, data: dict[str, Any], user: int | None) -> InteractionRef:
        msg = self._message(message_id)
        return await self._interaction(3, data, user, int(msg["channel_id"]), msg)

    async def submit_modal(
        self,
        custom_id: str,
        values: Mapping[str, str],
        *,
        user: int | None = None,
        channel_id: int | None = None,
        message_id: int | None = None,
    ) -> InteractionRef:
        """INTERACTION_CREATE type 5: ``values`` maps text-input custom_id -> submitted text."""
        data = {
            "custom_id": custom_id,
            "components": [
                {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]} for k, v in values.items()
            ],
        }
        msg = self._message(message_id) if message_id is not None else None
        return await self._interaction(5, data, user, channel_id, msg)

    # ------------------------------------------------------------------ interaction responses
    def _ref(self, token: str, app: str | None = None) -> InteractionRef:
        ref = self.interactions.get(token)
        if ref is None or (app is not None and app != str(self.application_id)):
            raise HTTPError(404, 10015, "Unknown Webhook")
        return ref

    async def _r_callback(self, call: RecordedCall, iid: str, token: str) -> dict[str, Any] | None:
        ref = self.interactions.get(token)
        if ref is None or str(ref.id) != iid:
            raise HTTPError(404, 10062, "Unknown interaction")
        if ref.response_type is not None:
            raise HTTPError(400, 40060, "Interaction has already been acknowledged.")
        body = call.json or {}
        rtype, data = body["type"], body.get("data") or {}
        ref.response_type = rtype
        resource: dict[str, Any] = {"type": rtype}
        if rtype in (4, 5):
            flags = data.get("flags", 0) if rtype == 4 else (data.get("flags", 0) & EPHEMERAL) | LOADING
            extra = {
                "webhook_id": str(self.application_id),
                "application_id": str(self.application_id),
                "type": 20 if ref.type == 2 else 0,
                "interaction_metadata": {
                    "id": str(ref.id),
                    "type": ref.type,
                    "user": self.user_payload(ref.user_id),
                    "authorizing_integration_owners": {"0": str(self.guild_id)},
                },
            }
            msg = await self.create_message(
                ref.channel_id, self.bot_user_id, {**data, "flags": flags}, call.files, extra=extra
            )
            ref.original_id, ref.deferral_pending = int(msg["id"]), rtype == 5
            resource["message"] = msg
        elif rtype in (6, 7) and ref.message_id is not None:
            ref.original_id = ref.message_id
            if rtype == 7:
                message = self._message(ref.message_id)
                resource["message"] = await self._edit_message(message, data, call.files)
        orig = self.messages.get(ref.original_id or 0)
        if call.query.get("with_response") not in ("1", "true", "True"):
            return None
        return {
            "interaction": {
                "id": str(ref.id),
                "type": ref.type,
                "response_message_id": str(ref.original_id) if ref.original_id else None,
                "response_message_loading": rtype == 5,
                "response_message_ephemeral": bool(orig and orig["flags"] & EPHEMERAL),
            },
            "resource": resource,
        }

    async def _r_followup(self, call: RecordedCall, app: str, token: str) -> dict[str, Any] | None:
        ref = self._ref(token, app)
        if ref.response_type is None:
            raise HTTPError(404, 10015, "Unknown Webhook")  # follow-ups need an initial response first
        body = dict(call.json or {})
        if ref.deferral_pending and ref.original_id is not None:
            # Discord: the first follow-up after a type-5 defer replaces the "is thinking..." message.
            ref.deferral_pending = False
            orig = self._message(ref.original_id)
            body["flags"] = orig["flags"] & ~LOADING
            msg = await self._edit_message(orig, body, call.files)
        else:
            msg = await self.create_message(
                ref.channel_id,
                self.bot_user_id,
                body,
                call.files,
                extra={"webhook_id": str(self.application_id), "application_id": str(self.application_id)},
            )
        return msg if call.query.get("wait", "false").lower() in ("1", "true") else None

    async def _r_webhook_message(self, call: RecordedCall, app: str, token: str, mid: str) -> dict[str, Any] | None:
        ref = self._ref(token, app)
        msg_id = ref.original_id if mid == "@original" else int(mid)
        msg = self._message(msg_id or 0)
        if call.method == "GET":
            return msg
        if call.method == "DELETE":
            if mid == "@original":
                ref.deferral_pending = False  # Discord: follow-ups after that create new messages
            await self._delete_message(msg)
            return None
        body = dict(call.json or {})
        if mid == "@original" and ref.deferral_pending:
            ref.deferral_pending = False
            body["flags"] = msg["flags"] & ~LOADING
        return await self._edit_message(msg, body, call.files)

    # ------------------------------------------------------------------ gateway
    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self.gateway_connections.append(dict(request.query))
        sess = _Session(ws, _compressor(request.query.get("compress")))
        self._sessions.append(sess)
        try:
            await self._send(sess, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    payload = json.loads(msg.data)
                    self.gateway_received.append(payload)
                    self._notify()
                    await self._on_op(sess, payload)
        finally:
            self._sessions.remove(sess)
        return ws

    async def _on_op(self, sess: _Session, payload: dict[str, Any]) -> None:
        op, d = payload.get("op"), payload.get("d")
        if op == 1:  # HEARTBEAT
            await self._send(sess, {"op": 11})
        elif op == 2:  # IDENTIFY
            self.identify_payloads.append(d)
            if d.get("token") != self.token:
                await sess.ws.close(code=4004, message=b"Authentication failed.")
                return
            if d.get("intents", 0) & PRIVILEGED_INTENTS & ~self.allowed_intents:
                await sess.ws.close(code=4014, message=b"Disallowed intent(s).")
                return
            sess.intents, sess.identified = d.get("intents", 0), True
            sess.session_id = f"fake-session-{self.snowflake()}"
            self._known_sessions[sess.session_id] = sess
            await self._send_dispatch(
                sess,
                "READY",
                {
                    "v": 10,
                    "user": {**self.user_payload(self.bot_user_id), "verified": True, "mfa_enabled": False, "flags": 0},
                    "guilds": [{"id": str(self.guild_id), "unavailable": True}],
                    "session_id": sess.session_id,
                    "resume_gateway_url": self.gateway_url,
                    "shard": d.get("shard", [0, 1]),
                    "application": {"id": str(self.application_id), "flags": 0},
                    "private_channels": [],
                    "relationships": [],
                    "presences": [],
                    "guild_join_requests": [],
                    "geo_ordered_rtc_regions": [],
                },
            )
            await self._send_dispatch(sess, "GUILD_CREATE", self.guild_create_payload())
        elif op == 6:  # RESUME: no replay of missed events, just carry on with the old sequence
            old = self._known_sessions.get(d.get("session_id", ""))
            if d.get("token") == self.token and old is not None:
                sess.session_id, sess.seq, sess.intents = old.session_id, old.seq, old.intents
                sess.identified = True
                old.identified = False  # the previous connection must not receive events any more
                self._known_sessions[sess.session_id] = sess
                await self._send_dispatch(sess, "RESUMED", {})
            else:
                await self._send(sess, {"op": 9, "d": False})
        elif op == 8:  # REQUEST_GUILD_MEMBERS
            wanted = {str(u) for u in (d.get("user_ids") or [])}
            query = (d.get("query") or "").lower()
            members = [
                self.member_payload(u)
                for u in self.members
                if (not wanted or str(u) in wanted) and self.users[u]["username"].startswith(query)
            ]
            await self._send_dispatch(
                sess,
                "GUILD_MEMBERS_CHUNK",
                {
                    "guild_id": d["guild_id"],
                    "members": members,
                    "chunk_index": 0,
                    "chunk_count": 1,
                    "not_found": [],
                    "nonce": d.get("nonce"),
                },
            )

    async def _send(self, sess: _Session, payload: dict[str, Any]) -> None:
        data = json.dumps(payload)
        async with sess.lock:
            if sess.ws.closed:
                return
            if sess.compressor is not None:
                await sess.ws.send_bytes(sess.compressor(data.encode()))
            else:
                await sess.ws.send_str(data)

    async def _send_dispatch(self, sess: _Session, event: str, data: dict[str, Any]) -> None:
        sess.seq += 1
        await self._send(sess, {"op": 0, "t": event, "s": sess.seq, "d": data})

    async def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        for sess in list(self._sessions):
            if not sess.identified:
                continue
            if event.startswith("MESSAGE_") and not sess.intents & GUILD_MESSAGES_INTENT:
                continue
            payload = data
            if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not self._sees_content(sess, data):
                payload = {**data, "content": "", "embeds": [], "attachments": [], "components": []}
            await self._send_dispatch(sess, event, payload)

    def _sees_content(self, sess: _Session, msg: dict[str, Any]) -> bool:
        bot = str(self.bot_user_id)
        return (
            bool(sess.intents & MESSAGE_CONTENT_INTENT)
            or msg["author"]["id"] == bot
            or any(u["id"] == bot for u in msg.get("mentions", []))
        )

    async def reconnect_clients(self) -> None:
        """Send op 7 RECONNECT to every client (it should come back and RESUME)."""
        for sess in list(self._sessions):
            await self._send(sess, {"op": 7, "d": None})


@contextlib.contextmanager
def patch_discord_py(api_url: str, gateway_url: str) -> Iterator[None]:
    """Point discord.py (process-wide) at another REST base / gateway; restores the originals on exit."""
    import discord.gateway
    import discord.http
    import yarl

    old = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = api_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old


class ExternalNetworkBlocked(RuntimeError):
    """Raised on non-local network use (deliberately not an OSError: discord.py would swallow and retry
    those)."""


@contextlib.contextmanager
def block_external_network() -> Iterator[list[str]]:
    """Make DNS lookups of non-local names and connects to non-loopback addresses raise. Yields the list of
    attempts so a fixture can assert it is empty even if some library swallowed the exception."""
    attempts: list[str] = []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def check(host: Any) -> None:
        host = host.decode() if isinstance(host, bytes) else host
        with contextlib.suppress(ValueError):
            if not isinstance(host, str) or host == "localhost" or ipaddress.ip_address(host).is_loopback:
                return
        attempts.append(host)
        raise ExternalNetworkBlocked(f"test tried to reach the network: {host!r}")

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        check(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple):  # AF_INET/AF_INET6; unix sockets pass a str
            check(address[0])
        real_connect(self, address)

    socket.getaddrinfo, socket.socket.connect = getaddrinfo, connect  # type: ignore[assignment,method-assign]
    try:
        yield attempts
    finally:
        socket.getaddrinfo = real_getaddrinfo  # type: ignore[assignment]
        socket.socket.connect = real_connect  # type: ignore[method-assign]
