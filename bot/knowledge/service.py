"""The knowledge service: one object that indexes readings and answers questions.

Blocking by design (embedding, Chroma, LLM calls): async callers run ``ask`` in a
worker thread (see ``bot.core``), never on the event loop.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from readerwriterlock import rwlock

from bot.core.text import clean_question, neutralize_mentions
from bot.errors import InputError
from bot.knowledge.answer import Answer, extractive_answer
from bot.knowledge.embedder import BundledEmbedder, Embedder, make_embedder
from bot.knowledge.index import KnowledgeIndex, chroma_client
from bot.knowledge.ingest import Ingester, IngestReport
from bot.knowledge.llm import LLMAnswerer, LLMUnavailable, make_chat_model
from bot.knowledge.retrieval import Retrieval, Retriever
from bot.knowledge.smalltalk import small_talk_kind, small_talk_reply
from bot.settings import Settings

log = logging.getLogger(__name__)
SURROGATE = re.compile("[\ud800-\udfff]")
UNRESOLVED = re.compile(
    r"^(and|but|so|also|then|or)\b|^(what|how) about (it|that|this|them|those)\b|"
    r"\b(it|this|that|these|those)\s+(is|was|are|were|does|did|do|means?|work|works|matters?|happens?|"
    r"more|less|still|really)\b|\b(about|of|by|with|mean|means|explain|is|does) (it|this|that|these|those|them)"
    r"\W*$",
    re.IGNORECASE,
)


def unresolved_reference(question: str) -> bool:
    """A message that points back without saying to what ("and why?", "why does that
    matter?", "what does he mean by that?"). Personal pronouns are not counted: in a
    reading "he" is usually its subject."""
    return bool(UNRESOLVED.search(question.strip()))


def readable_question(question: object) -> str:
    """``clean_question`` plus a check that the text is real Unicode: bytes that were not
    UTF-8 reach Python as lone surrogates (command-line arguments, surrogateescape)."""
    if isinstance(question, bytes | bytearray):
        try:
            question = bytes(question).decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("That question is not valid UTF-8 text.") from None
    if isinstance(question, str) and SURROGATE.search(question):
        raise InputError("That question is not valid UTF-8 text.")
    return clean_question(question)


LLM_FALLBACK_NOTE = "(The language model didn't answer, so this is quoted from the reading.)"


class KnowledgeService:
    def __init__(
        self,
        index: KnowledgeIndex,
        *,
        knowledge_dir: Path,
        llm: LLMAnswerer | None = None,
        closers: Sequence[Callable[[], object]] = (),
        reopen: Callable[[], Any] | None = None,
    ) -> None:
        """``closers`` release what :meth:`open` opened for this service (its Chroma client);
        ``reopen`` makes a fresh embedded Chroma client (:meth:`reload`)."""
        self.index = index
        self._closers = tuple(closers)
        self._reopen = reopen
        self._rw = rwlock.RWLockWrite()  # questions share it; a reload takes it alone
        self.retriever = Retriever(index)
        self.knowledge_dir = knowledge_dir
        self.llm = llm
        self._ingest_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        chat_model: Any = None,
        chroma: Any = None,
        rebuild: bool = False,
    ) -> KnowledgeService:
        """``rebuild`` starts from an empty index (after changing READBOT_EMBEDDINGS)."""
        embedder = embedder or make_embedder(settings.embeddings)
        if isinstance(embedder, BundledEmbedder):
            embedder.preload()  # overlaps loading the model with opening Chroma
        client = chroma if chroma is not None else chroma_client(settings.data_dir, settings.chroma_url or None)
        closers = () if chroma is not None or not hasattr(client, "close") else (client.close,)
        embedded = chroma is None and not settings.chroma_url

        def reopen() -> Any:
            return chroma_client(settings.data_dir)

        index = KnowledgeIndex(client, embedder, rebuild=rebuild)
        if chat_model is None and settings.llm:
            chat_model = make_chat_model(settings.llm)
        llm = LLMAnswerer(chat_model, timeout=settings.llm_timeout) if chat_model else None
        return cls(
            index, knowledge_dir=settings.knowledge_dir, llm=llm, closers=closers, reopen=reopen if embedded else None
        )

    def ingest(
        self,
        paths: Sequence[Path] | None = None,
        *,
        reading: str | None = None,
        prune: bool = False,
        rebuild: bool = False,
        progress: Any = None,
    ) -> IngestReport:
        with self._rw.gen_rlock(), self._ingest_lock:
            if rebuild:
                self.index.reset()
            report = Ingester(self.index, progress).run(
                list(paths) if paths else [self.knowledge_dir], reading=reading, prune=prune
            )
            if report.changed or rebuild:
                self.retriever.invalidate()  # rebuilt on the next question, not by every ingest
            return report

    def ensure_ingested(self) -> IngestReport | None:
        """Index the shipped reading on first use (an empty data dir); not again once readings were
        removed down to none."""
        with self._rw.gen_rlock():  # a reload may be swapping the index
            if self.index.count() > 0:
                if not self.index.seeded:  # an index from before the flag, or one filled by `readbot ingest`
                    self.index.mark_seeded()
                return None
            if self.index.seeded:
                return None
        report = self.ingest()
        with self._rw.gen_rlock():
            self.index.mark_seeded()
        log.info("indexed %s: %s", self.knowledge_dir, report.summary())
        return report

    def warm(self) -> None:
        """Load the model, the index and the lexical side now rather than on the first question."""
        self.ensure_ingested()
        self.retriever.search("warm up")

    def retrieve(self, question: str, *, reading: str | None = None) -> Retrieval:
        with self._rw.gen_rlock():
            return self.retriever.search(readable_question(question), reading=reading)

    def ask(self, question: object, *, reading: str | None = None, history: Sequence[str] = ()) -> Answer:
        self.ensure_ingested()  # outside the read lock: ingesting takes it itself (no nested acquire)
        with self._rw.gen_rlock():
            return self._ask(question, reading=reading, history=history)

    def _ask(self, question: object, *, reading: str | None = None, history: Sequence[str] = ()) -> Answer:
        """Answer one question. Raises InputError for an unusable question.

        Small talk ("thanks!", "what can you do?") gets a short reply, no retrieval. A
        question leans on its thread only when it cannot stand alone (not covered by
        itself, or an unresolved "and ...?"/"that"), and only if, searched together with
        the thread's last question, it is covered and at least half of its own words are
        in the section found (so "What is his favourite pizza?" after a covered question
        is not answered from that question's section)."""
        text = readable_question(question)
        kind = small_talk_kind(text)
        if kind is not None:
            return Answer(text, small_talk_reply(kind), False, (), small_talk=True)
        if reading is not None and reading not in self.readings():
            known = ", ".join(self.readings()) or "none"
            raise InputError(f"There is no reading called “{reading}”. Readings: {known}.")
        retrieval = self.retriever.search_parts(text, reading=reading)
        if history and retrieval.hits and (not retrieval.covered or unresolved_reference(text)):
            contextual = self.retriever.search(f"{history[-1]} {text}", reading=reading)
            if contextual.covered and self.retriever.own_terms_share(text, contextual) >= 0.5:
                retrieval = replace(contextual, question=text)
        answer = extractive_answer(retrieval, self.retriever.following)
        if self.llm is not None and answer.grounded:
            answer = self._llm_answer(retrieval, answer, history)
        return replace(answer, body=neutralize_mentions(answer.body), citation=neutralize_mentions(answer.citation))

    def readings(self) -> list[str]:
        return self.retriever.lexical.readings()

    def _llm_answer(self, retrieval: Retrieval, fallback: Answer, history: Sequence[str]) -> Answer:
        assert self.llm is not None
        try:
            prose = self.llm.answer(retrieval, history, fallback.evidence)
        except LLMUnavailable as exc:
            log.warning("LLM unavailable, answering extractively: %s", exc)
            return replace(fallback, body=f"{fallback.body}\n{LLM_FALLBACK_NOTE}", note=str(exc))
        # the citation stays ours, from retrieval: drop any the model wrote itself
        prose = "\n".join(ln for ln in prose.splitlines() if not ln.strip().lower().startswith(("source:", "sources:")))
        return replace(fallback, body=prose.strip() or fallback.body)

    def reading_sources(self, reading: str) -> list[str]:
        """The files ``reading`` is indexed from."""
        with self._rw.gen_rlock():
            return sorted(r.source for r in self.index.files().values() if r.reading == reading)

    def remove_reading(self, reading: str) -> None:
        """Forget every chunk of ``reading`` (all its files)."""
        with self._rw.gen_rlock(), self._ingest_lock:
            for record in self.index.files().values():
                if record.reading == reading:
                    self.index.delete_file(record.source)
            self.retriever.invalidate()

    def reading_sections(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """Each indexed reading's title and sections (headings with text under them), in reading order."""
        sections: dict[str, list[str]] = {}
        titles: dict[str, str] = {}
        with self._rw.gen_rlock():
            chunks = self.index.all_chunks()
        for indexed in chunks:  # sorted by reading, document, position
            found = sections.setdefault(indexed.reading, [])
            titles.setdefault(indexed.reading, indexed.chunk.title or indexed.reading)
            if indexed.chunk.section and indexed.chunk.section not in found:
                found.append(indexed.chunk.section)
        return {reading: (titles[reading], tuple(found)) for reading, found in sections.items()}

    def section_titles(self) -> list[str]:
        """Every indexed reading's section headings, each once, in reading order, from the in-memory
        search index (cheap: nothing read from Chroma unless the index changed since the last question)."""
        with self._rw.gen_rlock():
            return list(dict.fromkeys(s.heading for s in self.retriever.lexical.sections if s.heading))

    def reload(self) -> None:
        """Another process changed the index (a reading added or removed): search what it holds now.

        Embedded Chroma keeps its vector index in memory, and another process's writes reach it only
        through a fresh client; questions in flight finish first (a readers–writer lock)."""
        with self._rw.gen_wlock():
            if self._reopen is not None:
                for close in self._closers:
                    close()
                self._closers = ()
                try:
                    client = self._reopen()
                    index = KnowledgeIndex(client, self.index.embedder)
                except Exception:  # once more (a busy file); if that fails too, the watcher tries again later
                    log.warning("reopening the index failed; trying once more", exc_info=True)
                    client = self._reopen()
                    index = KnowledgeIndex(client, self.index.embedder)
                self._closers = (client.close,)
                self.index = index
                self.retriever = Retriever(self.index)
            self.retriever.refresh()

    def close(self) -> None:
        """Release the LLM client and the Chroma client this service opened (its native threads must
        not outlive the interpreter's shutdown). Idempotent."""
        if self.llm is not None:
            self.llm.close()
        closers, self._closers = self._closers, ()
        for close in closers:
            try:
                close()
            except Exception:
                log.warning("closing the Chroma client failed", exc_info=True)
