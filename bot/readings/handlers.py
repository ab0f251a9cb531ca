"""/reading: what the channel reads, the list of readings, and (moderators) use, add, remove."""

from __future__ import annotations

from bot.core.adapter import Responder
from bot.core.events import Command, Event, Reply, Visibility
from bot.core.moderation import require_moderator
from bot.core.outbox import Outbox
from bot.core.text import counted
from bot.errors import InputError
from bot.readings.commands import ACTIONS
from bot.readings.pacing import SyllabusRunner
from bot.readings.service import Listed, ReadingService
from bot.readings.store import check_id

HELP = (
    "Readings: /reading (this channel's reading) · /reading list · moderators: /reading use ID · "
    "/reading add ID [title] with the file attached · /reading remove ID · "
    "/reading progress SECTION (how far the group has read; clear: all of it)"
)
CLEAR_WORDS = ("clear", "all", "none", "off", "reset")
MAX_SECTIONS_SHOWN = 8


def private(text: str) -> Reply:
    return Reply(text, visibility=Visibility.PRIVATE)


def describe(reading: Listed) -> str:
    shown = ", ".join(reading.sections[:MAX_SECTIONS_SHOWN])
    more = f", … ({len(reading.sections)} in all)" if len(reading.sections) > MAX_SECTIONS_SHOWN else ""
    return f"“{reading.title}” ({reading.id}): {counted(len(reading.sections), 'section')}: {shown}{more}"


def command_input(event: Command) -> tuple[str, list[str]]:
    """(action, the words after it) from the declared options (Discord) or the text (Slack, console)."""
    options = event.options
    if options.get("action") or options.get("id") or options.get("section"):
        action = options.get("action", "").strip().lower()
        action = action or ("use" if options.get("id") else "progress" if options.get("section") else "show")
        if action == "progress":
            return action, options.get("section", "").split()
        rest = [w for w in (options.get("id", "").strip(), options.get("title", "").strip()) if w]
        return action, rest
    words = event.text.split()
    if not words:
        return "show", []
    return words[0].lower(), words[1:]


class ReadingHandler:
    def __init__(
        self,
        service: ReadingService,
        outbox: Outbox,
        moderators: frozenset[str],
        *,
        syllabus: SyllabusRunner | None = None,
    ) -> None:
        self.service = service
        self.outbox = outbox
        self.moderators = moderators
        self.syllabus = syllabus

    async def command(self, event: Event, responder: Responder) -> None:
        assert isinstance(event, Command)
        action, rest = command_input(event)
        if action in ("help", "?"):
            await responder.reply(private(HELP))
            return
        if action not in ACTIONS:
            raise InputError(f"I don't know /reading {action[:30]}. {HELP}")
        if action in ("use", "add", "remove"):
            require_moderator(event.user, self.moderators, f"{action} readings")
        if action == "progress" and rest:
            require_moderator(event.user, self.moderators, "set how far the group has read")
        await responder.acknowledge()
        if action == "show":
            await responder.reply(private(await self._show(event)))
        elif action == "list":
            await responder.reply(private(await self._list(event)))
        elif action == "use":
            await responder.reply(await self._use(event, rest))
        elif action == "remove":
            await responder.reply(private(await self._remove(rest)))
        elif action == "progress":
            await responder.reply(await self._progress(event, rest))
        else:
            await self._add(event, rest, responder)

    async def _show(self, event: Command) -> str:
        channel = event.where.channel
        current = await self.service.current(channel.platform, channel.id)
        outlook = None
        if self.syllabus is not None:
            outlook = await self.syllabus.outlook(channel.platform, channel.id, self.service.clock.now())
        if current is None:
            ids = ", ".join(await self.service.ids()) or "none yet"
            lines = [
                f"No reading is set for this channel, so questions search every reading ({ids}). "
                "A moderator can choose one with /reading use ID."
            ]
        else:
            lines = [f"This channel is reading {describe(await self.service.get(current))}."]
            lines.append(await self._how_far(event, current))
        return "\n".join([*lines, *([outlook] if outlook else [])])

    async def _how_far(self, event: Command, current: str) -> str:
        channel = event.where.channel
        record = await self.service.progress_record(channel.platform, channel.id)
        if record is None:
            return "The group can ask about all of it (no progress is set)."
        sections = await self.service.sections(current)
        who = "the syllabus" if record.set_by == "syllabus" else "a moderator"
        return (
            f"The group has read up to “{record.section}” (section {record.section_order + 1} of {len(sections)}, "
            f"set by {who}); answers use nothing past it."
        )

    async def _progress(self, event: Command, rest: list[str]) -> Reply:
        channel = event.where.channel
        typed = " ".join(rest).strip()
        current = await self.service.current(channel.platform, channel.id)
        if not typed:
            if current is None:
                return private("This channel has no reading yet. A moderator can choose one with /reading use ID.")
            return private(await self._how_far(event, current) + " Moderators: /reading progress SECTION, or clear.")
        if typed.lower() in CLEAR_WORDS and current is not None:
            exact = [s for s in await self.service.sections(current) if s.label.lower() == typed.lower()]
            if not exact:
                await self.service.clear_progress(channel.platform, channel.id)
                return Reply(f"The group can now ask about all of {current}: answers may draw on every section.")
        reading, section = await self.service.set_progress(channel.platform, channel.id, typed, by=event.user.id)
        return Reply(
            f"This group has read {reading} up to “{section.label}”: answers here now use only the sections "
            "up to and including it."
        )

    async def _list(self, event: Command) -> str:
        channel = event.where.channel
        current = await self.service.current(channel.platform, channel.id)
        listed = await self.service.listed()
        if not listed:
            return "There are no readings yet. A moderator can add one: /reading add ID with the file attached."
        lines = [
            f"• {r.id}: “{r.title}”, {counted(len(r.sections), 'section')}"
            + (" (this channel’s reading)" if r.id == current else "")
            for r in listed
        ]
        return "Readings:\n" + "\n".join(lines)

    async def _use(self, event: Command, rest: list[str]) -> Reply:
        if len(rest) != 1:
            raise InputError("Say which reading: /reading use ID (see /reading list).")
        channel = event.where.channel
        reading = await self.service.use(channel.platform, channel.id, rest[0], by=event.user.id)
        return Reply(f"This channel now reads “{reading.title}” ({reading.id}). Questions here search it first.")

    async def _remove(self, rest: list[str]) -> str:
        if len(rest) != 1:
            raise InputError("Say which reading: /reading remove ID (see /reading list).")
        channels = await self.service.remove(rest[0])
        note = f" It was the current reading of {len(channels)} channel(s), which now have none." if channels else ""
        return f"Removed the reading {rest[0]}.{note}"

    async def _add(self, event: Command, rest: list[str], responder: Responder) -> None:
        if not rest:
            raise InputError("Give the new reading an id: /reading add ID [title], with the file attached.")
        reading_id, title = rest[0], " ".join(rest[1:])
        if not event.attachments:
            raise InputError(
                "Attach the reading's file (.txt, .md, .html, .pdf or .epub) to /reading add "
                "(on Slack: share the file in this channel first, then use the command)."
            )
        check_id(reading_id)  # before anything is downloaded
        attachment = event.attachments[0]
        title = " ".join(w for w in title.split() if w != attachment.id)  # the console's path is not a title
        data = await self.outbox.fetch(event.where.channel.platform, attachment, limit=self.service.max_bytes)
        doc = await self.service.load(data, attachment.name)  # a bad file is refused before any news
        await responder.reply(
            private(
                f"Adding {attachment.name} as {reading_id} ({counted(len(doc.sections), 'section')})… "
                "I'll say here when it's ready."
            )
        )
        reading = await self.service.add_doc(
            doc, attachment.name, reading_id=reading_id, title=title or None, by=event.user.id
        )
        await responder.reply(
            private(
                f"Added “{reading.title}” ({reading.id}) from {attachment.name}: "
                f"{counted(len(reading.sections), 'section')}. "
                f"Make it this channel's reading with /reading use {reading.id}.{await self._drafted(reading.id)}"
            )
        )

    async def _drafted(self, reading_id: str) -> str:
        """What was drafted for the reading, and where a moderator reviews it."""
        if self.service.drafts is None:
            return ""
        items = await self.service.drafts.queue.items(reading_id)
        questions = sum(1 for i in items if i.kind == "prompt")
        claims = len(items) - questions
        if not items:
            return ""
        if all(i.state == "approved" for i in items):
            return f" Drafted {questions} discussion questions and {claims} poll claims from it, approved."
        return (
            f" Drafted {questions} discussion questions and {claims} poll claims from it: review them with "
            "/prompt drafts and /poll drafts."
        )
