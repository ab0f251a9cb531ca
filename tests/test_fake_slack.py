"""Proves tests/fakes/slack_server.py drives a real slack-bolt AsyncApp over HTTP, offline.

Recipe (see ``bolt_server``): build the AsyncApp with ONLY a client whose base_url is the fake
(no ``token=`` as well: bolt would warn and ignore it), serve ``app.web_app()`` on loopback,
and send signed requests with the ``send_*`` helpers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_server import (
    DEFAULT_CHANNEL_ID,
    BlockedNetworkError,
    FakeSlackAPI,
    NetworkGuard,
    Tamper,
    new_ts,
    post_signed,
    send_app_mention,
    send_block_action,
    send_message_event,
    send_slash_command,
    send_view_submission,
    serve_on_loopback,
)

pytestmark = pytest.mark.asyncio

SECRET = "test-signing-secret"


@pytest.fixture
def no_network() -> Iterator[NetworkGuard]:
    with NetworkGuard() as guard:
        yield guard
    assert not guard.violations, f"test tried to reach the network: {guard.violations}"


@pytest_asyncio.fixture
async def fake(no_network: NetworkGuard) -> AsyncIterator[FakeSlackAPI]:
    async with FakeSlackAPI() as api:
        yield api


@dataclass
class BoltServer:
    app: AsyncApp
    url: str  # the Events API / commands / interactivity endpoint


def build_app(fake: FakeSlackAPI, **kwargs: Any) -> AsyncApp:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    return AsyncApp(client=client, signing_secret=SECRET, **kwargs)


@pytest_asyncio.fixture
async def bolt_server(fake: FakeSlackAPI) -> AsyncIterator[BoltServer]:
    app = build_app(fake)
    runner, port = await serve_on_loopback(app.web_app(path="/slack/events"))
    yield BoltServer(app, f"http://127.0.0.1:{port}/slack/events")
    await runner.cleanup()


async def test_app_mention_replies_in_thread(fake: FakeSlackAPI, bolt_server: BoltServer) -> None:
    seen_bot_user_ids: list[str | None] = []

    @bolt_server.app.event("app_mention")
    async def on_mention(event: dict[str, Any], say: Any, context: Any) -> None:
        seen_bot_user_ids.append(context.bot_user_id)
        await say(text="an answer", thread_ts=event.get("thread_ts") or event["ts"])

    mention_ts = new_ts()
    resp = await send_app_mention(bolt_server.url, SECRET, "what is readbot?", ts=mention_ts)
    assert (resp.status, resp.body) == (200, "")  # events are acked before the listener runs
    call = await fake.wait_for_call("chat.postMessage")
    assert call.args["channel"] == DEFAULT_CHANNEL_ID
    assert call.args["thread_ts"] == mention_ts
    assert call.headers["Authorization"] == f"Bearer {fake.bot_token}"
    assert call.response["message"]["thread_ts"] == mention_ts and float(call.response["ts"]) > float(mention_ts)

    await send_app_mention(bolt_server.url, SECRET, "again", thread_ts=mention_ts)
    await fake.wait_for_calls("chat.postMessage", 2)
    assert len(fake.calls_to("auth.test")) == 1  # bolt calls auth.test lazily once, then caches it
    assert seen_bot_user_ids == [fake.bot_user_id, fake.bot_user_id]


async def test_slash_command_acked_in_request_then_answered(fake: FakeSlackAPI, bolt_server: BoltServer) -> None:
    gate = asyncio.Event()

    @bolt_server.app.command("/ask")
    async def ask(ack: Any, command: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        await ack("Working on it...")
        await gate.wait()  # the HTTP response must not wait for this
        await client.chat_postMessage(channel=command["channel_id"], text=f"Answer: {command['text']}")
        await respond("done")

    response_url = fake.new_response_url()
    resp = await send_slash_command(bolt_server.url, SECRET, "/ask", "how?", response_url=response_url)
    assert (resp.status, resp.body) == (200, "Working on it...")
    assert fake.calls_to("chat.postMessage") == []
    gate.set()
    post = await fake.wait_for_call("chat.postMessage")
    # bolt's per-request client adds team_id (from the request) to every Web API call
    assert post.args == {"channel": DEFAULT_CHANNEL_ID, "text": "Answer: how?", "team_id": fake.team_id}
    hook = await fake.wait_for_call("response_url")
    assert hook.path == response_url.removeprefix(fake.base_url) and hook.args["text"] == "done"


async def test_block_action_updates_message(fake: FakeSlackAPI, bolt_server: BoltServer) -> None:
    fake.strict_messages = True
    posted = await bolt_server.app.client.chat_postMessage(channel=DEFAULT_CHANNEL_ID, text="Approve?")

    @bolt_server.app.action("approve")
    async def approve(ack: Any, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        container = body["container"]
        await client.chat_update(
            channel=container["channel_id"], ts=container["message_ts"], text=f"OK: {action['value']}"
        )

    resp = await send_block_action(
        bolt_server.url, SECRET, "approve", "yes", message_ts=posted["ts"], response_url=fake.new_response_url()
    )
    assert resp.status == 200
    update = await fake.wait_for_call("chat.update")
    assert update.response["ok"] is True
    assert fake.messages[(DEFAULT_CHANNEL_ID, posted["ts"])]["text"] == "OK: yes"


async def test_view_submission_ack_with_errors(bolt_server: BoltServer) -> None:
    @bolt_server.app.view("feedback")
    async def on_submit(ack: Any, view: dict[str, Any]) -> None:
        text = view["state"]["values"]["b"]["a"]["value"]
        await (ack(response_action="errors", errors={"b": "too short"}) if len(text) < 3 else ack())

    values = {"b": {"a": {"type": "plain_text_input", "value": "no"}}}
    resp = await send_view_submission(bolt_server.url, SECRET, "feedback", values)
    assert resp.status == 200 and resp.json() == {"response_action": "errors", "errors": {"b": "too short"}}
    values["b"]["a"]["value"] = "long enough"
    resp = await send_view_submission(bolt_server.url, SECRET, "feedback", values)
    assert (resp.status, resp.body) == (200, "")


@pytest.mark.parametrize("tamper", list(Tamper))
async def test_bad_signature_rejected_without_api_calls(
    fake: FakeSlackAPI, bolt_server: BoltServer, tamper: Tamper
) -> None:
    handled: list[str] = []

    @bolt_server.app.event("app_mention")
    async def on_mention(event: dict[str, Any]) -> None:
        handled.append(event["text"])

    @bolt_server.app.command("/ask")
    async def ask(ack: Any) -> None:
        handled.append("command")
        await ack()

    resp = await send_app_mention(bolt_server.url, SECRET, "hi", tamper=tamper)
    assert (resp.status, resp.json()) == (401, {"error": "invalid request"})
    resp = await send_slash_command(bolt_server.url, SECRET, "/ask", "x", tamper=tamper)
    assert resp.status == 401
    await asyncio.sleep(0.05)
    assert handled == [] and fake.calls == []


async def test_retried_delivery_is_dispatched_again_with_headers(fake: FakeSlackAPI, bolt_server: BoltServer) -> None:
    deliveries: list[tuple[str, list[str] | None, list[str] | None]] = []

    @bolt_server.app.event("app_mention")
    async def on_mention(body: dict[str, Any], request: AsyncBoltRequest) -> None:
        headers = request.headers  # lower-cased names -> list of values
        deliveries.append((body["event_id"], headers.get("x-slack-retry-num"), headers.get("x-slack-retry-reason")))

    first = await send_app_mention(bolt_server.url, SECRET, "q", event_id="Ev0001")
    retry = await send_app_mention(
        bolt_server.url, SECRET, "q", event_id="Ev0001", retry_num=1, retry_reason="http_timeout"
    )
    assert first.status == retry.status == 200
    assert "x-slack-no-retry" not in {k.lower() for k in retry.headers}
    for _ in range(100):
        if len(deliveries) == 2:
            break
        await asyncio.sleep(0.01)
    assert deliveries == [("Ev0001", None, None), ("Ev0001", ["1"], ["http_timeout"])]


async def test_url_verification_and_ssl_check(fake: FakeSlackAPI, bolt_server: BoltServer) -> None:
    body = '{"token": "t", "challenge": "abc123", "type": "url_verification"}'
    ok = await post_signed(bolt_server.url, SECRET, body, content_type="application/json")
    assert (ok.status, ok.json()) == (200, {"challenge": "abc123"})
    bad = await post_signed(
        bolt_server.url, SECRET, body, content_type="application/json", tamper=Tamper.MISSING_HEADERS
    )
    assert bad.status == 401  # url_verification needs a valid signature
    ssl = await post_signed(
        bolt_server.url,
        SECRET,
        "ssl_check=1&token=t",
        content_type="application/x-www-form-urlencoded",
        tamper=Tamper.MISSING_HEADERS,
    )
    assert (ssl.status, ssl.body) == (200, "")  # ssl_check is answered before signature verification
    assert fake.calls == []


async def test_own_messages_are_ignored_by_default(fake: FakeSlackAPI, bolt_server: BoltServer) -> None:
    reached: list[str] = []

    @bolt_server.app.middleware  # global middleware runs after bolt's built-in IgnoringSelfEvents
    async def record(body: dict[str, Any], next: Any) -> None:
        reached.append(body["event"]["text"])
        await next()

    @bolt_server.app.event("message")
    async def on_message() -> None:
        pass

    assert (await send_message_event(bolt_server.url, SECRET, "mine", user=fake.bot_user_id)).status == 200
    mine = await send_message_event(
        bolt_server.url, SECRET, "mine2", user=None, bot_id=fake.bot_id, subtype="bot_message"
    )
    assert mine.status == 200
    assert (await send_message_event(bolt_server.url, SECRET, "theirs")).status == 200
    assert reached == ["theirs"]


async def test_process_before_response_runs_listener_before_http_response(fake: FakeSlackAPI) -> None:
    app = build_app(fake, process_before_response=True)

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], say: Any) -> None:
        await asyncio.sleep(0.1)
        await say(text="done", thread_ts=event["ts"])

    runner, port = await serve_on_loopback(app.web_app())
    try:
        resp = await send_app_mention(f"http://127.0.0.1:{port}/slack/events", SECRET, "q")
        assert resp.status == 200
        assert len(fake.calls_to("chat.postMessage")) == 1  # already there: no waiting needed
    finally:
        await runner.cleanup()


async def test_web_api_surface(fake: FakeSlackAPI) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    fake.add_user("UADMIN", "alice", is_admin=True)
    assert (await client.auth_test())["user_id"] == fake.bot_user_id
    assert (await client.users_info(user="UADMIN"))["user"]["is_admin"] is True
    assert (await client.users_info(user=fake.bot_user_id))["user"]["is_bot"] is True
    assert (await client.conversations_info(channel="C123"))["channel"]["id"] == "C123"

    parent = fake.add_message("C123", "question?", user="UADMIN")
    first = await client.chat_postMessage(channel="C123", text="a1", thread_ts=parent["ts"])
    second = await client.chat_postMessage(
        channel="C123", text="a2", blocks=[{"type": "divider"}], thread_ts=parent["ts"]
    )
    assert float(second["ts"]) > float(first["ts"])
    replies = await client.conversations_replies(channel="C123", ts=parent["ts"])
    assert [m["ts"] for m in replies["messages"]] == [parent["ts"], first["ts"], second["ts"]]

    assert (await client.chat_postEphemeral(channel="C123", user="UADMIN", text="psst"))["message_ts"]
    await client.reactions_add(channel="C123", timestamp=parent["ts"], name="eyes")
    with pytest.raises(SlackApiError) as err:
        await client.reactions_add(channel="C123", timestamp=parent["ts"], name="eyes")
    assert err.value.response["error"] == "already_reacted"

    opened = await client.views_open(trigger_id="1.2", view={"type": "modal", "callback_id": "cb", "title": {}})
    updated = await client.views_update(view_id=opened["view"]["id"], view={"type": "modal", "callback_id": "cb2"})
    assert updated["view"]["callback_id"] == "cb2"

    uploaded = await client.files_upload_v2(channel="C123", content="hello file", filename="a.txt", title="A")
    assert uploaded["file"]["title"] == "A" and fake.files[uploaded["file"]["id"]].content == b"hello file"
    assert [c.method for c in fake.calls[-3:]] == [
        "files.getUploadURLExternal",
        "file_upload",
        "files.completeUploadExternal",
    ]

    await client.chat_delete(channel="C123", ts=first["ts"])
    assert ("C123", first["ts"]) not in fake.messages
    for method, error in (("chat.delete", "cant_delete_message"), ("no.such.method", "unknown_method")):
        with pytest.raises(SlackApiError) as err:
            await client.api_call(method, json={"channel": "C123", "ts": parent["ts"]})
        assert err.value.response["error"] == error
    with pytest.raises(SlackApiError) as err:
        await AsyncWebClient(token="xoxb-wrong", base_url=fake.api_url).auth_test()
    assert err.value.response["error"] == "invalid_auth"
    assert fake.calls_to("auth.test")[0].token == fake.bot_token
    with pytest.raises(SlackApiError):  # a base_url without /api/ is recorded and answered 404
        await AsyncWebClient(token=fake.bot_token, base_url=fake.base_url).auth_test()
    assert fake.calls_to("unrouted")[0].path == "/auth.test"


async def test_files_shared_listed_described_and_downloaded(fake: FakeSlackAPI) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    old = fake.share_file("C1", "old.txt", b"old", created=1_700_000_000)
    new = fake.share_file("C1", "new.epub", b"new book", mimetype="application/epub+zip")
    fake.share_file("C2", "other.txt", b"elsewhere")
    fake.share_file("C1", "theirs.txt", b"someone else", user="U0OTHER")
    listed = await client.files_list(channel="C1", user="U0000USER", count=10)
    assert [f["id"] for f in listed["files"]] == [new.id, old.id]  # newest first
    recent = await client.files_list(channel="C1", user="U0000USER", ts_from="1700000001")
    assert [f["name"] for f in recent["files"]] == ["new.epub"]
    info = (await client.files_info(file=new.id))["file"]
    assert (info["name"], info["size"], info["mimetype"]) == ("new.epub", 8, "application/epub+zip")
    shares = [m for (channel, _), m in fake.messages.items() if channel == "C1" and m.get("subtype") == "file_share"]
    assert len(shares) == 3 and shares[1]["files"][0]["id"] == new.id  # the history has the file_share messages

    url = info["url_private_download"]
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers={"Authorization": f"Bearer {fake.bot_token}"}) as resp:
            assert resp.status == 200 and resp.content_length == 8 and await resp.read() == b"new book"
        async with session.get(url) as resp:  # no token: like Slack, a sign-in page
            assert resp.status == 200 and resp.content_type == "text/html" and resp.url.path == "/signin"
        fake.fail_download(new.id, status=500)
        async with session.get(url, headers={"Authorization": f"Bearer {fake.bot_token}"}) as resp:
            assert resp.status == 500
        fake.delete_file(new.id)
        async with session.get(url, headers={"Authorization": f"Bearer {fake.bot_token}"}) as resp:
            assert resp.status == 404
    assert [(c.status, c.args["complete"]) for c in fake.calls_to("file_download")] == [
        (200, True),
        (302, False),
        (500, False),
        (404, False),
    ]
    with pytest.raises(SlackApiError) as err:
        await client.files_info(file=new.id)
    assert err.value.response["error"] == "file_not_found"
    fake.scopes = fake.scopes.replace("files:read,", "")
    with pytest.raises(SlackApiError) as err:
        await client.files_list(channel="C1")
    assert (err.value.response["error"], err.value.response["needed"]) == ("missing_scope", "files:read")


async def test_failure_injection_and_rate_limit_retry(fake: FakeSlackAPI) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    fake.fail("chat.postMessage", times=2, error="fatal_error")
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel="C1", text="x")
        assert err.value.response["error"] == "fatal_error"
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"] is True

    fake.rate_limit("users.info", retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user=fake.bot_user_id)
    assert err.value.response.status_code == 429 and err.value.response.headers["Retry-After"] == "7"

    retrying = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    retrying.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    fake.rate_limit("reactions.add", retry_after=0)
    await retrying.reactions_add(channel="C1", timestamp="1.1", name="eyes")
    assert [c.status for c in fake.calls_to("reactions.add")] == [429, 200]


async def test_network_guard_fails_loudly(no_network: NetworkGuard) -> None:
    with pytest.raises(BlockedNetworkError):
        await AsyncWebClient(token="xoxb-x").auth_test()  # default base_url is https://slack.com/api/
    with pytest.raises(BlockedNetworkError):
        async with aiohttp.ClientSession() as session:
            await session.get("http://93.184.216.34/")
    assert no_network.violations == ["getaddrinfo 'slack.com'", "connect '93.184.216.34'"]
    no_network.violations.clear()
