"""/poll, the poll buttons and the new-poll form: parse, check the moderator, call the poll runtime."""

from __future__ import annotations

import re
from dataclasses import replace

from bot.core.adapter import Responder, UnsupportedOperation
from bot.core.events import ButtonClick, Command, Event, Form, FormField, FormSubmitted, Reply, Visibility
from bot.core.moderation import require_moderator
from bot.errors import InputError
from bot.polls import claims as bank
from bot.polls.model import DEFAULT_DURATION, SCALE, PollSpec, check_claim, check_options, parse_bool, parse_duration
from bot.polls.runtime import PollRuntime
from bot.polls.service import UnknownPoll

NEW_POLL_FORM = "poll:new"
FLAG = re.compile(r"\b(duration|anonymous|hidden)\s*=\s*(\S+)", re.IGNORECASE)
HELP = (
    "Start a poll: /poll (the next claim from the reading), or /poll <claim> | <option> | <option> "
    "[duration=90m] [anonymous=on|off] [hidden=on|off]. End one early: /poll close."
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


def parse_poll(text: str, options: dict[str, str], claims: list[bank.Claim]) -> PollSpec:
    """A PollSpec from the command's text or its options (Discord's slash options).

    An empty ``claim`` means "the next claim from the bank"; the other settings given
    (options, duration, anonymity, hidden results) still apply to it."""
    flags = {k.lower(): v for k, v in FLAG.findall(text)}
    flags.update({k: v for k, v in options.items() if k in ("duration", "anonymous", "hidden") and v})
    if options.get("claim") or options.get("options"):  # structured: a claim may contain "|"
        claim_text = options.get("claim", "").strip()
        parts = [p for p in options.get("options", "").split("|")] if options.get("options") else []
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
    if raw.get("action", "").strip().lower() == "close":
        return "close", {}
    fields = {key: value for key in STRUCTURED if (value := raw.get(key, "").strip())}
    if fields or "action" in raw:
        return "", fields
    return event.text.strip(), {}


def is_bare(text: str, options: dict[str, str]) -> bool:
    """/poll with nothing at all: the moderator gets a form where the platform has one."""
    return not text.strip() and not any(options.get(k) for k in ("claim", "options", "duration", "anonymous", "hidden"))


class PollHandler:
    def __init__(self, runtime: PollRuntime, moderators: frozenset[str]) -> None:
        self.runtime = runtime
        self.moderators = moderators

    async def command(self, event: Event, responder: Responder) -> None:
        assert isinstance(event, Command)
        text, options = command_input(event)
        if text.lower() in ("help", "?"):
            await responder.reply(private(HELP))
            return
        if text.lower().startswith("close"):
            require_moderator(event.user, self.moderators, "close polls")
            await responder.acknowledge()
            await self._close_latest(event, text[5:].strip(), responder)
            return
        # cheap checks first: a refusal or a typo is answered privately, with no public "thinking…"
        require_moderator(event.user, self.moderators, "start polls")
        spec = parse_poll(text, options, self.runtime.claims)
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
        poll, card = await self.runtime.start(spec, event.where, event.user)
        try:
            ref = await responder.reply(card)
        except Exception:
            await self.runtime.discard(poll)
            raise
        await self.runtime.posted(poll, ref)

    async def _from_bank(self, spec: PollSpec, event: Command) -> PollSpec:
        claim = await self.runtime.next_claim(event.where.channel.platform, event.where.channel.id)
        if claim is None:
            raise InputError("Every claim in the bank has been polled in this channel; give one: /poll <claim>.")
        return replace(spec, claim=claim.claim, section=claim.section, passage=claim.passage, claim_id=claim.id)

    async def _new_poll_form(self, event: Command) -> Form:
        used = await self.runtime.service.polled_claim_ids(event.where.channel.platform, event.where.channel.id)
        fresh = [c for c in self.runtime.claims if c.id not in used] or self.runtime.claims
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
        known = next((c for c in self.runtime.claims if c.id == values.get("claim_id")), None)
        if own:
            claim_text = own
        elif known is not None:
            claim_text = known.claim
        else:
            raise InputError("Pick a claim from the list or write one.")
        options = [o for o in values.get("options", "").splitlines() if o.strip()]
        options_text = " | ".join(options)
        text = f"{claim_text}{' | ' + options_text if options_text else ''}"
        spec = parse_poll(
            text, {k: values[k] for k in ("duration", "anonymous", "hidden") if values.get(k)}, self.runtime.claims
        )
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

    async def button(self, event: Event, responder: Responder) -> None:
        assert isinstance(event, ButtonClick)
        if event.action == "poll:close":
            require_moderator(event.user, self.moderators, "close polls")
            if await self.runtime.service.get(event.value) is None:
                raise UnknownPoll()
            told = await self.runtime.close_poll(event.value, decided=responder.acknowledge)  # stored: Slack may know
            if told is None:
                raise InputError("This poll is already closed.")
            await responder.reply(private(closed_line(told, event.where.channel.platform)))
            return
        poll_id, _, option = event.value.rpartition(":")
        if not poll_id or not option.isdigit():
            raise InputError("This poll no longer exists.")
        await responder.reply(private(await self.runtime.vote(poll_id, int(option), event.user)))
