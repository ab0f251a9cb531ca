"""Neutral Reply → Slack message (``text`` fallback + Block Kit ``blocks``).

Safety first: every piece of text is escaped for mrkdwn (&, <, >) and its mentions
neutralised, so a reply can never ping ``<!channel>``/``<!here>``/``<!everyone>`` or a
user named in a question. Slack's limits are enforced here: a section's text is at
most 3000 characters, a message at most 50 blocks, a button value 2000 characters.

Forms (:class:`~bot.core.events.Form`) render as a modal view (:func:`modal_view`): one
``input`` block per field, whose ``block_id`` and ``action_id`` are the field's id, so a
``view_submission`` reads back as ``{field id: value}``
(:func:`bot.adapters.slack.translate.submission_from_payload`). Where the form was
opened from travels in the view's ``private_metadata`` (:func:`form_metadata`).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bot.adapters.render import split_text
from bot.adapters.slack.mentions import to_neutral
from bot.core.events import Button, Citation, Form, FormField, Reply, Where
from bot.core.text import neutralize_mentions

Block = dict[str, Any]

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
FALLBACK_LIMIT = 3000  # the notification text; the blocks carry the whole reply
CONTEXT_LIMIT = 2000  # a context element's text
MAX_CONTEXT_ELEMENTS = 10
HEADER_LIMIT = 150
BUTTON_LABEL_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
ACTION_ID_LIMIT = 255
BUTTONS_PER_BLOCK = 25
BUTTON_STYLES = frozenset({"primary", "danger"})
TRUNCATED = "… (truncated)"

# Modals (views.open): https://docs.slack.dev/reference/views/modal-views
MODAL_TITLE_LIMIT = 24  # title, submit and close texts
MODAL_MAX_BLOCKS = 100
CALLBACK_ID_LIMIT = 255
BLOCK_ID_LIMIT = 255
METADATA_LIMIT = 3000
LABEL_LIMIT = 2000  # an input block's label and hint
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150
MAX_OPTIONS = 100
INPUT_MAX_LENGTH = 3000  # plain_text_input
TOGGLE_ON, TOGGLE_OFF = "on", "off"
TRUTHY = frozenset({"on", "yes", "true", "1"})


@dataclass(frozen=True)
class SlackMessage:
    """Keyword arguments for chat.postMessage / chat.postEphemeral / chat.update."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def kwargs(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks} if self.blocks else {"text": self.text}


def escape(text: str) -> str:
    """Slack mrkdwn escaping: the only three characters Slack requires escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_mrkdwn(text: str) -> str:
    """Plain text → inert mrkdwn. Slack mention syntax is made neutral first (so ``<!channel>``
    reads as "@channel", not as an escaped tag), then escaped, then every mention defused."""
    return neutralize_mentions(escape(to_neutral(text)))


def safe_plain(text: str) -> str:
    """For ``plain_text`` objects (not parsed for markup): only neutralise mentions."""
    return neutralize_mentions(to_neutral(text))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _cut_at_space(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a space if one is near (not inside an entity)."""
    if len(text) <= limit:
        return text
    space = text.rfind(" ", 0, limit)
    return text[: space if space > limit // 2 else limit].rstrip()


def section_texts(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """``text`` as safe mrkdwn pieces of at most ``limit`` characters each, cut at line or
    sentence boundaries (split before escaping so an entity is never cut in two)."""
    pieces: list[str] = []
    for piece in split_text(neutralize_mentions(to_neutral(text)).strip(), limit):
        safe = safe_mrkdwn(piece)
        pieces.extend(split_text(safe, limit) if len(safe) > limit else [safe])
    return [p for p in pieces if p.strip()]


def citation_line(citation: Citation) -> str:
    return f"Source: “{citation.section}” ({citation.document})"


def citation_block(citations: tuple[Citation, ...]) -> Block:
    elements = [
        {"type": "mrkdwn", "text": _clip(safe_mrkdwn(citation_line(c)), CONTEXT_LIMIT)}
        for c in citations[:MAX_CONTEXT_ELEMENTS]
    ]
    return {"type": "context", "elements": elements}


def action_ids(buttons: tuple[Button, ...]) -> list[str]:
    """One action_id per button: its action, suffixed ``#n`` when the message holds the
    same action more than once (see :func:`bot.adapters.slack.translate.action_of`)."""
    counts = Counter(b.action for b in buttons)
    seen: Counter[str] = Counter()
    ids: list[str] = []
    for button in buttons:
        if counts[button.action] > 1:
            ids.append(f"{button.action}#{seen[button.action]}")
            seen[button.action] += 1
        else:
            ids.append(button.action)
    return ids


def button_element(button: Button, action_id: str) -> Block:
    if not button.action or len(action_id) > ACTION_ID_LIMIT:
        raise ValueError(f"a Slack button needs an action of 1 to {ACTION_ID_LIMIT} characters: {button.action!r}")
    if len(button.value) > BUTTON_VALUE_LIMIT:
        raise ValueError(
            f"a Slack button value is at most {BUTTON_VALUE_LIMIT} characters "
            f"({len(button.value)} given for {button.action!r})"
        )
    element: Block = {
        "type": "button",
        "text": {
            "type": "plain_text",
            "text": _clip(safe_plain(button.label) or button.value or "·", BUTTON_LABEL_LIMIT),
            "emoji": True,
        },
        "action_id": action_id,
    }
    if button.value:
        element["value"] = button.value
    if button.style in BUTTON_STYLES:
        element["style"] = button.style
    return element


def action_blocks(buttons: tuple[Button, ...]) -> list[Block]:
    elements = [button_element(b, aid) for b, aid in zip(buttons, action_ids(buttons), strict=True)]
    return [
        {"type": "actions", "elements": elements[i : i + BUTTONS_PER_BLOCK]}
        for i in range(0, len(elements), BUTTONS_PER_BLOCK)
    ]


def fallback_text(reply: Reply) -> str:
    """The plain ``text`` Slack shows in notifications (and where blocks can't render)."""
    text = reply.text.strip()
    if not text and reply.buttons:
        text = " / ".join(b.label for b in reply.buttons)
    if not text and reply.citations:
        text = citation_line(reply.citations[0])
    if not text and reply.image is not None:
        text = reply.image_name
    if reply.start_thread and reply.thread_title:
        text = f"{reply.thread_title}\n{text}" if text else reply.thread_title
    return _clip(safe_mrkdwn(text or "…"), FALLBACK_LIMIT)


def render(reply: Reply) -> SlackMessage:
    """The Slack message for ``reply`` (images are uploaded separately by the adapter)."""
    head: list[Block] = []
    if reply.start_thread and reply.thread_title:
        title = _clip(safe_plain(reply.thread_title), HEADER_LIMIT)
        head.append({"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}})
    tail: list[Block] = []
    if reply.citations:
        tail.append(citation_block(reply.citations))
    tail.extend(action_blocks(reply.buttons))
    room = MAX_BLOCKS - len(head) - len(tail)
    if room < 1:
        raise ValueError(
            f"a Slack message holds at most {MAX_BLOCKS} blocks ({len(reply.buttons)} buttons is too many)"
        )
    texts = section_texts(reply.text)
    if len(texts) > room:
        texts = texts[:room]
        texts[-1] = _cut_at_space(texts[-1], SECTION_LIMIT - len(TRUNCATED)) + TRUNCATED
    sections = [{"type": "section", "text": {"type": "mrkdwn", "text": t}} for t in texts]
    return SlackMessage(fallback_text(reply), head + sections + tail)


# ----------------------------------------------------------------------------- forms


def _plain(text: str, limit: int, fallback: str = "·") -> Block:
    return {"type": "plain_text", "text": _clip(safe_plain(text).strip() or fallback, limit), "emoji": True}


def form_metadata(where: Where) -> str:
    """The modal's ``private_metadata``: where the form was opened, for the submission."""
    data = {"channel": where.channel.id, "channel_name": where.channel.name, "thread_ts": where.thread_id}
    metadata = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    if len(metadata) > METADATA_LIMIT:  # only a very long channel name: drop it
        metadata = json.dumps({**data, "channel_name": ""}, separators=(",", ":"))
    return metadata


def _option(value: str, label: str) -> Block:
    if not value or len(value) > OPTION_VALUE_LIMIT:
        raise ValueError(f"a Slack select option value is 1 to {OPTION_VALUE_LIMIT} characters: {value[:40]!r}…")
    return {"text": _plain(label, OPTION_TEXT_LIMIT, fallback=value[:OPTION_TEXT_LIMIT]), "value": value}


def _static_select(field_id: str, choices: tuple[tuple[str, str], ...], default: str) -> Block:
    options: list[Block] = []
    seen: set[str] = set()
    for value, label in choices:
        if value not in seen and len(options) < MAX_OPTIONS:  # Slack: ≤ 100 options, distinct values
            seen.add(value)
            options.append(_option(value, label))
    element: Block = {"type": "static_select", "action_id": field_id, "options": options}
    initial = next((o for o in options if o["value"] == default), None)
    if initial is not None:
        element["initial_option"] = initial
    return element


def _text_input(form_field: FormField) -> Block:
    max_length = min(max(form_field.max_length, 1), INPUT_MAX_LENGTH)
    element: Block = {
        "type": "plain_text_input",
        "action_id": form_field.id,
        "max_length": max_length,
        "multiline": form_field.multiline,
    }
    if form_field.default:
        element["initial_value"] = form_field.default[:max_length]
    return element


def field_block(form_field: FormField) -> Block:
    """One form field as an ``input`` block (block_id = action_id = the field's id).

    "select" → static_select (≤ 100 options, labels ≤ 75 characters; a select with no
    choices falls back to a text input); "toggle" → a required On/Off static_select
    (values "on"/"off"); anything else → plain_text_input."""
    if not form_field.id or len(form_field.id) > BLOCK_ID_LIMIT:
        raise ValueError(f"a form field id is 1 to {BLOCK_ID_LIMIT} characters: {form_field.id[:40]!r}")
    optional = form_field.optional
    if form_field.kind == "toggle":
        on = form_field.default.strip().lower() in TRUTHY
        element = _static_select(
            form_field.id, ((TOGGLE_ON, "On"), (TOGGLE_OFF, "Off")), TOGGLE_ON if on else TOGGLE_OFF
        )
        optional = False  # it always holds a value
    elif form_field.kind == "select" and form_field.choices:
        element = _static_select(form_field.id, form_field.choices, form_field.default)
    else:
        element = _text_input(form_field)
    block: Block = {
        "type": "input",
        "block_id": form_field.id,
        "optional": optional,
        "label": _plain(form_field.label, LABEL_LIMIT, fallback=form_field.id),
        "element": element,
    }
    if form_field.hint.strip():
        block["hint"] = _plain(form_field.hint, LABEL_LIMIT)
    return block


def modal_view(form: Form, where: Where) -> Block:
    """The ``view`` for views.open: a modal whose ``callback_id`` is the form's id and
    whose ``private_metadata`` says where it was opened (see :func:`form_metadata`)."""
    if not form.id or len(form.id) > CALLBACK_ID_LIMIT:
        raise ValueError(f"a form id is 1 to {CALLBACK_ID_LIMIT} characters: {form.id[:40]!r}")
    if not form.fields or len(form.fields) > MODAL_MAX_BLOCKS:
        raise ValueError(f"a Slack modal holds 1 to {MODAL_MAX_BLOCKS} fields ({len(form.fields)} given)")
    ids = [f.id for f in form.fields]
    if len(set(ids)) != len(ids):
        raise ValueError(f"form field ids must be unique: {ids}")
    return {
        "type": "modal",
        "callback_id": form.id,
        "title": _plain(form.title, MODAL_TITLE_LIMIT, fallback="readbot"),
        "submit": _plain(form.submit, MODAL_TITLE_LIMIT, fallback="Submit"),
        "close": _plain("Cancel", MODAL_TITLE_LIMIT),
        "private_metadata": form_metadata(where),
        "blocks": [field_block(f) for f in form.fields],
    }
