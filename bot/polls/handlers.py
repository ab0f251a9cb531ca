"""/poll, the poll buttons and the new-poll form: parse, check the moderator, call the poll runtime."""

from __future__ import annotations

import re
from dataclasses import replace

from bot.core.adapter import Responder, UnsupportedOperation
from bot.core.events import ButtonClick, Command, Event, Form, FormField, FormSubmitted, Reply, Visibility
from bot.core.moderation import require_moderator
from bot.errors import InputError
from bot.polls import claims as bank
from bot.polls.model import (
    DEFAULT_DURATION,
    SCALE,
    Poll,
    PollSpec,
    check_claim,
    check_options,
    parse_bool,
    parse_duration,
)
from bot.polls.runtime import PollRuntime
from bot.polls.service import UnknownPoll
from bot.review.desk import ReviewDesk

NEW_POLL_FORM = "poll:new"
NOT_AN_OPTION = "That isn't one of this poll's options."
OPTION_VALUE = re.compile(r"[0-9]{1,3}")  # ASCII digits only: not "²", not fullwidth "１"
POLL_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
FLAG = re.compile(r"\b(duration|anonymous|hidden)\s*=\s*(\S+)", re.IGNORECASE)
HELP = (
    "Start a poll: /poll (the next claim from the reading), or /poll <claim> | <option> | <option> "
    "[duration=90m] [anonymous=on|off] [hidden=on|off]. End one early: /poll close (results are posted), "
    "or /poll cancel [ID] (a mistake: no results). "
    "Review the claims drafted from the reading: /poll drafts."
)


def private(text: str) -> Reply:
    return Reply(text, visibility=Visibility.PRIVATE)


def closed_line(told: bool, platform: str) -> str:
    """What the moderator who closed a poll hears: posted, or owed (the outbox keeps trying)."""
    if told:
        return "Poll closed; results are posted."
    return (
        f"Poll closed. {platform.capitalize()} didn't take the results (or the final card) just now; "
        "I'll keep trying until it does."
    )


def parse_poll(
    text: str, options: dict[str, str], claims: list[bank.Claim], *, choices: list[str] | None = None
) -> PollSpec:
    """A PollSpec from the command's text or its options (Discord's slash options).

    An empty ``claim`` means "the next claim from the bank"; the other settings given
    (options, duration, anonymity, hidden results) still apply to it. ``choices`` given as a list
    (a form's lines) are taken as they are, "|" and all."""
    flags = {k.lower(): v for k, v in FLAG.findall(text)}
    flags.update({k: v for k, v in options.items() if k in ("duration", "anonymous", "hidden") and v})
    if options.get("claim") or options.get("options"):  # structured: a claim may contain "|"
        claim_text = options.get("claim", "").strip()
        parts = [p for p in options.get("options", "").split("|")] if options.get("options") else []
        if choices is not None:
            parts = list(choices)
    else:
        body = [p.strip() for p in FLAG.sub("", text).split("|")]
        claim_text, parts = body[0], body[1:]
    duration = parse_duration(flags["duration"]) if "duration" in flags else DEFAULT_DURATION
    anonymous = parse_bool("anonymous", flags["anonymous"]) if "anonymous" in flags else True
    hidden = parse_bool("hidden", flags["hidden"]) if "hidden" in flags else False
    chosen = check_options(parts) if parts else SCALE
    if not claim_text:
        return PollSpec("", chosen, duration, anonymous, hidden)
    claim_text = check_claim(claim_text)
    known = bank.find(claims, claim_text)
    if known:
        return PollSpec(known.claim, chosen, duration, anonymous, hidden, known.section, known.passage, known.id)
    return PollSpec(claim_text, chosen, duration, anonymous, hidden)


STRUCTURED = ("claim", "options", "duration", "anonymous", "hidden")


def command_input(event: Command) -> tuple[str, dict[str, str]]:
    """What /poll was given: its text, or its declared options (``bot.polls.commands``).

    A platform with options (Discord) sends them by name: ``action: close`` means "close", and
    otherwise the text is ignored, so nothing typed as a claim (one starting with "close") reads as
    a sub-command. A platform of plain text (Slack, the console) sends the text. An old generic
    registration (``/poll text:…``) is read as text."""
    raw = event.options
    if "text" in raw:
        return raw["text"].strip(), {}
    action = raw.get("action", "").strip().lower()
    if action in ("close", "cancel"):
        return f"{action} {raw.get('poll', '').strip()}".strip(), {}
    if action == "drafts":  # the rest (approve ID, edit ID text) in "claim"
        return f"drafts {raw.get('claim', '').strip()}".strip(), {}
    fields = {key: value for key in STRUCTURED if (value := raw.get(key, "").strip())}
    if fields or "action" in raw:
        return "", fields
    return event.text.strip(), {}


def is_bare(text: str, options: dict[str, str]) -> bool:
    """/poll with nothing at all: the moderator gets a form where the platform has one."""
    return not text.strip() and not any(options.get(k) for k in ("claim", "options", "duration", "anonymous", "hidden"))


class PollHandler:
    def __init__(self, runtime: PollRuntime, moderators: frozenset[str], desk: ReviewDesk | None = None) -> None:
        self.runtime = runtime
        self.moderators = moderators
        self.desk = desk

    async def command(self, event: Event, responder: Responder) -> None:
        assert isinstance(event, Command)
        text, options = command_input(event)
        if text.lower() in ("help", "?"):
            await responder.reply(private(HELP))
            return
        word, _, rest = text.partition(" ")
        sub = word.lower() if "|" not in rest else ""  # "cancel culture | yes | no" is a claim
        if sub == "drafts" and self.desk is not None:
            await responder.acknowledge()
            await self.desk.command("claim", event, rest, responder)
            return
        if sub == "close":
            require_moderator(event.user, self.moderators, "close polls")
            await responder.acknowledge()
            await self._close_latest(event, rest.strip(), responder)
            return
        if sub == "cancel":
            require_moderator(event.user, self.moderators, "cancel polls")
            await responder.acknowledge()
            await self._cancel(event, rest.strip(), responder)
            return
        # cheap checks first: a refusal or a typo is answered privately, with no public "thinking…"
        require_moderator(event.user, self.moderators, "start polls")
        channel = event.where.channel
        claims = await self.runtime.bank(channel.platform, channel.id)
        spec = parse_poll(text, options, claims)
        if is_bare(text, options):
            try:  # where the platform has forms (Slack), let the moderator choose
                await responder.open_form(await self._new_poll_form(event))
                return
            except UnsupportedOperation:
                pass
        await responder.acknowledge()
        if not spec.claim:
            spec = await self._from_bank(spec, event)
        await self._start(spec, event, responder)

    async def _start(self, spec: PollSpec, event: Command | FormSubmitted, responder: Responder) -> None:
        spec = await self.runtime.supported(spec, event.where.channel.platform, event.where.channel.id)
        poll, card = await self.runtime.start(spec, event.where, event.user)
        try:
            ref = await responder.reply(card)
        except Exception:
            await self.runtime.discard(poll)
            raise
        await self.runtime.posted(poll, ref)

    async def _from_bank(self, spec: PollSpec, event: Command) -> PollSpec:
        channel = event.where.channel
        claim = await self.runtime.next_claim(channel.platform, channel.id)
        if claim is None:
            if not await self.runtime.bank(channel.platform, channel.id):
                raise InputError(
                    "This channel's reading has no approved claims yet: review the drafts with /poll drafts, "
                    "or give one: /poll <claim>."
                )
            raise InputError("Every claim in the bank has been polled in this channel; give one: /poll <claim>.")
        return replace(spec, claim=claim.claim, section=claim.section, passage=claim.passage, claim_id=claim.id)

    async def _new_poll_form(self, event: Command) -> Form:
        channel = event.where.channel
        used = await self.runtime.service.polled_claim_ids(channel.platform, channel.id)
        claims = await self.runtime.bank(channel.platform, channel.id)
        fresh = [c for c in claims if c.id not in used] or claims
        pick = (
            (
                FormField(
                    "claim_id",
                    "Claim from the reading",
                    "select",
                    tuple((c.id, c.claim[:75]) for c in fresh[:100]),
                    default=fresh[0].id,
                ),
            )
            if fresh
            else ()
        )
        return Form(
            NEW_POLL_FORM,
            "New poll",
            "Start poll",
            (
                *pick,
                FormField(
                    "claim",
                    "…or write your own claim" if fresh else "Claim",
                    hint="Leave empty to use the claim above." if fresh else "",
                    max_length=300,
                    optional=bool(fresh),
                ),
                FormField(
                    "options",
                    "Options (2 to 5, one per line)",
                    multiline=True,
                    max_length=400,
                    hint="Leave empty for the scale Strongly agree … Strongly disagree.",
                ),
                FormField(
                    "duration",
                    "Duration",
                    default="60m",
                    max_length=10,
                    optional=False,
                    hint="Minutes (30), hours (2h) or days (3d): 1 minute to 7 days.",
                ),
                FormField("anonymous", "Anonymous", "toggle", default="on"),
                FormField("hidden", "Hide results until the poll closes", "toggle", default="off"),
            ),
        )

    async def form(self, event: Event, responder: Responder) -> None:
        """The new-poll form was submitted."""
        assert isinstance(event, FormSubmitted)
        require_moderator(event.user, self.moderators, "start polls")
        values = event.values
        own = values.get("claim", "").strip()
        claims = await self.runtime.bank(event.where.channel.platform, event.where.channel.id)
        known = next((c for c in claims if c.id == values.get("claim_id")), None)
        if own:
            claim_text = own
        elif known is not None:
            claim_text = known.claim
        else:
            raise InputError("Pick a claim from the list or write one.")
        # the form's fields are separate: a "|" in the claim is part of the claim, and each line an option
        options = [o for o in values.get("options", "").splitlines() if o.strip()]
        structured = {k: values[k] for k in ("duration", "anonymous", "hidden") if values.get(k)}
        spec = parse_poll("", {**structured, "claim": claim_text}, claims, choices=options)
        await self._start(spec, event, responder)

    async def _close_latest(self, event: Command, poll_id: str, responder: Responder) -> None:
        service = self.runtime.service
        poll = (
            await service.get(poll_id)
            if poll_id
            else await service.latest_open(event.where.channel.platform, event.where.channel.id)
        )
        if poll is None:
            raise InputError("There is no open poll here to close." if not poll_id else "No poll has that id.")
        told = await self.runtime.close_poll(poll.id)
        if told is None:
            raise InputError("That poll is already closed.")
        await responder.reply(private(closed_line(told, event.where.channel.platform)))

    async def _cancel(self, event: Command, poll_id: str, responder: Responder) -> None:
        """/poll cancel [ID]: the channel's newest open poll (or the one named) ends without results."""
        service = self.runtime.service
        channel = event.where.channel
        if poll_id and (len(poll_id.split()) > 1 or len(poll_id) > 32):
            raise InputError("/poll cancel takes at most a poll's id: /poll cancel, or /poll cancel <id>.")
        poll = await service.get(poll_id) if poll_id else await service.latest_open(channel.platform, channel.id)
        if poll is not None and (poll.platform, poll.channel_id) != (channel.platform, channel.id):
            poll = None  # another channel's poll is cancelled there, not from here
        if poll is None:
            raise InputError(
                "There is no open poll here to cancel." if not poll_id else "No poll in this channel has that id."
            )
        if not await self.runtime.cancel(poll.id):
            state = "cancelled" if poll.status == "cancelled" else "closed"
            raise InputError(f"That poll is already {state}; only an open poll can be cancelled.")
        await responder.reply(private(f"Poll cancelled: “{poll.claim[:80]}”. No results are posted."))

    async def button(self, event: Event, responder: Responder) -> None:
        """A vote (``<poll id>:<option>``) or a moderator's Close (``<poll id>``), checked against the
        poll it names: the click must come from that poll's channel (and card, where both are known)
        and a vote's option be ASCII digits naming one of its options."""
        assert isinstance(event, ButtonClick)
        if event.action == "poll:close":
            require_moderator(event.user, self.moderators, "close polls")
            poll = await self._clicked_poll(event, event.value)
            told = await self.runtime.close_poll(poll.id, decided=responder.acknowledge)  # stored: Slack may know
            if told is None:
                raise InputError("This poll is already closed.")
            await responder.reply(private(closed_line(told, event.where.channel.platform)))
            return
        poll_id, _, option = event.value.rpartition(":")
        if not poll_id or not OPTION_VALUE.fullmatch(option):
            raise InputError(NOT_AN_OPTION)
        poll = await self._clicked_poll(event, poll_id)
        await responder.reply(private(await self.runtime.vote(poll.id, int(option), event.user)))

    async def _clicked_poll(self, event: ButtonClick, poll_id: str) -> Poll:
        poll = await self.runtime.service.get(poll_id) if POLL_ID.fullmatch(poll_id) else None
        if poll is None:
            raise UnknownPoll()
        channel = event.where.channel
        if (poll.platform, poll.channel_id) != (channel.platform, channel.id):
            raise InputError(NOT_AN_OPTION)
        if poll.message_id and event.message is not None and event.message.message_id != poll.message_id:
            raise InputError(NOT_AN_OPTION)
        return poll
