"""The gate in front of bolt: every Slack request is verified and shape-checked before anything
parses it for real.

HTTP mode (:meth:`Gate.check_http`), on the raw bytes of ``POST /slack/events``:

1. signed? the ``X-Slack-Signature`` / ``X-Slack-Request-Timestamp`` headers are there, the
   signature is Slack's HMAC of ``v0:<timestamp>:<body>``, and the timestamp is within five
   minutes (``slack_sdk.signature.SignatureVerifier``). No, wrong or stale: **401**;
2. well formed? the body is UTF-8, parses the way bolt will parse it (JSON, or a form with a JSON
   ``payload``) into an object, and the fields readbot and bolt read have the types Slack sends
   (:func:`shape_problem`). No (or a non-numeric timestamp that is otherwise signed): **400**.

Socket Mode has no signatures; its envelopes get the same shape checks (:meth:`Gate.check_envelope`).

A rejection is counted (``readbot_rejected_requests_total{reason}``) and logged as one short
WARNING line at most per source (the client address, or "socket mode") and minute, with how many
more were rejected since: never an ERROR, never a traceback, whatever is sprayed at the port.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from slack_sdk.signature import SignatureVerifier

from bot.core.metrics import NO_METRICS, Metrics

log = logging.getLogger(__name__)

MAX_SKEW = 60 * 5  # seconds a signed timestamp may be off (Slack's own rule, and SignatureVerifier's)
LOG_EVERY = 60.0  # seconds: at most one warning line per source in this long
MAX_SOURCES = 4096  # sources remembered for the rate limit; beyond, new ones share one entry
SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
DIGITS = re.compile(r"[0-9]{1,12}")


class Rejected(Exception):
    """Why a request is refused: its HTTP status, a short reason (the metric's label) and a detail."""

    def __init__(self, status: int, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.status, self.reason, self.detail = status, reason, detail or reason.replace("_", " ")


class Malformed(Exception):
    """A field of a parsed payload that isn't what Slack sends."""


# --------------------------------------------------------------------------- shapes

JsonDict = Mapping[str, Any]


def _get(obj: JsonDict, key: str, kind: type | tuple[type, ...], where: str, *, required: bool = False) -> Any:
    value = obj.get(key)
    if value is None:
        if required:
            raise Malformed(f"{where}{key} is missing")
        return None
    if not isinstance(value, kind):
        raise Malformed(f"{where}{key}: expected {_name(kind)}")
    return value


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", dict: "an object", list: "a list", int: "a number", bool: "true or false"}
    return " or ".join(names.get(k, k.__name__) for k in _kinds(kind))


def _filled(obj: JsonDict, key: str, where: str) -> str:
    value = _get(obj, key, str, where, required=True)
    if not value.strip():
        raise Malformed(f"{where}{key} is empty")
    return str(value)


def _strings(obj: JsonDict, keys: tuple[str, ...], where: str) -> None:
    for key in keys:
        _get(obj, key, str, where)


NESTED = ("event", "message", "previous_message", "item", "assistant_thread", "view", "container", "function_data")


def _ids(obj: JsonDict, where: str, depth: int = 0) -> None:
    """The fields bolt reads ids out of, here and in the objects it looks into (``team``, ``user``,
    ``channel``, ``enterprise``: a string or an object whose ``id`` is a string; ``authorizations``
    and ``response_urls``: lists of objects; ``event``, ``message``, ``item``, ...: objects)."""
    for key in ("team", "user", "channel", "enterprise"):
        value = _get(obj, key, (str, dict), where)
        if isinstance(value, dict):
            _strings(value, ("id", "team_id", "enterprise_id", "name", "username"), f"{where}{key}.")
    _strings(obj, ("team_id", "user_id", "channel_id", "enterprise_id", "thread_ts", "response_url"), where)
    for key in ("authorizations", "response_urls"):
        for i, item in enumerate(_get(obj, key, list, where) or []):
            if not isinstance(item, dict):
                raise Malformed(f"{where}{key}[{i}]: expected an object")
            if depth < 3:
                _ids(item, f"{where}{key}[{i}].", depth + 1)
    for key in NESTED:
        inner = _get(obj, key, dict, where)
        if inner is not None and depth < 3:
            _ids(inner, f"{where}{key}.", depth + 1)


def _event_callback(body: JsonDict) -> None:
    _get(body, "event_id", str, "", required=True)
    event = _get(body, "event", dict, "", required=True)
    _get(event, "type", str, "event.", required=True)
    _strings(event, ("text", "ts", "event_ts", "subtype", "bot_id", "channel_type", "username", "user_team"), "event.")
    if event["type"] in ("app_mention", "message"):
        _filled(event, "channel", "event.")
        person = event["type"] == "app_mention" or (event.get("channel_type") == "im" and not event.get("subtype"))
        if person and not event.get("user") and not event.get("bot_id"):
            raise Malformed("event.user is missing")
    for i, file in enumerate(_get(event, "files", list, "event.") or []):
        if not isinstance(file, dict):
            raise Malformed(f"event.files[{i}]: expected an object")
        _strings(file, ("id", "name", "title", "mimetype", "mode"), f"event.files[{i}].")


def _block_actions(payload: JsonDict) -> None:
    user = _get(payload, "user", dict, "", required=True)
    _filled(user, "id", "user.")
    channel = _get(payload, "channel", dict, "") or {}
    container = _get(payload, "container", dict, "") or {}
    _get(payload, "message", dict, "")
    if not channel.get("id") and not container.get("channel_id"):
        raise Malformed("channel is missing")
    actions = _get(payload, "actions", list, "", required=True)
    if not actions:
        raise Malformed("actions is empty")
    for i, action in enumerate(actions):
        if not isinstance(action, dict):
            raise Malformed(f"actions[{i}]: expected an object")
        _get(action, "action_id", str, f"actions[{i}].", required=True)
        _strings(action, ("value", "block_id", "action_ts", "type"), f"actions[{i}].")
    _strings(payload, ("trigger_id",), "")
    _strings(payload.get("container") or {}, ("channel_id", "message_ts", "thread_ts"), "container.")
    _strings(payload.get("message") or {}, ("ts", "thread_ts"), "message.")


def _view_submission(payload: JsonDict) -> None:
    user = _get(payload, "user", dict, "", required=True)
    _filled(user, "id", "user.")
    view = _get(payload, "view", dict, "", required=True)
    _get(view, "type", str, "view.", required=True)  # bolt reads it (a workflow step's or a modal)
    _strings(view, ("id", "hash", "callback_id", "private_metadata", "team_id", "app_installed_team_id"), "view.")
    _strings(payload, ("trigger_id",), "")
    state = _get(view, "state", dict, "view.") or {}
    values = _get(state, "values", dict, "view.state.") or {}
    for block_id, block in values.items():
        if not isinstance(block, dict) or not all(isinstance(element, dict) for element in block.values()):
            raise Malformed(f"view.state.values.{str(block_id)[:40]}: expected objects")


def _slash_command(form: JsonDict) -> None:
    if "ssl_check" in form and "command" not in form:
        return
    for key in ("command", "user_id", "channel_id"):
        if not str(form.get(key) or "").strip():
            raise Malformed(f"{key} is missing")
    if not str(form["command"]).startswith("/"):
        raise Malformed("command: expected /<name>")


def shape_problem(body: object, *, form: bool = False) -> str | None:
    """What is wrong with a parsed request (None if nothing): a JSON object of a known type with the
    fields readbot and bolt read of the types Slack sends. ``form``: a slash command's fields."""
    if not isinstance(body, dict):
        return "not an object"
    try:
        if form:
            _slash_command(body)
            return None
        kind = _get(body, "type", str, "", required=True)
        _ids(body, "")
        if kind == "url_verification":
            _get(body, "challenge", str, "", required=True)
        elif kind == "event_callback":
            _event_callback(body)
        elif kind == "block_actions":
            _block_actions(body)
        elif kind == "view_submission":
            _view_submission(body)
    except Malformed as exc:
        return str(exc)
    return None


def parse_body(text: str, content_type: str) -> tuple[dict[str, Any], bool]:
    """The request as bolt parses it (JSON, or a form holding a JSON ``payload``, or a slash
    command's form): (the object, whether it is a slash command form). Rejected (400) otherwise."""
    if content_type == "application/json" or text.startswith("{"):
        return _json(text, "not_json"), False
    fields = parse_qsl(text, keep_blank_values=True)
    if not fields and text:
        raise Rejected(400, "bad_form", "not a form")
    form = dict(fields)
    if "payload" in form:
        return _json(form["payload"], "bad_form", "payload is not JSON"), False
    if "ssl_check" in form:  # Slack checking the certificate: bolt answers it
        return form, True
    if "command" not in form:
        raise Rejected(400, "bad_form", "neither a slash command nor a payload")
    return form, True


def _json(text: str, reason: str, detail: str = "not JSON") -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Rejected(400, reason, detail) from None
    if not isinstance(value, dict):
        raise Rejected(400, reason, "not a JSON object")
    return value


# --------------------------------------------------------------------------- the gate


@dataclass
class _Window:
    started: float
    suppressed: int = 0


class RejectLog:
    """At most one warning per source per :data:`LOG_EVERY` seconds; the next one says how many
    were rejected in between."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._windows: dict[str, _Window] = {}

    def note(self, source: str, rejected: Rejected, kind: str) -> None:
        now = self.clock()
        if source not in self._windows and len(self._windows) >= MAX_SOURCES:
            self._forget(now)
            if len(self._windows) >= MAX_SOURCES:
                source = "other sources"
        window = self._windows.get(source)
        if window is not None and now - window.started < LOG_EVERY:
            window.suppressed += 1
            return
        more = f"; {window.suppressed} more since the last line" if window and window.suppressed else ""
        self._windows[source] = _Window(now)
        log.warning("slack: rejected %s from %s: %s (%d)%s", kind, source, rejected.detail[:120], rejected.status, more)

    def _forget(self, now: float) -> None:
        for source in [s for s, w in self._windows.items() if now - w.started >= LOG_EVERY]:
            del self._windows[source]


class Gate:
    def __init__(
        self,
        signing_secret: str,
        metrics: Metrics = NO_METRICS,
        *,
        clock: Callable[[], float] = time.time,
        log_clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``signing_secret`` may be empty in Socket Mode (no signatures): every HTTP request is then refused."""
        self.secret = signing_secret.encode()
        self.verifier = SignatureVerifier(signing_secret) if signing_secret.strip() else None
        self.metrics = metrics
        self.clock = clock
        self.reject_log = RejectLog(log_clock)

    def check_http(self, raw: bytes, headers: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
        """The body as text and parsed, if the request is signed and well formed; else :class:`Rejected`."""
        timestamp = headers.get("X-Slack-Request-Timestamp") or ""
        signature = headers.get("X-Slack-Signature") or ""
        if not timestamp or not signature:
            raise Rejected(401, "unsigned", "no signature")
        if self.verifier is None:
            raise Rejected(401, "bad_signature", "no signing secret to check against")
        if not SIGNATURE.fullmatch(signature) or not self._signed(raw, timestamp, signature):
            raise Rejected(401, "bad_signature", "signature does not match")
        # signed with our secret from here on
        if not DIGITS.fullmatch(timestamp):
            raise Rejected(400, "bad_timestamp", "timestamp is not a number")
        if abs(self.clock() - int(timestamp)) > MAX_SKEW:
            raise Rejected(401, "stale", "timestamp is more than 5 minutes off (a replay?)")
        media, _, params = (headers.get("Content-Type") or "").partition(";")
        charset = re.search(r"charset\s*=\s*\"?([\w-]+)", params, re.IGNORECASE)
        if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
            raise Rejected(400, "not_utf8", f"charset {charset.group(1)[:20]} is not UTF-8")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Rejected(400, "not_utf8", "body is not UTF-8") from None
        # the library's verdict too (what bolt checks again after us)
        if not self.verifier.is_valid(body=text, timestamp=timestamp, signature=signature):
            raise Rejected(401, "bad_signature", "signature does not match")
        body, is_form = parse_body(text, media.strip().lower())
        problem = shape_problem(body, form=is_form)
        if problem is not None:
            raise Rejected(400, "malformed", problem)
        return text, body

    def _signed(self, raw: bytes, timestamp: str, signature: str) -> bool:
        """Slack's HMAC over the raw bytes (what SignatureVerifier computes for a UTF-8 body), so a
        body that isn't UTF-8, or a timestamp that isn't a number, can still be told signed or not."""
        base = b"v0:" + timestamp.encode("utf-8", "surrogateescape") + b":" + raw
        expected = "v0=" + hmac.new(self.secret, base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    def check_envelope(self, kind: str, payload: object) -> None:
        """A Socket Mode envelope's payload: the same shapes as over HTTP; else :class:`Rejected`."""
        if kind == "slash_commands":
            problem = shape_problem(payload, form=True)
            if problem is None and isinstance(payload, dict):
                problem = next((f"{k}: expected a string" for k, v in payload.items() if not isinstance(v, str)), None)
        else:
            problem = shape_problem(payload)
        if problem is not None:
            raise Rejected(400, "malformed", problem)

    def rejected(self, source: str, rejected: Rejected, kind: str = "request") -> None:
        """Count and (rate-limited) log one rejection."""
        self.metrics.rejected(rejected.reason)
        self.reject_log.note(source, rejected, kind)
