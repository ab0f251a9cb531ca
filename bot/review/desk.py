"""The moderator's review desk, the same for every kind of item: ``/prompt drafts`` and
``/poll drafts`` list what waits, each with Approve, Edit and Reject buttons; Edit opens a form where
the platform has forms (Slack), else says which command argument does it
(``/prompt drafts edit ID new text``). Every action is checked on our side (a moderator), and a bad
one (an unknown id, a draft already rejected, an edit into a mass mention or over the limit) gets
one private line and changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.clock import Clock
from bot.core.adapter import Responder, UnsupportedOperation
from bot.core.events import Button, ButtonClick, Command, Event, Form, FormField, FormSubmitted, Reply, Visibility
from bot.core.moderation import require_moderator
from bot.errors import InputError
from bot.review.banks import Banks
from bot.review.queue import APPROVED, PENDING, REJECTED, SUGGESTED, Item, ReviewQueue, UnknownItem

ACTION = "review"
EDIT_FORM = "review:edit"
SHOWN = 10  # drafts listed at once (each a message with its buttons)
PASSAGE_SHOWN = 200


@dataclass(frozen=True)
class Kind:
    kind: str  # prompt | claim
    noun: str  # "discussion question" | "claim"
    command: str  # "/prompt drafts" | "/poll drafts"
    check: Callable[[str], str]
    used_by: str  # where approved ones go


def private(text: str, buttons: tuple[Button, ...] = ()) -> Reply:
    return Reply(text, buttons=buttons, visibility=Visibility.PRIVATE)


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class ReviewDesk:
    def __init__(
        self, queue: ReviewQueue, banks: Banks, clock: Clock, moderators: frozenset[str], kinds: Mapping[str, Kind]
    ) -> None:
        self.queue = queue
        self.banks = banks
        self.clock = clock
        self.moderators = moderators
        self.kinds = dict(kinds)

    def help(self, kind: Kind) -> str:
        return (
            f"{kind.command} lists the drafts waiting for review · {kind.command} approve ID · "
            f"{kind.command} reject ID · {kind.command} edit ID <new text> · {kind.command} all (every state)"
        )

    def card(self, item: Item) -> Reply:
        kind = self.kinds[item.kind]
        edited = " · edited" if item.original is not None else ""
        suggested = item.origin == SUGGESTED
        lines = [
            f"Suggested {kind.noun} {item.id} ({item.state}{edited}) for {item.reading_id}:"
            if suggested
            else f"Draft {kind.noun} {item.id} ({item.state}{edited}) from {item.reading_id}:",
            f"“{item.text}”",
            "Suggested by a member."
            if suggested
            else f"From “{item.section}”: “{_short(item.passage, PASSAGE_SHOWN)}”",
        ]
        buttons: tuple[Button, ...] = ()
        if item.state != REJECTED:
            buttons = (
                *((Button("Approve", f"{ACTION}:approve", item.id, "primary"),) if item.state == PENDING else ()),
                Button("Edit", f"{ACTION}:edit", item.id),
                Button("Reject", f"{ACTION}:reject", item.id, "danger"),
            )
        return private("\n".join(lines), buttons)

    # ------------------------------------------------------------------ the command

    async def command(self, kind_name: str, event: Command, rest: str, responder: Responder) -> None:
        """``<command> drafts [all | approve ID | reject ID | edit ID text]``; the caller checked nothing."""
        kind = self.kinds[kind_name]
        require_moderator(event.user, self.moderators, f"review draft {kind.noun}s")
        word, _, tail = rest.strip().partition(" ")
        word = word.lower()
        if word in ("help", "?"):
            await responder.reply(private(self.help(kind)))
        elif word in ("", "all"):
            await self._list(kind, event, responder, every=word == "all")
        elif word in ("approve", "reject"):
            item_id = tail.strip()
            if not item_id:
                raise InputError(f"Say which draft: {kind.command} {word} ID.")
            await responder.reply(await self._decide(kind, item_id, word, event.user.id))
        elif word == "edit":
            item_id, _, text = tail.strip().partition(" ")
            if not item_id:
                raise InputError(f"Say which draft and its new text: {kind.command} edit ID <new text>.")
            await responder.reply(await self._edit(kind, item_id, text, event.user.id))
        else:
            raise InputError(f"I don't know {kind.command} {_short(word, 30)}. {self.help(kind)}")

    async def _list(self, kind: Kind, event: Command, responder: Responder, *, every: bool) -> None:
        channel = event.where.channel
        reading = await self.banks.reading_of(channel.platform, channel.id)
        items = await self.queue.items(reading, kind=kind.kind)
        where = f"for {reading}" if reading else "for any reading"
        waiting = [i for i in items if i.state == PENDING]
        shown = items if every else waiting
        counts = {s: sum(1 for i in items if i.state == s) for s in (PENDING, APPROVED, REJECTED)}
        tally = f"{counts[PENDING]} waiting, {counts[APPROVED]} approved, {counts[REJECTED]} rejected"
        if not shown:
            if reading == self.banks.curated_reading and not items:
                text = f"{reading} has its own curated {kind.noun}s: nothing to review."
            else:
                text = f"No draft {kind.noun}s wait for review {where} ({tally})."
            await responder.reply(private(text))
            return
        more = f" Showing the first {SHOWN}; the rest follow once these are decided." if len(shown) > SHOWN else ""
        await responder.reply(
            private(
                f"Draft {kind.noun}s {where} ({tally}). Approved ones are used by {kind.used_by}.{more}\n"
                f"Approve, edit or reject each below, or: {self.help(kind)}"
            )
        )
        for item in shown[:SHOWN]:
            await responder.reply(self.card(item))

    async def _decide(self, kind: Kind | None, item_id: str, word: str, by: str) -> Reply:
        state = APPROVED if word == "approve" else REJECTED
        item = await self.queue.decide(item_id, state, by=by, now=self.clock.now(), kind=kind.kind if kind else None)
        noun = self.kinds[item.kind].noun
        if state == APPROVED:
            text = _short(item.text, 120)
            return private(f"Approved the {noun} {item.id}: “{text}”. It joins {item.reading_id}'s bank.")
        return private(f"Rejected the {noun} {item.id}: “{_short(item.text, 120)}”.")

    async def _edit(self, kind: Kind | None, item_id: str, text: str, by: str) -> Reply:
        item = await self.queue.get(item_id)
        if item is None or (kind is not None and item.kind != kind.kind):
            raise UnknownItem(item_id)
        edited = await self.queue.edit(
            item.id, text, by=by, now=self.clock.now(), kind=item.kind, check=self.kinds[item.kind].check
        )
        card = self.card(edited)
        return private(f"Saved.\n{card.text}", card.buttons)

    async def suggest(self, kind_name: str, event: Command, text: str) -> Reply:
        """A member's suggestion for the channel's reading, waiting for a moderator's review."""
        kind = self.kinds[kind_name]
        if not text.strip():
            raise InputError(f"Write the {kind.noun} after suggest: /prompt suggest <question>")
        channel = event.where.channel
        reading = await self.banks.reading_of(channel.platform, channel.id)
        if reading is None:
            raise InputError("This channel has no reading yet, so there is nowhere to suggest a question to.")
        item = await self.queue.suggest(reading, kind.kind, text, by=event.user.id, now=self.clock.now())
        return private(
            f"Thanks! Your {kind.noun} “{_short(item.text, 120)}” waits for a moderator's review; "
            f"once approved it joins {reading}'s questions."
        )

    # ------------------------------------------------------------------ buttons and the form

    async def button(self, event: Event, responder: Responder) -> None:
        assert isinstance(event, ButtonClick)
        verb = event.action.partition(":")[2]
        item = await self.queue.get(event.value)
        if item is None:
            raise UnknownItem(event.value)
        kind = self.kinds[item.kind]
        require_moderator(event.user, self.moderators, f"review draft {kind.noun}s")
        if verb in ("approve", "reject"):
            await responder.reply(await self._decide(kind, item.id, verb, event.user.id))
            return
        if verb != "edit":
            raise InputError("That button is no longer used.")
        if item.state == REJECTED:
            raise InputError("That draft was rejected; nothing to edit.")
        form = Form(
            f"{EDIT_FORM}:{item.id}",
            f"Edit the {kind.noun}"[:24],
            "Save",
            (
                FormField(
                    "text",
                    kind.noun.capitalize(),
                    default=item.text,
                    optional=False,
                    multiline=True,
                    max_length=300,
                    hint=f"From “{_short(item.section, 60)}”: “{_short(item.passage, 120)}”",
                ),
            ),
        )
        try:
            await responder.open_form(form)
        except UnsupportedOperation:
            await responder.reply(private(f"Edit it with: {kind.command} edit {item.id} <new text>"))

    async def form(self, event: Event, responder: Responder) -> None:
        assert isinstance(event, FormSubmitted)
        item_id = event.form_id.removeprefix(f"{EDIT_FORM}:")
        item = await self.queue.get(item_id)
        if item is None:
            raise UnknownItem(item_id)
        require_moderator(event.user, self.moderators, f"review draft {self.kinds[item.kind].noun}s")
        await responder.reply(await self._edit(None, item.id, event.values.get("text", ""), event.user.id))
