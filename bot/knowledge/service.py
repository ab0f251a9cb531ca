"""The knowledge service: one object that indexes readings and answers questions.

Blocking by design (embedding, Chroma, LLM calls): async callers run ``ask`` in a
worker thread (see ``bot.core``), never on the event loop.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from readerwriterlock import rwlock

from bot.core.text import clean_question, neutralize_mentions
from bot.errors import InputError
from bot.knowledge.answer import Answer, extractive_answer, unanswered_note
from bot.knowledge.chatter import without_chatter
from bot.knowledge.embedder import BundledEmbedder, Embedder, make_embedder
from bot.knowledge.index import (
    Bound,
    IndexDamaged,
    IndexedChunk,
    KnowledgeIndex,
    chroma_client,
    forget_system,
    index_damaged,
)
from bot.knowledge.ingest import Ingester, IngestReport
from bot.knowledge.llm import LLMAnswerer, LLMUnavailable, make_chat_model
from bot.knowledge.retrieval import Passage, Retrieval, Retriever, SectionHit
from bot.knowledge.sections import SectionName, match_section
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
FURTHER_ON = (
    "That comes further on in {reading} than this group has read (up to “{upto}”), so I won't say yet. "
    "Ask again once you've read further."
)


def open_chroma(settings: Settings, *, rebuild: bool = False) -> Any:
    """The Chroma client of these settings. ``rebuild`` (embedded only): an index that can't be
    opened or read (every collection counted) is moved aside (``chroma.damaged-<time>``, nothing
    deleted) and a new, empty one made in its place."""
    if not rebuild:
        return chroma_client(settings.data_dir, settings.chroma_url or None)
    folder = settings.data_dir / "chroma"
    try:
        client = chroma_client(settings.data_dir)
        try:
            for collection in client.list_collections():
                client.get_collection(getattr(collection, "name", collection)).count()
        except Exception as exc:
            with contextlib.suppress(Exception):
                client.close()
            forget_system(folder)
            raise index_damaged(folder, exc) from None
        return client
    except IndexDamaged:
        aside = folder.with_name(f"chroma.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        folder.rename(aside)
        log.warning("the index at %s can't be read: moved it to %s, building a new one", folder, aside)
        return chroma_client(settings.data_dir)


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
        writer: bool = False,
    ) -> KnowledgeService:
        """``rebuild`` starts from an empty index (after changing READBOT_EMBEDDINGS). ``writer``: a
        process that ingests and answers no questions (``readbot ingest``); with the embedded index,
        it lets go of each shard it is done with, so its memory stays bounded whatever the size
        of what it writes (see ``bot.knowledge.index``)."""
        embedder = embedder or make_embedder(settings.embeddings)
        if isinstance(embedder, BundledEmbedder):
            embedder.preload()  # overlaps loading the model with opening Chroma
        embedded = chroma is None and not settings.chroma_url
        client = chroma if chroma is not None else open_chroma(settings, rebuild=rebuild and embedded)

        def reopen() -> Any:
            return chroma_client(settings.data_dir)

        index = KnowledgeIndex(client, embedder, rebuild=rebuild, reopen=reopen if writer and embedded else None)
        closers = () if chroma is not None or not hasattr(client, "close") else (index.close,)
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
            if self.index.seeded:  # the flag is read from memory: no count on every question
                return None
            if self.index.count() > 0:  # an index from before the flag, or one filled by `readbot ingest`
                self.index.mark_seeded()
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

    def retrieve(self, question: str, *, reading: str | None = None, bound: Bound | None = None) -> Retrieval:
        with self._rw.gen_rlock():
            return self.retriever.search(readable_question(question), reading=reading, bound=bound)

    def ask(
        self,
        question: object,
        *,
        reading: str | None = None,
        history: Sequence[str] = (),
        upto: int | None = None,
        bounded: str | None = None,
    ) -> Answer:
        """``upto``: the section order (see :meth:`sections`) the group has read ``bounded`` (default
        ``reading``) up to: nothing past it is searched, quoted or cited, and a question answered only
        further on is told so without being answered."""
        self.ensure_ingested()  # outside the read lock: ingesting takes it itself (no nested acquire)
        bound = None
        if upto is not None:
            target = bounded or reading
            if target is None:
                raise ValueError("a progress bound needs the reading it applies to")
            bound = Bound(target, upto)
        with self._rw.gen_rlock():
            return self._ask(question, reading=reading, history=history, bound=bound)

    def sections(self, reading: str) -> list[SectionName]:
        """The reading's sections in reading order, each with its section order (what ``upto`` takes)."""
        with self._rw.gen_rlock():
            return self._sections(reading)

    def _sections(self, reading: str) -> list[SectionName]:
        seen: dict[tuple[str, int], SectionName] = {}
        for indexed in self.retriever.lexical.chunks:  # sorted by reading, document, position
            if indexed.reading == reading:
                key = (indexed.chunk.document, indexed.chunk.section_order)
                seen.setdefault(key, SectionName(indexed.chunk.section_order, indexed.chunk.section))
        return list(seen.values())

    def find_section(self, reading: str, typed: str) -> SectionName:
        """The section of ``reading`` that ``typed`` names (UnknownSection / UnknownReading: one line)."""
        if reading not in self.readings():
            known = ", ".join(self.readings()) or "none"
            raise InputError(f"There is no reading called “{reading}”. Readings: {known}.")
        return match_section(self.sections(reading), typed, reading=reading)

    def _ask(
        self,
        question: object,
        *,
        reading: str | None = None,
        history: Sequence[str] = (),
        bound: Bound | None = None,
    ) -> Answer:
        """Answer one question. Raises InputError for an unusable question.

        Small talk ("thanks!", "what can you do?") gets a short reply, no retrieval. A
        question leans on its thread only when it cannot stand alone (not covered by
        itself, or an unresolved "and ...?"/"that"), and only if, searched together with
        the thread's last question, it is covered and at least half of its own words are
        in the section found (so "What is his favourite pizza?" after a covered question
        is not answered from that question's section); covered by a rule the thread's
        question set off (a gist, a place, a name) only if it has no words of its own."""
        text = readable_question(question)
        kind = small_talk_kind(text)
        if kind is not None:
            return Answer(text, small_talk_reply(kind), False, (), small_talk=True)
        if reading is not None and reading not in self.readings():
            known = ", ".join(self.readings()) or "none"
            raise InputError(f"There is no reading called “{reading}”. Readings: {known}.")
        retrieval = self.retriever.search_parts(text, reading=reading, bound=bound)
        leaned = False
        # "and how does it end?", "and what is the stroma?" say where themselves
        points = bool(retrieval.place or retrieval.introduction or retrieval.definition)
        if history and retrieval.hits and not points and (not retrieval.covered or unresolved_reference(text)):
            together = f"{without_chatter(history[-1])} {text}"  # "…valued at lol" + "what about its mission?"
            contextual = self.retriever.search(together, reading=reading, bound=bound, asking=text)
            # a rule the thread's question set off (a gist, a place, who a name is) answers a follow-up that
            # names nothing itself ("what happens in part 3?", "and why?"), not one that asks something new
            # ("what is it about?", "how many employees does SSI have?": no gist question)
            by_rule = contextual.gist or contextual.introduction or contextual.definition or bool(contextual.place)
            if (
                contextual.covered
                and not (by_rule and self.retriever.own_terms(text, contextual))
                and self.retriever.own_terms_share(text, contextual) >= 0.5
            ):
                retrieval = replace(contextual, question=text)
                leaned = True
        upto = self._upto_heading(bound) if bound is not None else None
        if bound is not None and reading == bound.reading and self._further_on(text, bound, retrieval):
            body = FURTHER_ON.format(reading=self._title(bound.reading), upto=upto)
            return Answer(text, neutralize_mentions(body), False, (), upto=upto, further=True)
        answer = extractive_answer(retrieval, self.retriever.following)
        if leaned and answer.grounded and not retrieval.gist:
            retrieval, answer = self._beyond(history[-1], retrieval, answer, reading, bound)
        if upto is not None:
            answer = replace(answer, upto=upto)
        if self.llm is not None and answer.grounded:
            answer = self._llm_answer(retrieval, answer, history)
        return replace(answer, body=neutralize_mentions(answer.body), citation=neutralize_mentions(answer.citation))

    def _beyond(
        self, previous: str, retrieval: Retrieval, answer: Answer, reading: str | None, bound: Bound | None
    ) -> tuple[Retrieval, Answer]:
        """A follow-up that leans on its thread ("why?", "and what does that mean?") and would quote
        exactly what the thread's last question was answered with says the next thing instead: the
        best passages of the same section not quoted yet. Unchanged if the section has nothing else."""
        before = extractive_answer(
            self.retriever.search_parts(previous, reading=reading, bound=bound), self.retriever.following
        )
        if not before.grounded:
            return retrieval, answer
        quoted = {(p.reading, p.document, p.position) for p in before.evidence}
        if not {(p.reading, p.document, p.position) for p in answer.evidence} <= quoted:
            return retrieval, answer
        top = retrieval.hits[0]
        fresh = tuple(p for p in top.passages if (p.reading, p.document, p.position) not in quoted)
        if not fresh:
            return retrieval, answer
        moved = replace(retrieval, hits=[replace(top, passages=fresh), *retrieval.hits[1:]], spans=False)

        def following(passage: Passage) -> Passage | None:
            after = self.retriever.following(passage)
            return None if after is None or (after.reading, after.document, after.position) in quoted else after

        return moved, extractive_answer(moved, following)

    def readings(self) -> list[str]:
        return self.retriever.lexical.readings()

    def _further_on(self, text: str, bound: Bound, bounded: Retrieval) -> bool:
        """Does the answer lie past the bound? Decided by the unbounded search of the reading, whose
        result is only looked at, never shown: it covers the question with a section past the bound
        first, and what the group has read either does not cover it or offers only a section the
        unbounded search does not rank among its best few (an earlier section that merely shares
        words with the question)."""
        if bounded.past_bound:  # "how does it end?", "what happens in part 9?" past the progress
            return True
        if bounded.gist or bounded.place:  # a place within reach is answered from it
            return False
        unbounded = self.retriever.search_parts(text, reading=bound.reading)
        if not unbounded.covered or unbounded.gist or not unbounded.hits:
            return False
        if self._order(unbounded.hits[0]) <= bound.section_order:
            return False
        if not bounded.covered or not bounded.hits:
            return True
        best = {(h.document, h.section) for h in unbounded.hits}
        return (bounded.hits[0].document, bounded.hits[0].section) not in best

    def _order(self, hit: SectionHit) -> int:
        lexical = self.retriever.lexical
        return int(lexical.section_order_of[lexical.at[(hit.reading, hit.document, hit.passages[0].position)]])

    def _upto_heading(self, bound: Bound) -> str:
        named = [s for s in self._sections(bound.reading) if s.order == bound.section_order]
        return named[0].label if named else f"section {bound.section_order + 1}"

    def _title(self, reading: str) -> str:
        lexical = self.retriever.lexical
        title = next((c.chunk.title for c in lexical.chunks if c.reading == reading and c.chunk.title), "")
        return f"“{title}”" if title else reading

    def _llm_answer(self, retrieval: Retrieval, fallback: Answer, history: Sequence[str]) -> Answer:
        assert self.llm is not None
        try:
            prose = self.llm.answer(retrieval, history, fallback.evidence)
        except LLMUnavailable as exc:
            log.warning("LLM unavailable, answering extractively: %s", exc)
            return replace(fallback, body=f"{fallback.body}\n{LLM_FALLBACK_NOTE}", note=str(exc))
        # the citation stays ours, from retrieval: drop any the model wrote itself
        prose = "\n".join(ln for ln in prose.splitlines() if not ln.strip().lower().startswith(("source:", "sources:")))
        if not prose.strip():
            return fallback
        return replace(fallback, body=prose.strip() + unanswered_note(retrieval))

    def nearest(
        self, text: str, *, reading: str | None = None, n: int = 5, upto: int | None = None
    ) -> list[tuple[float, IndexedChunk]]:
        """The chunks closest in meaning to ``text`` (cosine similarity of the embeddings, best first),
        of one reading or of all; with ``upto`` (and a reading) none past that section order."""
        bound = Bound(reading, upto) if reading is not None and upto is not None else None
        with self._rw.gen_rlock():
            hits = self.index.query(self.index.embedder.embed_query(text), n, reading, bound=bound)
            found = self.index.chunks([h.id for h in hits])
        return [(h.score, found[h.id]) for h in hits if h.id in found]

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
                self._closers = (index.close,)
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
