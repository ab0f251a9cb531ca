"""Checks on what readbot sent to the fake Discord, shared by the end-to-end tests."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.fakes.discord_server import FakeDiscord

MASS_MENTIONS = ("<!channel>", "<!here>", "<!everyone>", "@channel", "@here", "@everyone")
PAYLOAD_PATHS = re.compile(
    r"/channels/\d+/messages(/\d+)?|/webhooks/\d+/[^/]+(/messages/[^/]+)?"
    r"|/interactions/\d+/[^/]+/callback"
)
NO_MENTIONS = {"parse": []}
NO_MENTIONS_IN_A_REPLY = {"parse": [], "replied_user": False}  # discord.py adds it to a reply
AUTOCOMPLETE_RESULT = 8  # an interaction callback offering choices, not a message


def assert_no_mass_mention(payload: Any) -> None:
    """Nothing in ``payload`` reads as a mass mention (a defused ``@\u200beveryone`` is fine)."""
    text = json.dumps(payload, ensure_ascii=False)
    for mass in MASS_MENTIONS:
        assert mass not in text, (mass, text)


def assert_pings_nobody(fake: FakeDiscord) -> None:
    """Every message payload readbot sent so far (posts, edits, uploads, interaction responses,
    follow-ups) disallows every mention — exactly ``{"parse": []}``, or on a reply also
    ``"replied_user": false`` — and says no mass mention; no message of readbot's mentions anyone,
    any role or everyone; at least one payload was checked."""
    checked = 0
    for call in fake.calls:
        if call.method not in ("POST", "PATCH") or not PAYLOAD_PATHS.fullmatch(call.path):
            continue
        body = call.json or {}
        if call.path.endswith("/callback"):
            if body.get("type") == AUTOCOMPLETE_RESULT:
                assert_no_mass_mention(body)  # choices can't ping, but must not read as a ping either
                continue
            body = body.get("data") or {}
            if not body:
                continue  # a deferral carries no message
        checked += 1
        allowed = body.get("allowed_mentions")
        accepted = [NO_MENTIONS, NO_MENTIONS_IN_A_REPLY] if body.get("message_reference") else [NO_MENTIONS]
        assert allowed in accepted, (call.method, call.path, body)
        assert_no_mass_mention(body)
    assert checked, "no message payload was sent"
    for message in fake.messages.values():
        if message["author"]["id"] == str(fake.bot_user_id):
            assert message["mentions"] == [], message
            assert not message["mention_everyone"] and not message["mention_roles"], message
