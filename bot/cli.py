"""``readbot``: the command line and the composition root.

Resources are opened here, once, and passed down; nothing is created at import time.
Every failure prints one line on stderr, never a traceback: bad settings or bad input exit with
status 2, a broken installation (a damaged index, a missing model file) or anything unexpected with
status 1, each line naming the fix where there is one (READBOT_LOG_LEVEL=DEBUG shows the traceback
of an unexpected one).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from bot.errors import BrokenInstall, ConfigError, InputError, ReadbotError

if TYPE_CHECKING:
    from bot.settings import Settings

EXIT_USAGE = 2
DEMO_QUESTION = "What is the main argument of the reading?"
EXIT_BROKEN = 1


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, status 2, like every other bad input
        self.exit(EXIT_USAGE, f"readbot: {message}\n")


def _parser() -> ArgumentParser:
    parser = ArgumentParser(prog="readbot", description="A discussion bot for reading groups.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)

    ask = sub.add_parser("ask", help="answer a question about the reading")
    ask.add_argument("question", help="the question, or - to read one question per line from stdin")
    ask.add_argument("--json", action="store_true", help="print JSON (one object per question)")
    ask.add_argument("--reading", help="only search this reading")
    ask.add_argument(
        "--upto", metavar="SECTION", help="with --reading: answer only from the sections up to and including this one"
    )

    ingest = sub.add_parser("ingest", help="index .txt/.md files (default: knowledge/)")
    ingest.add_argument("paths", nargs="*", type=Path)
    ingest.add_argument("--reading", help="the reading these files belong to (default: the file's folder, or its name)")
    ingest.add_argument("--prune", action="store_true", help="drop indexed files under PATHS that no longer exist")
    ingest.add_argument(
        "--rebuild", action="store_true", help="drop the whole index first (after changing READBOT_EMBEDDINGS)"
    )
    run = sub.add_parser("run", help="run the bot on Slack and/or Discord")
    run.add_argument(
        "--platform", choices=["slack", "discord", "all"], help="default: every platform whose token is set"
    )

    sub.add_parser("chat", help="talk to readbot in this terminal (no platform needed)")
    demo = sub.add_parser("demo", help="show readbot's three jobs in this terminal: a question, a prompt, a poll")
    demo.add_argument("--question", default=DEMO_QUESTION, help="the question to ask about the reading")
    sub.add_parser(
        "doctor", help="check settings, tokens, data dir, model, index, Chroma and database (exit 1 if anything fails)"
    )

    polls = sub.add_parser("polls", help="list or export polls (for moderators)")
    polls_sub = polls.add_subparsers(dest="polls_command", required=True, parser_class=ArgumentParser)
    polls_sub.add_parser("list", help="every poll, newest last")
    export = polls_sub.add_parser("export", help="polls with their votes")
    export.add_argument("--poll", help="only this poll id")
    export.add_argument("--format", choices=["csv", "json"], default="csv")

    feedback = sub.add_parser("feedback", help="👍/👎 feedback on answers (for moderators)")
    feedback_sub = feedback.add_subparsers(dest="feedback_command", required=True, parser_class=ArgumentParser)
    feedback_export = feedback_sub.add_parser("export", help="every verdict with its question, oldest first")
    feedback_export.add_argument("--format", choices=["csv", "json"], default="csv")
    insights = sub.add_parser(
        "insights", help="what the group asked: questions, sections, what the reading didn't cover, feedback"
    )
    insights.add_argument("--days", type=_days, default=7, help="how far back (1-366, default 7)")
    insights.add_argument("--json", action="store_true")
    readings = sub.add_parser("readings", help="add, list or remove readings")
    readings_sub = readings.add_subparsers(dest="readings_command", required=True, parser_class=ArgumentParser)
    add = readings_sub.add_parser("add", help="index one file (.txt .md .html .pdf .epub) as a reading")
    add.add_argument("path", type=Path)
    add.add_argument("--id", required=True, help="the reading's id (adding an existing id replaces it)")
    add.add_argument("--title", help="default: the file's own title")
    listing = readings_sub.add_parser("list", help="every reading with its sections")
    listing.add_argument("--json", action="store_true")
    remove = readings_sub.add_parser("remove", help="remove a reading from the index and every channel")
    remove.add_argument("id")
    drafts = readings_sub.add_parser(
        "drafts", help="the discussion questions and poll claims drafted for a reading, whatever their review state"
    )
    drafts.add_argument("id")
    drafts.add_argument("--json", action="store_true")

    prompts = sub.add_parser("prompts", help="daily discussion prompts (schedules in readbot.toml)")
    prompts_sub = prompts.add_subparsers(dest="prompts_command", required=True, parser_class=ArgumentParser)
    preview = prompts_sub.add_parser(
        "preview", help="upcoming posts of every schedule and their questions (uses nothing up)"
    )
    preview.add_argument("--days", type=_days, default=7, help="how far ahead (1-366, default 7)")
    return parser


def _days(raw: str) -> int:
    if not raw.strip().isdigit() or not 1 <= int(raw) <= 366:
        raise argparse.ArgumentTypeError(f"expected a number of days from 1 to 366, got {raw!r}")
    return int(raw)


def _settings():
    """The settings, with a data dir readbot can write (one line naming READBOT_DATA_DIR otherwise)."""
    from bot.ops.doctor import check_data_dir
    from bot.settings import Settings

    settings = Settings.from_env()
    problem = check_data_dir(settings)
    if problem is not None:
        raise ConfigError(problem)
    return settings


@contextlib.contextmanager
def _open_service(*, rebuild: bool = False, settings: Settings | None = None, writer: bool = False) -> Iterator:
    """The knowledge service, closed on leaving; a Chroma failure while it is used becomes one line
    (the index at … is damaged: run `readbot ingest --rebuild`). ``writer``: only ingests (its memory
    stays bounded, see ``KnowledgeService.open``)."""
    from bot.knowledge.index import index_failure
    from bot.knowledge.service import KnowledgeService

    settings = settings or _settings()
    with contextlib.closing(KnowledgeService.open(settings, rebuild=rebuild, writer=writer)) as service:
        try:
            yield service
        except Exception as exc:
            failure = index_failure(exc, settings.data_dir, settings.chroma_url or None)
            if failure is None:
                raise
            raise failure from exc


def _print_answer(answer, as_json: bool, out: TextIO) -> None:
    if as_json:
        out.write(json.dumps(answer.to_json(), ensure_ascii=False) + "\n")
        return
    out.write(answer.text + "\n")
    if answer.sources:
        label = "Sources" if answer.grounded else "Closest section"
        out.write(f"\n{label}:\n")
        for s in answer.sources:
            out.write(f"  - {s.section} ({s.reading}, score {s.score:.2f})\n")


def _stdin_lines(stdin: TextIO) -> Iterator[str | None]:
    """Lines of stdin, None for a line that is not valid UTF-8 (read as bytes, so one bad
    line never stops the others)."""
    raw = getattr(stdin, "buffer", None)
    if raw is None:  # a text stream without bytes underneath (tests, StringIO)
        yield from (line.rstrip("\r\n") for line in stdin)
        return
    for line in raw:
        try:
            yield line.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            yield None


def cmd_ask(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from bot.knowledge.service import readable_question

    if args.upto is not None and not args.reading:
        raise InputError("--upto needs --reading ID: the reading whose sections it counts")
    if args.question != "-":
        readable_question(args.question)  # reject bad input (junk, not UTF-8) before loading anything
        with _open_service() as service:
            upto = _upto(service, args)
            _print_answer(service.ask(args.question, reading=args.reading, upto=upto), args.json, out)
        return 0
    with _open_service() as service:
        return _ask_lines(service, args, out, stdin)


def _upto(service, args: argparse.Namespace) -> int | None:
    """The section order --upto names (a name matching no section: InputError, exit 2)."""
    if args.upto is None:
        return None
    service.ensure_ingested()
    return int(service.find_section(args.reading, args.upto).order)


def _ask_lines(service, args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    service.ensure_ingested()
    upto = _upto(service, args)
    for line in _stdin_lines(stdin):
        try:
            if line is None:
                raise InputError("That line is not valid UTF-8 text.")
            answer = service.ask(line, reading=args.reading, upto=upto)
        except InputError as exc:
            out.write(json.dumps({"error": str(exc)}, ensure_ascii=False) + "\n" if args.json else f"error: {exc}\n")
        else:
            _print_answer(answer, args.json, out)
        out.flush()
    return 0


def cmd_ingest(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from bot.knowledge.heap import limit_arenas
    from bot.knowledge.ingest import discover, progress_bar

    limit_arenas()  # before the models' and Chroma's threads start: bounded memory over a long ingest

    settings = _settings()
    with _open_service(rebuild=args.rebuild, settings=settings, writer=True) as service:
        files, _ = discover(args.paths or [service.knowledge_dir])
        total = sum(p.stat().st_size for p, _ in files)
        report = service.ingest(args.paths, reading=args.reading, prune=args.prune, progress=progress_bar(total))
        if args.rebuild and not args.paths:  # the readings added with /reading add or readbot readings add
            for copy in sorted((settings.data_dir / "readings").glob("*.md")):
                report = report.merged(service.ingest([copy], reading=copy.stem))
    for path, reason in report.failed:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if report.changed:
        _tell_running_processes(settings)
    out.write(report.summary() + "\n")
    return 1 if report.failed and not (report.added or report.updated or report.unchanged) else 0


def _tell_running_processes(settings: Settings) -> None:
    """The index changed under running readbot processes: bump the readings' version in the database,
    so their watchers reload it (as after /reading add). Best effort: a database that can't be
    reached is one line, and the ingest still stands."""
    from bot.readings.store import ReadingStore
    from bot.store.db import Database, database_url

    async def bump() -> None:
        db = await Database.open(database_url(settings.database_url, settings.data_dir))
        try:
            await ReadingStore(db).bump_version()
        finally:
            await db.close()

    try:
        asyncio.run(bump())
    except Exception as exc:
        print(
            f"readbot: indexed, but running readbot processes could not be told ({type(exc).__name__}): restart them",
            file=sys.stderr,
        )


def cmd_run(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from bot.prompts.config import load_config
    from bot.readings.syllabus import load_syllabus
    from bot.runner import run_platforms
    from bot.settings import platforms_to_run

    settings = _settings()
    platforms = platforms_to_run(settings, args.platform)  # bad config stops here
    load_config(settings.config_path)  # ... and so does a bad readbot.toml
    load_syllabus(settings.config_path)
    asyncio.run(run_platforms(settings, platforms))
    return 0


def cmd_chat(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from bot.runner import run_console

    asyncio.run(run_console(_settings(), stdin, out))
    return 0


def cmd_demo(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from bot.runner import run_demo
    from bot.settings import Settings

    settings = Settings.from_env()
    exe = Path(sys.argv[0]).name if sys.argv and Path(sys.argv[0]).name == "readbot" else "readbot"
    asyncio.run(run_demo(settings, args.question, out, exe=_command_name(exe)))
    return 0


def _command_name(name: str) -> str:
    """How to type readbot again: the venv's path when it isn't on PATH (a fresh `make run`)."""
    import shutil

    if shutil.which(name):
        return name
    here = Path(sys.executable).with_name(name)
    return str(here.relative_to(Path.cwd())) if here.exists() and here.is_relative_to(Path.cwd()) else name


def cmd_doctor(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from bot.ops.doctor import run_doctor

    return run_doctor(out)


def cmd_polls(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from bot.app import poll_secret
    from bot.polls.export import export, list_polls
    from bot.polls.service import PollService
    from bot.store.db import Database, database_url

    settings = _settings()

    async def go() -> str:
        db = await Database.open(database_url(settings.database_url, settings.data_dir))
        try:
            service = PollService(db, poll_secret(settings))
            if args.polls_command == "list":
                return await list_polls(service)
            return await export(service, args.poll, args.format)
        finally:
            await db.close()

    out.write(asyncio.run(go()) + "\n")
    return 0


def cmd_feedback(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from bot.app import open_answers
    from bot.ask.export import feedback_csv, feedback_json
    from bot.clock import SystemClock
    from bot.settings import Settings

    settings = Settings.from_env()

    async def go() -> str:
        async with open_answers(settings) as answers:
            if args.command == "insights":
                from bot.ask.feedback import insights

                found = await insights(answers, SystemClock(), args.days)
                return json.dumps(found.to_json(), ensure_ascii=False) if args.json else found.text()
            rows = await answers.feedback_rows()
            return feedback_json(rows) if args.format == "json" else feedback_csv(rows)

    out.write(asyncio.run(go()) + "\n")
    return 0


def cmd_readings(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from bot.app import open_readings
    from bot.core.text import counted
    from bot.readings.formats import load_path

    settings = _settings()
    if args.readings_command == "add":  # a bad file is refused before anything is opened
        load_path(args.path, max_bytes=settings.max_reading_mb * 1024 * 1024)

    async def go() -> str:
        async with open_readings(settings) as readings:
            if args.readings_command == "add":
                data = await asyncio.to_thread(args.path.read_bytes)
                reading = await readings.add(data, args.path.name, reading_id=args.id, title=args.title, by="cli")
                return f"added {reading.id}: “{reading.title}”, {counted(len(reading.sections), 'section')}"
            if args.readings_command == "drafts":
                return await _drafts(readings, args.id, args.json)
            if args.readings_command == "remove":
                channels = await readings.remove(args.id)
                note = f" (it was the current reading of {len(channels)} channel(s))" if channels else ""
                return f"removed {args.id}{note}"
            listed = await readings.listed()
            if args.json:
                return json.dumps(
                    [{"id": r.id, "title": r.title, "sections": list(r.sections)} for r in listed], ensure_ascii=False
                )
            rows = (f"{r.id}\t{r.title}\t{counted(len(r.sections), 'section')}" for r in listed)
            return "\n".join(rows) or "no readings"

    out.write(asyncio.run(go()) + "\n")
    return 0


async def _drafts(readings, reading_id: str, as_json: bool) -> str:
    """Everything drafted for the reading (the shipped reading: its curated banks, state "curated")."""
    from bot.app import CURATED_READING
    from bot.polls.claims import load_claims
    from bot.prompts.bank import load_questions

    await readings.get(reading_id)  # an unknown id: one line, exit 2
    found: dict[str, list[dict[str, object]]] = {"prompts": [], "claims": []}
    if readings.drafts is not None:
        for item in await readings.drafts.queue.items(reading_id):
            found["prompts" if item.kind == "prompt" else "claims"].append(item.to_json())
    if reading_id == CURATED_READING and not any(found.values()):
        curated = {"state": "curated", "origin": "curated"}
        found["prompts"] = [
            {"id": q.id, "question": q.question, "section": q.section, "passage": q.passage, **curated}
            for q in load_questions()
        ]
        found["claims"] = [
            {"id": c.id, "claim": c.claim, "section": c.section, "passage": c.passage, **curated} for c in load_claims()
        ]
    if as_json:
        return json.dumps(found, ensure_ascii=False)
    lines = []
    for key, label in (("prompts", "question"), ("claims", "claim")):
        lines.append(f"{len(found[key])} {label}s:")
        for entry in found[key]:
            lines.append(f"  {entry['id']} [{entry['state']}] {entry['section']}: {entry[label]}")
            lines.append(f"      “{entry['passage']}”")
    return "\n".join(lines)


def cmd_prompts(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from datetime import datetime

    from bot.app import open_readings
    from bot.clock import SystemClock
    from bot.prompts.bank import load_questions
    from bot.prompts.config import load_config
    from bot.prompts.preview import preview
    from bot.prompts.service import PromptService
    from bot.readings.pacing import SyllabusRunner
    from bot.readings.syllabus import check_readings, load_syllabus
    from bot.store.db import Database, database_url
    from bot.store.state import BotState

    settings = _settings()
    config = load_config(settings.config_path)
    syllabi = load_syllabus(settings.config_path)

    async def go() -> str:
        now = SystemClock().now()
        if not syllabi:
            db = await Database.open(database_url(settings.database_url, settings.data_dir))
            try:
                return await preview(PromptService(db, load_questions()), config, now, args.days)
            finally:
                await db.close()
        async with open_readings(settings) as readings:  # the syllabus needs the readings' sections
            runner = SyllabusRunner(readings, SystemClock(), syllabi, BotState(readings.store.db))
            check_readings(syllabi, await runner.section_counts_of_all(), settings.config_path)

            async def context(platform: str, channel: str, slot: datetime) -> str | None:
                step = await runner.at(platform, channel, slot)
                return None if step is None else await runner.describe(step)

            service = PromptService(readings.store.db, load_questions())
            text = await preview(service, config, now, args.days, context=context)
            return "\n".join([text, *await runner.plan_lines(now, args.days)])

    out.write(asyncio.run(go()) + "\n")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO, TextIO], int]] = {
    "ask": cmd_ask,
    "ingest": cmd_ingest,
    "run": cmd_run,
    "chat": cmd_chat,
    "demo": cmd_demo,
    "doctor": cmd_doctor,
    "polls": cmd_polls,
    "feedback": cmd_feedback,
    "insights": cmd_feedback,
    "prompts": cmd_prompts,
    "readings": cmd_readings,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args, sys.stdout, sys.stdin)
    except BrokenInstall as exc:
        print(f"readbot: {exc}", file=sys.stderr)
        return EXIT_BROKEN
    except ReadbotError as exc:
        print(f"readbot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`readbot ask - | head`): nothing to tell anyone
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        if os.environ.get("READBOT_LOG_LEVEL", "").strip().upper() == "DEBUG":
            raise
        print(f"readbot: {one_line(exc)} (READBOT_LOG_LEVEL=DEBUG shows where)", file=sys.stderr)
        return EXIT_BROKEN


def one_line(exc: BaseException) -> str:
    """An unexpected failure in a line: what it is and its message's first line."""
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
