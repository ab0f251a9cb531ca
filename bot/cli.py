"""``readbot``: the command line and the composition root.

Resources are opened here, once, and passed down; nothing is created at import time.
Errors meant for a person (bad settings, bad input) print one line on stderr and exit
with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from bot.errors import InputError, ReadbotError

EXIT_USAGE = 2


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
    sub.add_parser(
        "doctor", help="check settings, tokens, data dir, model, index, Chroma and database (exit 1 if anything fails)"
    )

    polls = sub.add_parser("polls", help="list or export polls (for moderators)")
    polls_sub = polls.add_subparsers(dest="polls_command", required=True, parser_class=ArgumentParser)
    polls_sub.add_parser("list", help="every poll, newest last")
    export = polls_sub.add_parser("export", help="polls with their votes")
    export.add_argument("--poll", help="only this poll id")
    export.add_argument("--format", choices=["csv", "json"], default="csv")

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


def _open_service(*, rebuild: bool = False):
    from bot.knowledge.service import KnowledgeService
    from bot.settings import Settings

    return KnowledgeService.open(Settings.from_env(), rebuild=rebuild)


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

    if args.question != "-":
        readable_question(args.question)  # reject bad input (junk, not UTF-8) before loading anything
        with contextlib.closing(_open_service()) as service:
            _print_answer(service.ask(args.question, reading=args.reading), args.json, out)
        return 0
    with contextlib.closing(_open_service()) as service:
        return _ask_lines(service, args, out, stdin)


def _ask_lines(service, args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    service.ensure_ingested()
    for line in _stdin_lines(stdin):
        try:
            if line is None:
                raise InputError("That line is not valid UTF-8 text.")
            answer = service.ask(line, reading=args.reading)
        except InputError as exc:
            out.write(json.dumps({"error": str(exc)}, ensure_ascii=False) + "\n" if args.json else f"error: {exc}\n")
        else:
            _print_answer(answer, args.json, out)
        out.flush()
    return 0


def cmd_ingest(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from bot.knowledge.ingest import discover, progress_bar

    with contextlib.closing(_open_service(rebuild=args.rebuild)) as service:
        files, _ = discover(args.paths or [service.knowledge_dir])
        total = sum(p.stat().st_size for p, _ in files)
        report = service.ingest(args.paths, reading=args.reading, prune=args.prune, progress=progress_bar(total))
    for path, reason in report.failed:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    out.write(report.summary() + "\n")
    return 1 if report.failed and not (report.added or report.updated or report.unchanged) else 0


def cmd_run(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from bot.prompts.config import load_config
    from bot.runner import run_platforms
    from bot.settings import Settings, platforms_to_run

    settings = Settings.from_env()
    platforms = platforms_to_run(settings, args.platform)  # bad config stops here
    load_config(settings.config_path)  # ... and so does a bad readbot.toml
    asyncio.run(run_platforms(settings, platforms))
    return 0


def cmd_chat(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from bot.runner import run_console
    from bot.settings import Settings

    asyncio.run(run_console(Settings.from_env(), stdin, out))
    return 0


def cmd_doctor(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from bot.ops.doctor import run_doctor

    return run_doctor(out)


def cmd_polls(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from bot.app import poll_secret
    from bot.polls.export import export, list_polls
    from bot.polls.service import PollService
    from bot.settings import Settings
    from bot.store.db import Database, database_url

    settings = Settings.from_env()

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


def cmd_readings(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    from bot.app import open_readings
    from bot.readings.formats import load_path
    from bot.settings import Settings

    settings = Settings.from_env()
    if args.readings_command == "add":  # a bad file is refused before anything is opened
        load_path(args.path, max_bytes=settings.max_reading_mb * 1024 * 1024)

    async def go() -> str:
        async with open_readings(settings) as readings:
            if args.readings_command == "add":
                data = await asyncio.to_thread(args.path.read_bytes)
                reading = await readings.add(data, args.path.name, reading_id=args.id, title=args.title, by="cli")
                return f"added {reading.id}: “{reading.title}”, {len(reading.sections)} sections"
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
            return "\n".join(f"{r.id}\t{r.title}\t{len(r.sections)} sections" for r in listed) or "no readings"

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
    from bot.clock import SystemClock
    from bot.prompts.bank import load_questions
    from bot.prompts.config import load_config
    from bot.prompts.preview import preview
    from bot.prompts.service import PromptService
    from bot.settings import Settings
    from bot.store.db import Database, database_url

    settings = Settings.from_env()
    config = load_config(settings.config_path)

    async def go() -> str:
        db = await Database.open(database_url(settings.database_url, settings.data_dir))
        try:
            service = PromptService(db, load_questions())
            return await preview(service, config, SystemClock().now(), args.days)
        finally:
            await db.close()

    out.write(asyncio.run(go()) + "\n")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO, TextIO], int]] = {
    "ask": cmd_ask,
    "ingest": cmd_ingest,
    "run": cmd_run,
    "chat": cmd_chat,
    "doctor": cmd_doctor,
    "polls": cmd_polls,
    "prompts": cmd_prompts,
    "readings": cmd_readings,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args, sys.stdout, sys.stdin)
    except ReadbotError as exc:
        print(f"readbot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
