"""A local fake of the Slack platform for end-to-end tests of readbot.

Two halves:

* ``FakeSlackAPI`` plays Slack's Web API (``https://slack.com/api/``) on 127.0.0.1.
  Point the bot's ``AsyncWebClient(base_url=fake.api_url)`` at it (SLACK_API_URL).
  It records every call in ``fake.calls`` and answers like Slack does.
* ``send_*`` helpers play Slack calling the bot: they POST correctly signed
  Events API / slash command / interactivity requests to the bot's HTTP endpoint,
  and can deliberately break the signature (see ``Tamper``).

Files: ``fake.share_file(channel, name, content)`` plays a person sharing a file (it lands in
``fake.files``, where the bot's own uploads go too); ``files.list`` / ``files.info`` answer from
there (with the ``files:read`` scope, else ``missing_scope``), and each file's
``url_private_download`` is served by the fake, streamed, to a request carrying a valid bot token
(without one, like Slack, a redirect to an HTML sign-in page). ``fail_download`` injects HTTP
errors; a file whose declared ``size`` differs from its content is sent without Content-Length.
Downloads are recorded as ``file_download`` calls (``args``: file, sent, complete).

``NetworkGuard`` makes any attempt to leave loopback fail loudly (and be recorded).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import itertools
import json
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp import web

from tests.fakes.downloads import stream_file

JsonDict = dict[str, Any]
ApiHandler = Callable[[JsonDict], JsonDict]

DEFAULT_TEAM_ID = "T0000FAKE"
DEFAULT_TEAM_DOMAIN = "fake-team"
DEFAULT_APP_ID = "A0000FAKE"
DEFAULT_BOT_USER_ID = "UBOT"
DEFAULT_BOT_ID = "BBOT"
DEFAULT_BOT_TOKEN = "xoxb-fake-bot-token"
DEFAULT_USER_ID = "U0000USER"
DEFAULT_CHANNEL_ID = "C0000CHAN"
DEFAULT_SCOPES = (
    "app_mentions:read,assistant:write,channels:history,chat:write,commands,files:read,files:write,reactions:write,"
    "users:read"
)
# Web API methods this fake checks the token's scopes for (others are answered whatever the scopes).
REQUIRED_SCOPES = {
    "files.list": "files:read",
    "files.info": "files:read",
    "assistant.threads.setStatus": "assistant:write",
    "assistant.threads.setSuggestedPrompts": "assistant:write",
    "assistant.threads.setTitle": "assistant:write",
    "conversations.replies": "channels:history",
}
# Where response_url points when a helper is not given one: loopback port 1, so
# respond() fails fast with "connection refused" instead of going anywhere real.
UNSET_RESPONSE_URL = "http://127.0.0.1:1/response_url/unset"


class SlackApiFailure(Exception):
    """Raised inside a fake method handler to answer ``{"ok": false, "error": code}``."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class RecordedCall:
    """One HTTP request received by the fake.

    ``method`` is the Web API method name (``chat.postMessage``), or ``response_url``
    for a POST to a response_url, ``file_upload`` for a POST to an upload URL, or
    ``unrouted`` for any other path (typically a base_url missing ``/api/``).
    ``args`` merges query-string, form and JSON body arguments, values as sent
    (form values are strings; JSON values keep their types).
    """

    method: str
    args: JsonDict
    headers: dict[str, str]
    http_method: str
    path: str
    status: int = 200
    response: Any = None

    @property
    def token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth[len("Bearer ") :]
        token = self.args.get("token")
        return str(token) if token is not None else None


@dataclass
class _Failure:
    remaining: int
    status: int
    error: str
    retry_after: int | None


@dataclass
class FakeFile:
    """A file on the fake Slack: uploaded by the bot (files_upload_v2) or shared by a person
    (``share_file``). ``size``: what Slack declares, if it should differ from the content (a lie)."""

    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    completed: bool = False
    user: str = DEFAULT_BOT_USER_ID
    channels: list[str] = field(default_factory=list)
    created: int = field(default_factory=lambda: int(time.time()))
    mimetype: str = "application/octet-stream"
    size: int | None = None
    deleted: bool = False

    @property
    def declared_size(self) -> int:
        return self.size if self.size is not None else len(self.content or b"")


def _maybe_json(value: Any) -> Any:
    """Form-encoded calls carry blocks/view/files as JSON strings; JSON calls carry objects."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


_last_ts_us = 0


def new_ts() -> str:
    """Slack message ts ("1764000000.000100"): wall-clock based, unique and increasing across the
    process, shared by the fake and the send_* helpers so bot replies sort after the messages they answer."""
    global _last_ts_us
    _last_ts_us = max(int(time.time() * 1_000_000), _last_ts_us + 100)
    return f"{_last_ts_us // 1_000_000}.{_last_ts_us % 1_000_000:06d}"


def _require(args: JsonDict, *names: str) -> None:
    for name in names:
        if args.get(name) in (None, ""):
            raise SlackApiFailure("invalid_arguments")


async def serve_on_loopback(app: web.Application, host: str = "127.0.0.1") -> tuple[web.AppRunner, int]:
    """Serve an aiohttp application on a free loopback port; returns (runner, port).

    Call ``await runner.cleanup()`` to stop it.
    """
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = int(runner.addresses[0][1])
    return runner, port


class FakeSlackAPI:
    """Slack's Web API, served on 127.0.0.1 for tests."""

    def __init__(
        self,
        *,
        bot_token: str = DEFAULT_BOT_TOKEN,
        team_id: str = DEFAULT_TEAM_ID,
        team_domain: str = DEFAULT_TEAM_DOMAIN,
        app_id: str = DEFAULT_APP_ID,
        bot_user_id: str = DEFAULT_BOT_USER_ID,
        bot_id: str = DEFAULT_BOT_ID,
        scopes: str = DEFAULT_SCOPES,
        strict_messages: bool = False,
    ) -> None:
        """``strict_messages``: if True, chat.update/chat.delete/reactions.add on a
        (channel, ts) the fake has never seen fail with ``message_not_found``, as on
        Slack; seed user messages with ``add_message``. If False they are accepted."""
        self.bot_token = bot_token
        self.valid_tokens: set[str] = {bot_token}
        self.team_id, self.team_domain, self.app_id = team_id, team_domain, app_id
        self.bot_user_id, self.bot_id, self.scopes = bot_user_id, bot_id, scopes
        self.strict_messages = strict_messages

        self.calls: list[RecordedCall] = []
        self.users: dict[str, JsonDict] = {}
        self.channels: dict[str, JsonDict] = {}
        self.messages: dict[tuple[str, str], JsonDict] = {}  # (channel, ts) -> message
        self.ephemeral_messages: list[JsonDict] = []
        self.views: dict[str, JsonDict] = {}
        self.reactions: dict[tuple[str, str], list[tuple[str, str]]] = {}  # -> [(name, user)]
        self.files: dict[str, FakeFile] = {}
        self.assistant_threads: dict[tuple[str, str], JsonDict] = {}  # (channel, thread_ts) -> status, prompts, title

        self._failures: dict[str, deque[_Failure]] = {}
        self._download_failures: deque[tuple[str | None, int]] = deque()  # (file id or any, status)
        self._id_seq = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._changed: asyncio.Condition | None = None
        self._handlers: dict[str, ApiHandler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "conversations.replies": self._conversations_replies,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "files.list": self._files_list,
            "files.info": self._files_info,
            "reactions.add": self._reactions_add,
            "chat.startStream": self._chat_start_stream,
            "chat.appendStream": self._chat_append_stream,
            "chat.stopStream": self._chat_stop_stream,
            "assistant.threads.setStatus": self._assistant_set_status,
            "assistant.threads.setSuggestedPrompts": self._assistant_set_suggested_prompts,
            "assistant.threads.setTitle": self._assistant_set_title,
        }
        self.add_user(bot_user_id, "readbot", is_bot=True)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response_url/{key}", self._handle_response_url)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_get("/files-pri/{team_file}/download/{filename}", self._handle_download)
        app.router.add_get("/files-pri/{team_file}/{filename}", self._handle_download)
        app.router.add_get("/signin", self._handle_signin)
        app.router.add_route("*", "/{tail:.*}", self._handle_unrouted)
        self._runner, self._port = await serve_on_loopback(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeSlackAPI is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """Pass as SLACK_API_URL / ``AsyncWebClient(base_url=...)``; ends with '/'."""
        return f"{self.base_url}/api/"

    def new_response_url(self) -> str:
        """A fresh response_url served by this fake (POSTs land in ``calls_to("response_url")``)."""
        return f"{self.base_url}/response_url/{next(self._id_seq)}"

    # ------------------------------------------------------------------ configuration

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        *,
        real_name: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        **extra: Any,
    ) -> JsonDict:
        name = name or user_id.lower()
        user: JsonDict = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name or name,
            "deleted": deleted,
            "is_admin": is_admin or is_owner,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "tz": "Europe/Paris",
            "profile": {"display_name": name, "real_name": real_name or name, "team": self.team_id},
        }
        if is_bot:
            user["profile"]["bot_id"] = self.bot_id if user_id == self.bot_user_id else f"B{user_id[1:]}"
        user.update(extra)
        self.users[user_id] = user
        return user

    def add_channel(
        self, channel_id: str, name: str | None = None, *, is_private: bool = False, **extra: Any
    ) -> JsonDict:
        channel: JsonDict = {
            "id": channel_id,
            "name": name or channel_id.lower(),
            "is_channel": not channel_id.startswith("D"),
            "is_im": channel_id.startswith("D"),
            "is_private": is_private,
            "is_archived": False,
            "is_member": True,
            "created": 1700000000,
            "context_team_id": self.team_id,
        }
        channel.update(extra)
        self.channels[channel_id] = channel
        return channel

    def add_message(self, channel: str, text: str, *, user: str = DEFAULT_USER_ID, **fields: Any) -> JsonDict:
        """Seed history, e.g. the user message a test then delivers as an event (pass ts=, thread_ts=, ...)."""
        msg: JsonDict = {"type": "message", "user": user, "text": text, "ts": self.next_ts(), "team": self.team_id}
        msg.update(fields)
        self.messages[(channel, msg["ts"])] = msg
        return msg

    def register(self, method: str, handler: ApiHandler) -> None:
        """Add or override a method: ``handler(args) -> response dict`` (may raise SlackApiFailure)."""
        self._handlers[method] = handler

    def fail(
        self,
        method: str,
        *,
        times: int = 1,
        error: str = "internal_error",
        status: int = 200,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail with ``{"ok": false, "error": error}``."""
        self._failures.setdefault(method, deque()).append(_Failure(times, status, error, retry_after))

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """Next ``times`` calls get HTTP 429 + ``Retry-After``, like Slack's rate limiter."""
        self.fail(method, times=times, error="ratelimited", status=429, retry_after=retry_after)

    def next_ts(self) -> str:
        return new_ts()

    def share_file(
        self,
        channel: str,
        filename: str,
        content: bytes,
        *,
        user: str = DEFAULT_USER_ID,
        mimetype: str = "application/octet-stream",
        created: float | None = None,
        size: int | None = None,
        title: str | None = None,
    ) -> FakeFile:
        """A person shares a file in ``channel`` (``created``: epoch seconds, default now). Also seeds
        the ``file_share`` message in history. Deliver the event with ``send_file_share`` if the bot
        should hear of it."""
        file = FakeFile(
            f"F{next(self._id_seq):08d}",
            filename,
            len(content),
            content,
            title=title or filename,
            completed=True,
            user=user,
            channels=[channel],
            created=int(time.time() if created is None else created),
            mimetype=mimetype,
            size=size,
        )
        self.files[file.id] = file
        self.add_message(channel, "", user=user, subtype="file_share", files=[self.file_json(file)])
        return file

    def delete_file(self, file_id: str) -> None:
        """The file is deleted: files.info says file_not_found, its download 404."""
        self.files[file_id].deleted = True

    def fail_download(self, file_id: str | None = None, *, status: int = 500, times: int = 1) -> None:
        """The next ``times`` downloads (of ``file_id``, or of any file) answer HTTP ``status``."""
        self._download_failures.extend([(file_id, status)] * times)

    def file_json(self, file: FakeFile) -> JsonDict:
        """The file object Slack returns (files.info, files.list, a message's ``files``)."""
        private = f"{self.base_url}/files-pri/{self.team_id}-{file.id}/{file.filename}"
        return {
            "id": file.id,
            "created": file.created,
            "timestamp": file.created,
            "name": file.filename,
            "title": file.title or file.filename,
            "mimetype": file.mimetype,
            "filetype": file.filename.rsplit(".", 1)[-1] if "." in file.filename else "binary",
            "user": file.user,
            "user_team": self.team_id,
            "editable": False,
            "size": file.declared_size,
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": True,
            "public_url_shared": False,
            "url_private": private,
            "url_private_download": f"{self.base_url}/files-pri/{self.team_id}-{file.id}/download/{file.filename}",
            "permalink": f"https://{self.team_domain}.slack.com/files/{file.user}/{file.id}/{file.filename}",
            "channels": [c for c in file.channels if c[:1] == "C"],
            "groups": [c for c in file.channels if c[:1] == "G"],
            "ims": [c for c in file.channels if c[:1] == "D"],
        }

    # ------------------------------------------------------------------ inspection

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.method == method]

    def reset_calls(self) -> None:
        self.calls.clear()

    async def wait_for_call(
        self, method: str, predicate: Callable[[RecordedCall], bool] | None = None, timeout: float = 5.0
    ) -> RecordedCall:
        """First call (already recorded or future) to ``method`` matching ``predicate``."""
        return (await self.wait_for_calls(method, 1, predicate, timeout))[0]

    async def wait_for_calls(
        self, method: str, count: int, predicate: Callable[[RecordedCall], bool] | None = None, timeout: float = 5.0
    ) -> list[RecordedCall]:
        def matching() -> list[RecordedCall]:
            return [c for c in self.calls_to(method) if predicate is None or predicate(c)]

        assert self._changed is not None, "FakeSlackAPI is not started"
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(matching()) >= count), timeout)
        except TimeoutError:
            seen = [f"{c.method}({c.status})" for c in self.calls]
            raise AssertionError(
                f"timed out after {timeout}s waiting for {count} matching {method} call(s); "
                f"got {len(matching())}; all calls: {seen}"
            ) from None
        return matching()[:count]

    async def _record(self, call: RecordedCall) -> None:
        self.calls.append(call)
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    # ------------------------------------------------------------------ HTTP handlers

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: JsonDict = dict(request.query)
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            args.update({k: (v if isinstance(v, str) else "<file>") for k, v in form.items()})
        else:
            raw = await request.read()
            if request.content_type == "application/json" and raw:
                body = json.loads(raw)
                if isinstance(body, dict):
                    args.update(body)
            elif raw:
                args.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        call = RecordedCall(method, args, dict(request.headers), request.method, request.path)
        status, payload, headers = self._dispatch(method, args, call.token)
        call.status, call.response = status, payload
        await self._record(call)
        return web.json_response(payload, status=status, headers=headers)

    def _dispatch(self, method: str, args: JsonDict, token: str | None) -> tuple[int, JsonDict, dict[str, str]]:
        queue = self._failures.get(method)
        if queue:
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.popleft()
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            return failure.status, {"ok": False, "error": failure.error}, headers
        handler = self._handlers.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token not in self.valid_tokens:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        needed = REQUIRED_SCOPES.get(method)
        if needed is not None and needed not in self.scopes.split(","):
            return 200, {"ok": False, "error": "missing_scope", "needed": needed, "provided": self.scopes}, {}
        try:
            payload = handler(args)
        except SlackApiFailure as e:
            return 200, {"ok": False, "error": e.error}, {}
        except (KeyError, TypeError, ValueError):  # malformed arguments, e.g. length="abc"
            return 200, {"ok": False, "error": "invalid_arguments"}, {}
        return 200, {"ok": True, **payload}, {"X-OAuth-Scopes": self.scopes}

    async def _handle_unrouted(self, request: web.Request) -> web.Response:
        """E.g. a client whose base_url lacks ``/api/``: answer 404 (slack_sdk raises) and record it."""
        call = RecordedCall("unrouted", dict(request.query), dict(request.headers), request.method, request.path)
        call.status, call.response = 404, {"ok": False, "error": f"fake_slack_no_route:{request.path}"}
        await self._record(call)
        return web.json_response(call.response, status=404)

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        raw = await request.text()
        body = json.loads(raw) if raw else {}
        await self._record(RecordedCall("response_url", body, dict(request.headers), request.method, request.path))
        return web.Response(text="ok", content_type="text/plain")

    async def _handle_upload(self, request: web.Request) -> web.Response:
        data = await request.read()
        file = self.files.get(request.match_info["file_id"])
        status = 200 if file is not None else 404
        if file is not None:
            file.content = data
        call = RecordedCall("file_upload", {"size": len(data)}, dict(request.headers), request.method, request.path)
        call.status = status
        await self._record(call)
        return web.Response(status=status, text=f"OK - {len(data)}" if file else "not found", content_type="text/plain")

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        """A file's ``url_private(_download)``: streamed to a request with a valid bot token."""
        team, _, file_id = request.match_info["team_file"].partition("-")
        file = self.files.get(file_id)
        call = RecordedCall(
            "file_download", {"file": file_id, "sent": 0, "complete": False}, dict(request.headers), "GET", request.path
        )
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[len("Bearer ") :] not in self.valid_tokens:
            call.status = 302  # Slack: a sign-in page, not an error
            await self._record(call)
            raise web.HTTPFound(f"/signin?redir={request.path}")
        failure = next((f for f in self._download_failures if f[0] in (None, file_id)), None)
        if failure is not None:
            self._download_failures.remove(failure)
            call.status = failure[1]
        elif file is None or file.deleted or file.content is None or team != self.team_id:
            call.status = 404
        if call.status != 200:
            await self._record(call)
            return web.Response(status=call.status, text="file not available", content_type="text/plain")
        assert file is not None and file.content is not None
        try:
            return await stream_file(request, file.content, file.mimetype, file.size, call.args)
        finally:
            await self._record(call)

    async def _handle_signin(self, request: web.Request) -> web.Response:
        return web.Response(
            text="<!DOCTYPE html><html><body>Sign in to Fake Team</body></html>", content_type="text/html"
        )

    # ------------------------------------------------------------------ Web API methods

    def _auth_test(self, args: JsonDict) -> JsonDict:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": "Fake Team",
            "user": "readbot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _bot_message(self, args: JsonDict, ts: str) -> JsonDict:
        msg: JsonDict = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": args.get("text", ""),
            "ts": ts,
        }
        for key in ("blocks", "attachments", "metadata"):
            if args.get(key):
                msg[key] = _maybe_json(args[key])
        if args.get("thread_ts"):
            msg["thread_ts"] = str(args["thread_ts"])
        return msg

    def _find_message(self, channel: str, ts: str) -> JsonDict | None:
        msg = self.messages.get((channel, ts))
        if msg is None and self.strict_messages:
            raise SlackApiFailure("message_not_found")
        return msg

    def _chat_post_message(self, args: JsonDict) -> JsonDict:
        _require(args, "channel")
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            raise SlackApiFailure("no_text")
        channel, ts = str(args["channel"]), self.next_ts()
        msg = self._bot_message(args, ts)
        self.messages[(channel, ts)] = msg
        return {"channel": channel, "ts": ts, "message": msg}

    def _chat_update(self, args: JsonDict) -> JsonDict:
        _require(args, "channel", "ts")
        channel, ts = str(args["channel"]), str(args["ts"])
        msg = self._find_message(channel, ts)
        if msg is not None and msg.get("bot_id") != self.bot_id:
            raise SlackApiFailure("cant_update_message")
        updated = {
            **(msg or {}),
            **self._bot_message(args, ts),
            "edited": {"user": self.bot_user_id, "ts": self.next_ts()},
        }
        if msg and msg.get("thread_ts"):
            updated["thread_ts"] = msg["thread_ts"]
        self.messages[(channel, ts)] = updated
        return {"channel": channel, "ts": ts, "text": updated["text"], "message": updated}

    def _chat_post_ephemeral(self, args: JsonDict) -> JsonDict:
        _require(args, "channel", "user")
        ts = self.next_ts()
        self.ephemeral_messages.append({**self._bot_message(args, ts), "channel": args["channel"], "to": args["user"]})
        return {"message_ts": ts}

    def _chat_delete(self, args: JsonDict) -> JsonDict:
        _require(args, "channel", "ts")
        channel, ts = str(args["channel"]), str(args["ts"])
        msg = self._find_message(channel, ts)
        if msg is not None and msg.get("bot_id") != self.bot_id:
            raise SlackApiFailure("cant_delete_message")
        self.messages.pop((channel, ts), None)
        return {"channel": channel, "ts": ts}

    def _store_view(self, view: JsonDict, view_id: str, previous: JsonDict | None) -> JsonDict:
        stored: JsonDict = {
            "id": view_id,
            "team_id": self.team_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            "callback_id": "",
            "private_metadata": "",
            "external_id": "",
            "blocks": [],
            "state": {"values": {}},
            "hash": uuid.uuid4().hex[:16],
            "root_view_id": view_id,
            "previous_view_id": None,
            **view,
        }
        if previous is not None:
            stored["root_view_id"] = previous["root_view_id"]
        self.views[view_id] = stored
        return stored

    def _views_open(self, args: JsonDict) -> JsonDict:
        _require(args, "trigger_id", "view")
        view = _maybe_json(args["view"])
        if not isinstance(view, dict) or "type" not in view:
            raise SlackApiFailure("invalid_arguments")
        return {"view": self._store_view(view, f"V{next(self._id_seq):08d}", None)}

    def _views_update(self, args: JsonDict) -> JsonDict:
        _require(args, "view")
        previous: JsonDict | None = self.views.get(str(args.get("view_id")))
        if previous is None and args.get("external_id"):
            previous = next((v for v in self.views.values() if v.get("external_id") == args["external_id"]), None)
        if previous is None:
            raise SlackApiFailure("not_found")
        if args.get("hash") and args["hash"] != previous["hash"]:
            raise SlackApiFailure("hash_conflict")
        return {"view": self._store_view(_maybe_json(args["view"]), previous["id"], previous)}

    def _users_info(self, args: JsonDict) -> JsonDict:
        _require(args, "user")
        user = self.users.get(str(args["user"]))
        if user is None:
            raise SlackApiFailure("user_not_found")
        return {"user": user}

    def _conversations_info(self, args: JsonDict) -> JsonDict:
        _require(args, "channel")
        channel_id = str(args["channel"])
        channel = self.channels.get(channel_id)
        if channel is None:
            if channel_id[:1] not in ("C", "G", "D"):
                raise SlackApiFailure("channel_not_found")
            channel = self.add_channel(channel_id)
        return {"channel": channel}

    def _conversations_replies(self, args: JsonDict) -> JsonDict:
        _require(args, "channel", "ts")
        channel, ts = str(args["channel"]), str(args["ts"])
        parent = self.messages.get((channel, ts))
        if parent is None:
            raise SlackApiFailure("thread_not_found")
        replies = sorted(
            (m for (ch, m_ts), m in self.messages.items() if ch == channel and m.get("thread_ts") == ts and m_ts != ts),
            key=lambda m: float(m["ts"]),
        )
        head = {**parent, "thread_ts": ts, "reply_count": len(replies)} if replies else parent
        limit = int(args.get("limit") or 1000)
        return {"messages": ([head, *replies])[:limit], "has_more": False, "response_metadata": {"next_cursor": ""}}

    # chat streaming: a message that grows (chat.startStream → appendStream… → stopStream)
    @staticmethod
    def _stream_text(args: JsonDict) -> str:
        text = str(args.get("markdown_text") or "")
        chunks = _maybe_json(args.get("chunks")) or []
        if not isinstance(chunks, list):
            raise SlackApiFailure("invalid_arguments")
        for chunk in chunks:
            if not isinstance(chunk, dict) or chunk.get("type") != "markdown_text":
                raise SlackApiFailure("invalid_chunks")
            text += str(chunk.get("text") or "")
        return text

    def _chat_start_stream(self, args: JsonDict) -> JsonDict:
        _require(args, "channel", "thread_ts")
        channel, ts = str(args["channel"]), self.next_ts()
        if not str(channel).startswith("D") and not (args.get("recipient_user_id") and args.get("recipient_team_id")):
            raise SlackApiFailure("missing_recipient")  # streaming in a channel names its reader
        msg = {**self._bot_message({"thread_ts": args["thread_ts"]}, ts), "text": self._stream_text(args)}
        msg["streaming"] = True
        self.messages[(channel, ts)] = msg
        return {"channel": channel, "ts": ts}

    def _streaming_message(self, args: JsonDict) -> JsonDict:
        _require(args, "channel", "ts")
        msg = self.messages.get((str(args["channel"]), str(args["ts"])))
        if msg is None:
            raise SlackApiFailure("message_not_found")
        if not msg.get("streaming"):
            raise SlackApiFailure("message_not_in_streaming_state")
        return msg

    def _chat_append_stream(self, args: JsonDict) -> JsonDict:
        msg = self._streaming_message(args)
        msg["text"] += self._stream_text(args)
        return {"channel": args["channel"], "ts": msg["ts"]}

    def _chat_stop_stream(self, args: JsonDict) -> JsonDict:
        msg = self._streaming_message(args)
        msg["text"] += self._stream_text(args)
        msg["streaming"] = False
        if args.get("blocks"):
            msg["blocks"] = _maybe_json(args["blocks"])
        return {"channel": args["channel"], "ts": msg["ts"], "message": msg}

    # Slack's assistant side panel: a thread's status, suggested prompts and title, kept per thread
    def _assistant_thread(self, args: JsonDict) -> JsonDict:
        _require(args, "channel_id", "thread_ts")
        return self.assistant_threads.setdefault((str(args["channel_id"]), str(args["thread_ts"])), {})

    def _assistant_set_status(self, args: JsonDict) -> JsonDict:
        _require(args, "status")
        self._assistant_thread(args)["status"] = str(args["status"])
        return {}

    def _assistant_set_suggested_prompts(self, args: JsonDict) -> JsonDict:
        prompts = _maybe_json(args.get("prompts"))
        if not isinstance(prompts, list) or not prompts or len(prompts) > 4:
            raise SlackApiFailure("invalid_arguments")  # Slack takes one to four prompts
        if not all(isinstance(p, dict) and p.get("title") and p.get("message") for p in prompts):
            raise SlackApiFailure("invalid_arguments")
        thread = self._assistant_thread(args)
        thread["prompts"], thread["prompts_title"] = prompts, args.get("title")
        return {}

    def _assistant_set_title(self, args: JsonDict) -> JsonDict:
        _require(args, "title")
        self._assistant_thread(args)["title"] = str(args["title"])
        return {}

    def _files_get_upload_url_external(self, args: JsonDict) -> JsonDict:
        _require(args, "filename", "length")
        file_id = f"F{next(self._id_seq):08d}"
        self.files[file_id] = FakeFile(file_id, str(args["filename"]), int(args["length"]))
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, args: JsonDict) -> JsonDict:
        _require(args, "files")
        done: list[JsonDict] = []
        for item in _maybe_json(args["files"]):
            file = self.files.get(item.get("id", ""))
            if file is None or file.content is None:
                raise SlackApiFailure("file_not_found")
            file.title, file.completed = item.get("title") or file.filename, True
            if args.get("channel_id"):
                file.channels = [str(args["channel_id"])]
            done.append({"id": file.id, "name": file.filename, "title": file.title, "size": len(file.content)})
        return {"files": done}

    def _files_list(self, args: JsonDict) -> JsonDict:
        """Newest first; filtered by channel, user, ts_from, ts_to; ``count`` per page (default 100)."""
        files = [f for f in self.files.values() if not f.deleted and f.content is not None]
        if args.get("channel"):
            files = [f for f in files if str(args["channel"]) in f.channels]
        if args.get("user"):
            files = [f for f in files if f.user == str(args["user"])]
        if args.get("ts_from"):
            files = [f for f in files if f.created >= float(args["ts_from"])]
        if args.get("ts_to"):
            files = [f for f in files if f.created <= float(args["ts_to"])]
        files.sort(key=lambda f: f.created, reverse=True)
        count, page = int(args.get("count") or 100), int(args.get("page") or 1)
        shown = files[(page - 1) * count : page * count]
        pages = max(1, -(-len(files) // count))
        return {
            "files": [self.file_json(f) for f in shown],
            "paging": {"count": count, "total": len(files), "page": page, "pages": pages},
        }

    def _files_info(self, args: JsonDict) -> JsonDict:
        _require(args, "file")
        file = self.files.get(str(args["file"]))
        if file is None or file.deleted:
            raise SlackApiFailure("file_not_found")
        return {"file": self.file_json(file), "comments": [], "response_metadata": {"next_cursor": ""}}

    def _reactions_add(self, args: JsonDict) -> JsonDict:
        _require(args, "channel", "timestamp", "name")
        key = (str(args["channel"]), str(args["timestamp"]))
        self._find_message(*key)
        entry = (str(args["name"]), self.bot_user_id)
        existing = self.reactions.setdefault(key, [])
        if entry in existing:
            raise SlackApiFailure("already_reacted")
        existing.append(entry)
        return {}


# ====================================================================== Slack -> bot requests


class Tamper(Enum):
    """Ways to send a request whose signature a correct app must reject (HTTP 401)."""

    WRONG_SECRET = "wrong_secret"
    BODY_CHANGED = "body_changed"  # signed, then the body changed before sending
    MISSING_HEADERS = "missing_headers"
    MISSING_SIGNATURE = "missing_signature"
    MISSING_TIMESTAMP = "missing_timestamp"
    STALE_TIMESTAMP = "stale_timestamp"  # correctly signed, but 10 minutes old


@dataclass(frozen=True)
class BotHttpResponse:
    status: int
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)
    request_body: str = ""  # what was sent, e.g. to read back a generated event_id

    def json(self) -> Any:
        return json.loads(self.body)


def sign(secret: str, timestamp: str | int, body: str) -> str:
    """Slack v0 signature: 'v0=' + hex HMAC-SHA256(secret, 'v0:{timestamp}:{body}')."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_request(
    secret: str, body: str, *, timestamp: int | None = None, tamper: Tamper | None = None
) -> tuple[dict[str, str], str]:
    """Headers and the body to send, correctly signed unless ``tamper`` says otherwise."""
    ts = timestamp if timestamp is not None else int(time.time())
    if tamper is Tamper.STALE_TIMESTAMP:
        ts -= 600
    signature = sign(secret + "-wrong" if tamper is Tamper.WRONG_SECRET else secret, ts, body)
    headers = {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": signature}
    if tamper in (Tamper.MISSING_HEADERS, Tamper.MISSING_SIGNATURE):
        del headers["X-Slack-Signature"]
    if tamper in (Tamper.MISSING_HEADERS, Tamper.MISSING_TIMESTAMP):
        del headers["X-Slack-Request-Timestamp"]
    return headers, (body + " " if tamper is Tamper.BODY_CHANGED else body)


async def post_signed(
    url: str,
    secret: str,
    body: str,
    *,
    content_type: str,
    tamper: Tamper | None = None,
    timestamp: int | None = None,
    extra_headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> BotHttpResponse:
    """POST ``body`` to the bot as Slack would (User-Agent, Content-Type, signature headers)."""
    headers, to_send = signed_request(secret, body, timestamp=timestamp, tamper=tamper)
    headers.update({"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"})
    headers.update(extra_headers or {})
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
        session.post(url, data=to_send.encode(), headers=headers) as resp,
    ):
        return BotHttpResponse(resp.status, await resp.text(), dict(resp.headers), body)


def new_event_id() -> str:
    return "Ev" + uuid.uuid4().hex[:10].upper()


def event_envelope(
    event: JsonDict,
    *,
    event_id: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_APP_ID,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
) -> JsonDict:
    return {
        "token": "fake-verification-token",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


async def send_event(
    url: str,
    secret: str,
    event: JsonDict,
    event_id: str | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
    *,
    team_id: str = DEFAULT_TEAM_ID,
    tamper: Tamper | None = None,
    timestamp: int | None = None,
) -> BotHttpResponse:
    """Deliver an Events API ``event_callback``; retry headers are set when ``retry_num`` is given."""
    body = json.dumps(event_envelope(event, event_id=event_id, team_id=team_id))
    extra: dict[str, str] = {}
    if retry_num is not None:
        extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason or "http_timeout"}
    return await post_signed(
        url, secret, body, content_type="application/json", tamper=tamper, timestamp=timestamp, extra_headers=extra
    )


async def send_app_mention(
    url: str,
    secret: str,
    text: str = "hello",
    *,
    channel: str = DEFAULT_CHANNEL_ID,
    user: str = DEFAULT_USER_ID,
    ts: str | None = None,
    thread_ts: str | None = None,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
    event_id: str | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
    tamper: Tamper | None = None,
    files: list[JsonDict] | None = None,
) -> BotHttpResponse:
    """``app_mention`` event; ``<@bot_user_id> `` is prepended to ``text`` unless already there.
    ``files``: the message was posted with files (``fake.file_json(fake.share_file(...))``)."""
    mention = f"<@{bot_user_id}>"
    ts = ts or new_ts()
    event: JsonDict = {
        "type": "app_mention",
        "user": user,
        "text": text if mention in text else f"{mention} {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": DEFAULT_TEAM_ID,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    if files:
        event.update(files=files, upload=False, display_as_bot=False)
    return await send_event(url, secret, event, event_id, retry_num, retry_reason, tamper=tamper)


async def send_message_event(
    url: str,
    secret: str,
    text: str,
    *,
    channel: str = DEFAULT_CHANNEL_ID,
    user: str | None = DEFAULT_USER_ID,
    ts: str | None = None,
    thread_ts: str | None = None,
    channel_type: str = "channel",
    bot_id: str | None = None,
    subtype: str | None = None,
    event_id: str | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
    tamper: Tamper | None = None,
    files: list[JsonDict] | None = None,
) -> BotHttpResponse:
    """``message`` event (``channel_type`` "im" for DMs; ``bot_id``/``subtype`` for bot messages;
    ``files`` for a message posted with files, subtype ``file_share``)."""
    ts = ts or new_ts()
    event: JsonDict = {"type": "message", "text": text, "ts": ts, "channel": channel, "event_ts": ts}
    event["channel_type"] = channel_type
    if files:
        event.update(files=files, upload=False, display_as_bot=False)
        subtype = subtype or "file_share"
    optional = {"user": user, "thread_ts": thread_ts, "bot_id": bot_id, "subtype": subtype}
    event.update({k: v for k, v in optional.items() if v is not None})
    return await send_event(url, secret, event, event_id, retry_num, retry_reason, tamper=tamper)


async def send_assistant_thread_started(
    url: str,
    secret: str,
    *,
    channel: str = "D0000DM",
    thread_ts: str | None = None,
    user: str = DEFAULT_USER_ID,
    context_channel: str = DEFAULT_CHANNEL_ID,
    event_id: str | None = None,
) -> BotHttpResponse:
    """``assistant_thread_started``: a person opened the app's assistant side panel (a new DM thread)."""
    thread_ts = thread_ts or new_ts()
    event: JsonDict = {
        "type": "assistant_thread_started",
        "assistant_thread": {
            "user_id": user,
            "context": {"channel_id": context_channel, "team_id": DEFAULT_TEAM_ID, "enterprise_id": None},
            "channel_id": channel,
            "thread_ts": thread_ts,
        },
        "event_ts": new_ts(),
    }
    return await send_event(url, secret, event, event_id)


async def send_slash_command(
    url: str,
    secret: str,
    command: str,
    text: str,
    user_id: str = DEFAULT_USER_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    *,
    response_url: str | None = None,
    trigger_id: str | None = None,
    user_name: str = "tester",
    channel_name: str = "general",
    team_id: str = DEFAULT_TEAM_ID,
    tamper: Tamper | None = None,
) -> BotHttpResponse:
    """Slash command, form-encoded as Slack sends it. Pass ``response_url=fake.new_response_url()``."""
    form = {
        "token": "fake-verification-token",
        "team_id": team_id,
        "team_domain": DEFAULT_TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": DEFAULT_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url or UNSET_RESPONSE_URL,
        "trigger_id": trigger_id or f"{int(time.time())}.{uuid.uuid4().hex[:12]}",
    }
    return await post_signed(
        url, secret, urlencode(form), content_type="application/x-www-form-urlencoded", tamper=tamper
    )


async def send_interactive_payload(
    url: str, secret: str, payload: JsonDict, *, tamper: Tamper | None = None
) -> BotHttpResponse:
    """Any interactivity payload, sent as form field ``payload=<json>``."""
    body = urlencode({"payload": json.dumps(payload)})
    return await post_signed(url, secret, body, content_type="application/x-www-form-urlencoded", tamper=tamper)


def _user_and_team(user_id: str, team_id: str) -> JsonDict:
    return {
        "user": {"id": user_id, "username": "tester", "name": "tester", "team_id": team_id},
        "team": {"id": team_id, "domain": DEFAULT_TEAM_DOMAIN},
        "api_app_id": DEFAULT_APP_ID,
        "token": "fake-verification-token",
        "enterprise": None,
        "is_enterprise_install": False,
    }


async def send_block_action(
    url: str,
    secret: str,
    action_id: str,
    value: str,
    user_id: str = DEFAULT_USER_ID,
    channel_id: str = DEFAULT_CHANNEL_ID,
    message_ts: str | None = None,
    *,
    block_id: str = "actions",
    message: JsonDict | None = None,
    response_url: str | None = None,
    trigger_id: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    tamper: Tamper | None = None,
    ephemeral: bool = False,
    user_name: str = "tester",
) -> BotHttpResponse:
    """A button click in a message (``block_actions``). ``message`` is the clicked message. A click in an
    ``ephemeral`` message (one only the person sees) carries no ``message``, as Slack sends it."""
    message_ts = message_ts or new_ts()
    msg = message or {
        "type": "message",
        "user": DEFAULT_BOT_USER_ID,
        "bot_id": DEFAULT_BOT_ID,
        "text": "",
        "ts": message_ts,
    }
    payload: JsonDict = {
        "type": "block_actions",
        **_user_and_team(user_id, team_id),
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": trigger_id or f"{int(time.time())}.{uuid.uuid4().hex[:12]}",
        "channel": {"id": channel_id, "name": "general"},
        "state": {"values": {}},
        "response_url": response_url or UNSET_RESPONSE_URL,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": value, "emoji": True},
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    if not ephemeral:
        payload["message"] = msg
    payload["user"]["username"] = payload["user"]["name"] = user_name
    return await send_interactive_payload(url, secret, payload, tamper=tamper)


async def send_view_submission(
    url: str,
    secret: str,
    callback_id: str,
    values: JsonDict,
    user_id: str = DEFAULT_USER_ID,
    *,
    view_id: str = "V0000VIEW",
    private_metadata: str = "",
    response_urls: list[JsonDict] | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    tamper: Tamper | None = None,
) -> BotHttpResponse:
    """A modal submit. ``values`` is ``view.state.values``: {block_id: {action_id: {"type":..., "value":...}}}."""
    payload: JsonDict = {
        "type": "view_submission",
        **_user_and_team(user_id, team_id),
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().hex[:12]}",
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": values},
            "hash": uuid.uuid4().hex[:16],
            "blocks": [],
            "app_id": DEFAULT_APP_ID,
            "bot_id": DEFAULT_BOT_ID,
            "root_view_id": view_id,
            "previous_view_id": None,
        },
        "response_urls": response_urls or [],
    }
    return await send_interactive_payload(url, secret, payload, tamper=tamper)


# ====================================================================== no internet


class BlockedNetworkError(RuntimeError):
    """A test tried to connect outside loopback."""


def _is_loopback(host: Any) -> bool:
    if host is None or host == "localhost":
        return True
    if isinstance(host, bytes):
        host = host.decode()
    try:
        address = ipaddress.ip_address(str(host).split("%")[0])
        return address.is_loopback or address.is_unspecified  # 0.0.0.0 / :: (binding a server)
    except ValueError:
        return False


class NetworkGuard:
    """Context manager: non-loopback DNS lookups and connects raise and are recorded.

    Works for the default asyncio loop and blocking sockets (not uvloop).
    Assert ``not guard.violations`` at the end: libraries may swallow the error.
    """

    def __init__(self) -> None:
        self.violations: list[str] = []
        self._saved: list[tuple[Any, str, Any]] = []

    def _check(self, what: str, host: Any) -> None:
        if not _is_loopback(host):
            self.violations.append(f"{what} {host!r}")
            raise BlockedNetworkError(f"network access outside loopback is blocked in tests: {what} {host!r}")

    def __enter__(self) -> Self:
        guard = self
        orig_getaddrinfo, orig_connect = socket.getaddrinfo, socket.socket.connect
        orig_connect_ex = socket.socket.connect_ex

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            guard._check("getaddrinfo", host)
            return orig_getaddrinfo(host, *args, **kwargs)

        def connect(sock: socket.socket, address: Any) -> None:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                guard._check("connect", address[0])
            return orig_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                guard._check("connect", address[0])
            return orig_connect_ex(sock, address)

        self._saved = [
            (socket, "getaddrinfo", orig_getaddrinfo),
            (socket.socket, "connect", orig_connect),
            (socket.socket, "connect_ex", orig_connect_ex),
        ]
        socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in self._saved:
            setattr(owner, name, original)
        self._saved = []


def sign_bytes(secret: str, timestamp: str, body: bytes) -> str:
    """The v0 signature over raw bytes (what Slack signs: the body exactly as sent, UTF-8 or not)."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


async def post_raw(
    url: str,
    body: bytes,
    *,
    secret: str | None = None,
    timestamp: str | None = None,
    content_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> BotHttpResponse:
    """POST any bytes to the bot: signed with ``secret`` (over the bytes, with ``timestamp``, default
    now) when given, unsigned otherwise; ``headers`` added last (to forge or drop signature headers)."""
    sent = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
    if secret is not None:
        ts = timestamp if timestamp is not None else str(int(time.time()))
        sent.update({"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign_bytes(secret, ts, body)})
    sent.update(headers or {})
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
        session.post(url, data=body, headers=sent) as resp,
    ):
        return BotHttpResponse(resp.status, await resp.text(), dict(resp.headers), body.decode("utf-8", "replace"))
