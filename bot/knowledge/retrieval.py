"""Hybrid retrieval over sentence-sized chunks: dense (Chroma) + BM25, fused per section.

For a question readbot:

1. embeds it once and asks Chroma for the nearest chunks (one sentence or bullet each);
2. scores every chunk with BM25 over the chunk and its neighbours, and every section
   with BM25 over the whole section;
3. scores a chunk ``dense + WINDOW_WEIGHT * window_bm25 / max``, a section by its best
   chunk plus ``SECOND_WEIGHT`` times its second best (what a question asks is often
   told over two sentences of a passage) plus ``SECTION_WEIGHT * section_bm25 / max``
   (BM25 divided by the best score for this question, so the weights mean the same on
   any reading);
4. ranks each section's chunks for quoting (``passage`` scores add BM25 of the chunk
   alone, so the sentence that holds the question's words comes first);
5. lets the cross-encoder (:mod:`bot.knowledge.rerank`) read the best sentences of the best
   sections (``RERANK_PASSAGES``: 3 of the first, 1 of the second and third), each as "heading: sentence" (a
   heading often names what its section is about), and reorders those sections by fused
   score + ``RERANK_WEIGHT`` × their best logit, those sentences by + ``PASSAGE_RERANK_WEIGHT``
   × their logit (small: the lexical score keeps the line that holds a short question's
   words, "SSI disadvantages?" → the "Disadvantages:" line, first);
6. decides whether the reading covers the question with the calibrated model in
   :mod:`bot.knowledge.coverage`, the best logit among its inputs.

The weights were chosen on both kinds of reading together (the shipped summary and
FairytaleQA stories); the figures are printed by ``benchmarks/bench_retrieval.py``.
Three kinds of question are answered from where they point rather than by their words: "who is X?"
(where the reading introduces X), "what is X?" (where it heads or defines X,
:mod:`bot.knowledge.definitions`) and a question about a place in the reading ("what happens in
part 3?", "how does it end?", :mod:`bot.knowledge.places`).

Nothing here knows a reading's names or headings, except that a gist question
("tl;dr?") goes to a section the reading itself calls Summary/Overview/Abstract, unless
it names something the reading never mentions (:func:`names_elsewhere`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection
from dataclasses import dataclass, field, replace

import numpy as np

from bot.errors import InputError
from bot.knowledge.answer_kind import asks_feeling, states_feeling
from bot.knowledge.answer_kind import unstated as unstated_kind
from bot.knowledge.chatter import without_chatter
from bot.knowledge.coverage import CoverageModel, coverage_features
from bot.knowledge.definitions import Definer, defined_term, heading_names
from bot.knowledge.index import Bound, KnowledgeIndex
from bot.knowledge.lexical import LexicalIndex, ReadingVocabulary
from bot.knowledge.places import NAME_WORD, Place, identity_name, place_of
from bot.knowledge.quotes import unknown_quote
from bot.knowledge.relations import relation_ends
from bot.knowledge.rerank import CrossEncoder, shared_reranker
from bot.knowledge.sections import SectionName, match_section
from bot.knowledge.terms import content_terms, terms

WINDOW_WEIGHT = 0.3
SECTION_WEIGHT = 0.5
SECOND_WEIGHT = 0.3  # a section's second-best chunk counts this much (evidence spread over a section)
PASSAGE_WEIGHT = 0.7
DENSE_CANDIDATES = 100
PASSAGES_PER_SECTION = 4
# the cross-encoder reads this many best sentences of the best, second and third section: the quoted
# sentence is chosen in the first, and one each is enough to reorder (9 pairs: 1.6× the time, no better)
RERANK_PASSAGES = (3, 1, 1)
RERANK_WEIGHT = 0.125  # a section: its fused score + this × its best cross-encoder logit
PASSAGE_RERANK_WEIGHT = 0.08  # a sentence: its fused score + this × its logit
RERANK_HEADING = True  # the cross-encoder reads "heading: sentence" (a heading often names the topic)
RERANK_WITHOUT_SUBJECTS = True  # the cross-encoder reads the question without the reading's subject names
ENDING_WORDS = 30  # "how does it end?": the last two lines when they stay within this, else the last
INTRODUCTION_MENTIONS = 3  # "who is X?": the first mentions of X the cross-encoder reads
RERANK_FLOOR = -12.0  # the logit of a section none of whose sentences was read (the model's lowest)
GIST_INTENT = re.compile(
    r"\b(gist|tl;?\s?dr|summar(y|ize|ise)|overview|in a nutshell|main (point|idea|argument|"
    r"thesis|takeaways?)|central (argument|idea|point|claim)|key (points|takeaways?)|"
    r"what('s| is) (this|the|it) (\w+ )?about|"
    r"(short|shorter|quick|brief|one[- ]paragraph|one[- ]line|one[- ]sentence|two[- ]minute) version|"
    r"sum (it|this|that|things|everything) up|elevator pitch|cliff'?s?\s?notes?|"
    r"eli5|explain (it |this |that )?(to me )?like (i'?m|i am) (5|five))\b",
    re.IGNORECASE,
)
# what a gist question is about: "summary *of the great gatsby*", "main argument *in 'the alignment problem'*"
GIST_OBJECT = re.compile(r"\b(?:of|in|from|by|about|on)\s+([^,.;:!?]+)", re.IGNORECASE)


CLAUSE_START = re.compile(r"[,.;:!?()]|\b(?:because|since|cause|so|but|and|or|if|when|why|how)\b", re.IGNORECASE)
NEW_SUBJECT = re.compile(r"\b(?:i|i'm|im|we|you|he|she|they|it)\b", re.IGNORECASE)
# words that say which part of a reading a gist question is about without naming a topic
GIST_FRAME = frozenset({"part", "section", "bit", "piece", "whole", "entire", "first", "last", "give", "me"})


def gist_object(question: str) -> list[str]:
    """The content terms a gist question names as its object: after "of", "about"… ("summary
    *of the great gatsby*") or right after the gist phrase ("eli5 *the calvin cycle*"); none
    for "tl;dr?" or "the main argument of this episode" (frame words only)."""
    match = GIST_INTENT.search(question)
    after = question[match.end() :] if match else ""
    # each up to where a new clause starts ("…of this episode and why it matters", "…version, I didn't
    # finish it"); what follows the phrase itself also stops at a new subject
    phrases = [CLAUSE_START.split(p, maxsplit=1)[0] for p in GIST_OBJECT.findall(GIST_INTENT.sub(" ", question))]
    phrases.append(NEW_SUBJECT.split(CLAUSE_START.split(after, maxsplit=1)[0], maxsplit=1)[0])
    named = dict.fromkeys(t for phrase in phrases for t in content_terms(phrase) if t not in GIST_FRAME)
    return list(named)


def names_elsewhere(question: str, vocab: ReadingVocabulary | None) -> bool:
    """Whether a gist question asks about something the reading never mentions ("summary of the
    great gatsby?"): such a question is decided like any other, not sent to the overview.
    "tl;dr?", "the main argument of this episode" and "the gist of the part about the giant"
    (in a story with a giant) name nothing else."""
    if vocab is None:
        return False
    return any(t not in vocab.stems and t not in vocab.subjects for t in gist_object(question))


@dataclass(frozen=True)
class Passage:
    reading: str
    document: str
    section: str
    position: int
    text: str
    score: float
    details: tuple[str, ...] = ()  # the bullets under a passage that ends with ":"


@dataclass(frozen=True)
class SectionHit:
    reading: str
    document: str
    section: str
    score: float
    passages: tuple[Passage, ...]  # best first


@dataclass(frozen=True)
class Retrieval:
    question: str
    hits: list[SectionHit]
    covered: bool
    confidence: float
    threshold: float = 0.5
    features: dict[str, float] = field(default_factory=dict)
    gist: bool = False  # a "what is it about?" question
    overview: tuple[SectionHit, ...] = ()  # for a gist question on a reading without a summary
    spans: bool = False  # a two-part question whose parts are answered in two sections
    introduction: bool = False  # "who is X?", answered where the reading introduces X
    definition: bool = False  # "what is X?", answered where the reading heads or defines X
    place: str = ""  # a question about a place in the reading (bot.knowledge.places): its kind
    past_bound: bool = False  # ... a place past the group's progress
    unanswered: tuple[str, ...] = ()  # the parts of a question of several that the reading doesn't cover
    unstated: str = ""  # what the reading lacks that is asked for ("amount", "quote", "name"): not covered
    # a phrase the question quotes with a word the reading never uses ("quote"), or a name only another
    # reading uses ("name"): not covered
    unmentioned: str = ""


ASKING = r"(?:what|why|how|when|where|who|which|whose|does|do|did|is|are|was|were|can|could|will|would|should)\b"
PART_BREAK = re.compile(rf"\?\s+(?=\S)|;\s+|,?\s+(?:(?:and|but)(?:\s+also)?|also)\s+(?={ASKING})", re.IGNORECASE)
ASKS = re.compile(ASKING, re.IGNORECASE)  # a part that is a question of its own, not "palo alto?" after one


def question_parts(question: str) -> list[str]:
    """A question's separately asked parts ("What is X, and why does Y?"), or the two things a
    question asks the relation of ("how do X and Y fit together?", :mod:`bot.knowledge.relations`),
    when each says something on its own (a content word at least); else the question alone."""
    ends = relation_ends(question)
    if ends and all(content_terms(e) for e in ends):
        return ends
    parts = [p.strip(" ,?") for p in PART_BREAK.split(question) if p.strip(" ,?")]
    if len(parts) < 2 or any(not content_terms(p) for p in parts):
        return [question]
    return parts


NAME_TOKEN = re.compile(r"[\w\-]+(?:['’]s)?")


def without_names(question: str, names: frozenset[str]) -> str:
    """``question`` without the names its reading is about ("What does Ilya say about emotions?"
    → "What does say about emotions?"), for the cross-encoder: in a reading about Ilya every
    sentence is about him, but the model prefers the few that name him. The question as asked
    if nothing else would be left."""
    if not names:
        return question

    def drop(match: re.Match[str]) -> str:
        token = re.sub(r"['’]s$", "", match.group(0))
        return "" if token.lower() in names else match.group(0)

    stripped = re.sub(r"\s{2,}", " ", NAME_TOKEN.sub(drop, question)).strip()
    return stripped if content_terms(stripped) else question


def _normalised(x: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    top = float(x[mask].max()) if mask is not None and mask.any() else float(x.max(initial=0.0))
    return x / top if top > 0 else np.zeros_like(x)


def _top_two(chunk_score: np.ndarray, section_of: np.ndarray, n: int, weight: float = SECOND_WEIGHT) -> np.ndarray:
    """Each section's best chunk score plus ``weight`` times its second best (a section
    of one chunk counts its best twice)."""
    best = np.full(n, -np.inf, dtype=np.float32)
    np.maximum.at(best, section_of, chunk_score)
    leaders = np.flatnonzero(np.isfinite(chunk_score) & (chunk_score >= best[section_of]))
    _, first = np.unique(section_of[leaders], return_index=True)  # one leader per section, even on a tie
    rest = chunk_score.copy()
    rest[leaders[first]] = -np.inf
    second = np.full(n, -np.inf, dtype=np.float32)
    np.maximum.at(second, section_of, rest)
    second = np.where(np.isfinite(second), second, best)
    total = best.copy()
    ranked = np.isfinite(best)  # sections of this reading (the others stay -inf)
    total[ranked] += weight * second[ranked]
    return total


class Retriever:
    """Thread-safe: the lexical side is swapped atomically when the index changes."""

    def __init__(
        self,
        index: KnowledgeIndex,
        coverage: CoverageModel | None = None,
        *,
        window_weight: float = WINDOW_WEIGHT,
        section_weight: float = SECTION_WEIGHT,
        dense_weight: float = 1.0,
        second_weight: float = SECOND_WEIGHT,
        reranker: CrossEncoder | None = None,
        rerank_passages: tuple[int, ...] = RERANK_PASSAGES,
    ) -> None:
        """``reranker``: the cross-encoder (the process-wide one, loaded on first use, if not given);
        ``rerank_passages``: how many sentences of the best, second… section it reads (``()``: none,
        as the benchmark's dense and BM25 baselines)."""
        self.index = index
        self._reranker = reranker
        self.rerank_passages = rerank_passages
        self.second_weight = second_weight
        self.window_weight = window_weight
        self.section_weight = section_weight
        self.dense_weight = dense_weight
        self.coverage = coverage or CoverageModel.load()
        self._lock = threading.Lock()
        self._lexical: LexicalIndex | None = None
        self._stale = True

    def refresh(self) -> None:
        """Rebuild the lexical side from the index now."""
        lexical = LexicalIndex(self.index.all_chunks())
        with self._lock:
            self._lexical = lexical
            self._stale = False

    def invalidate(self) -> None:
        """The index changed: rebuild the lexical side before the next search."""
        self._stale = True

    @property
    def reranker(self) -> CrossEncoder:
        if self._reranker is None:
            self._reranker = shared_reranker()
        return self._reranker

    @property
    def lexical(self) -> LexicalIndex:
        if self._stale or self._lexical is None:
            self.refresh()
        assert self._lexical is not None
        return self._lexical

    def search(
        self,
        question: str,
        *,
        reading: str | None = None,
        k: int = 3,
        bound: Bound | None = None,
        asking: str | None = None,
    ) -> Retrieval:
        """``bound``: how far the group has read a reading; nothing past it is searched (Chroma's
        ``where`` and the lexical side's mask), so nothing past it is scored, quoted or cited.
        ``asking``: the words whose kind of answer is checked (an amount?), if not the whole
        ``question``: a follow-up searched together with its thread's question asks what it asks."""
        lexical = self.lexical
        if not lexical.chunks:
            return Retrieval(question, [], False, 0.0, self.coverage.threshold)
        question_text = question
        question = lexical.corrected(question_text)
        if reading is None:  # "How did the King reward Assipattle?": the one reading with an Assipattle
            reading = lexical.named_reading(question)
        vector = self.index.embedder.embed_query(question)
        dense_hits = self.index.query(vector, DENSE_CANDIDATES, reading=reading, bound=bound)
        dense = np.full(len(lexical.chunks), np.nan, dtype=np.float32)
        for hit in dense_hits:
            i = lexical.position.get(hit.id)
            if i is not None:
                dense[i] = hit.score
        known = ~np.isnan(dense)
        floor = float(np.nanmin(dense)) if known.any() else 0.0
        dense_filled = np.where(known, dense, floor)

        query_terms = content_terms(question)
        in_reading = (lexical.reading_of == reading) if reading else np.ones(len(lexical.chunks), bool)
        sections_in = (lexical.section_reading == reading) if reading else np.ones(len(lexical.sections), bool)
        if bound is not None:
            allowed = lexical.within(bound.reading, bound.section_order)
            in_reading = in_reading & allowed
            seen = np.zeros(len(lexical.sections), dtype=bool)
            seen[lexical.section_of[allowed]] = True
            sections_in = sections_in & seen
        window = _normalised(lexical.window_scores(query_terms, reading), in_reading)
        alone = _normalised(lexical.scores(query_terms, reading), in_reading)
        chunk_score = self.dense_weight * dense_filled + self.window_weight * window
        chunk_score = np.where(in_reading, chunk_score, -np.inf)
        section_score = _top_two(
            chunk_score, lexical.section_of, len(lexical.sections), self.second_weight
        ) + self.section_weight * _normalised(lexical.section_scores(query_terms, reading), sections_in)
        section_score = np.where(sections_in, section_score, -np.inf)
        passage_score = chunk_score + PASSAGE_WEIGHT * alone

        order = [int(s) for s in np.argsort(-section_score) if np.isfinite(section_score[s])]
        if bound is not None:
            passage_score = np.where(in_reading, passage_score, -np.inf)
        if not order:
            return Retrieval(question_text, [], False, 0.0, self.coverage.threshold)
        order, section_score, passage_score, read, logits = self._rerank(
            lexical, question, order, section_score, passage_score
        )
        hits = [self._hit(lexical, s, float(section_score[s]), passage_score, set(read)) for s in order[:k]]
        top_reading = hits[0].reading
        mine = known & (lexical.reading_of == top_reading)
        vocab = lexical.vocabulary.get(top_reading)
        if bound is not None and bound.reading == top_reading:
            vocab = lexical.vocabulary_within(bound.reading, bound.section_order)
        features = coverage_features(question, dense[mine], vocab)
        asked = content_terms(question, vocab.subjects) if vocab else query_terms
        features.update(self._local_terms(lexical, hits[0], asked))
        mine_read = [x for i, x in zip(read, logits, strict=True) if lexical.reading_of[i] == top_reading]
        features["rerank"] = float(max(mine_read, default=RERANK_FLOOR))
        rival = next(
            (s for s in order[1 : len(self.rerank_passages) or 3] if lexical.section_reading[s] == top_reading), None
        )
        if rival is not None:  # how far the best section stands out: a covered question is answered in one place
            features["margin"] = float(section_score[order[0]] - section_score[rival])
        covered, confidence = self.coverage.decide(features)
        introduced = self._introduction(lexical, question_text, top_reading, in_reading)
        if introduced is not None:  # who a name is: where the reading introduces it
            hits = self._led_by(lexical, introduced, hits, section_score, passage_score, k)
            covered = True
        place = place_of(question_text, vocab.subjects if vocab else frozenset()) if introduced is None else None
        if place is not None:
            base = Retrieval(question_text, hits, True, confidence, self.coverage.threshold, features, place=place.kind)
            return self._placed(lexical, place, base, top_reading, sections_in, section_score, passage_score, k)
        gist = bool(GIST_INTENT.search(question)) and not names_elsewhere(question, vocab)
        topic = [t for t in gist_object(question) if not vocab or t not in vocab.subjects] if gist else []
        if topic:  # the gist of one topic ("summary of the calvin cycle"): the section it names, decided as usual
            s = order[0]
            lead = _topic_lead(lexical, s, topic, alone)
            hits = [self._hit(lexical, s, hits[0].score, passage_score, lead), *hits[1:]]
            gist = False
        defined = None
        if not gist and not topic and introduced is None:  # "what is X?": where the reading heads or defines X
            defined = self._definition(lexical, question_text, top_reading, in_reading, passage_score)
        if defined is not None and (defined[1] or covered):  # a heading or a strong pattern says it covers X
            hits = self._led_by(lexical, defined[0], hits, section_score, passage_score, k)
            covered = True
        else:
            defined = None
        overview: tuple[SectionHit, ...] = ()
        if gist:
            summaries = [s for s in lexical.overview_sections(top_reading) if sections_in[s]]
            if summaries:
                best = max(summaries, key=lambda s: section_score[s])
                rest = [h for h in hits if h.section != lexical.sections[best].heading]
                lead = _overview_lead(lexical.sections[best].chunks, alone)
                hits = [self._hit(lexical, best, float(section_score[best]), passage_score, lead), *rest[: k - 1]]
            else:
                overview = self._outline(lexical, top_reading, sections_in, section_score)
            covered = True
        # the question as typed: spelling correction knows the reading's words, not the question's ("valued")
        asked_for = without_chatter(question_text if asking is None else asking)
        by_rule = gist or introduced is not None or defined is not None
        unstated = self._unstated(asked_for, hits[0]) if covered and not by_rule else ""
        if covered and not by_rule and asks_feeling(asked_for):  # "how did she feel…?": a feeling leads
            hits[0] = self._feeling_first(hits[0])
        whole = lexical.vocabulary.get(top_reading)  # the whole reading's words: a quote further on is not unknown
        unquoted = unknown_quote(asked_for, whole.stems, lexical.corrected) if covered and whole else ""
        # "How did the King reward Assipattle?" asked of a story with another king: Assipattle is another
        # reading's name. Said also when the model declines: the reply tells why
        foreign = lexical.foreign_name(question if asking is None else lexical.corrected(asking), top_reading)
        return Retrieval(
            question_text,
            hits,
            covered and not unstated and not unquoted and not foreign,
            confidence,
            self.coverage.threshold,
            features,
            gist,
            overview,
            introduction=introduced is not None,
            definition=defined is not None,
            unstated=unstated or ("quote" if unquoted else "name" if foreign else ""),
            unmentioned=unquoted or foreign,
        )

    def _led_by(
        self,
        lexical: LexicalIndex,
        chunk: int,
        hits: list[SectionHit],
        section_score: np.ndarray,
        passage_score: np.ndarray,
        k: int,
    ) -> list[SectionHit]:
        """``hits`` led by ``chunk``'s section, with ``chunk`` quoted first (a rule found where the answer is)."""
        s = int(lexical.section_of[chunk])
        ref = lexical.sections[s]
        rest = [h for h in hits if (h.reading, h.section) != (ref.reading, ref.heading)]
        score = max(float(section_score[s]), hits[0].score)  # sources stay best first
        return [self._hit(lexical, s, score, passage_score, {chunk}), *rest[: k - 1]]

    def _feeling_first(self, top: SectionHit) -> SectionHit:
        """``top`` with the first sentence the cross-encoder read that names a feeling leading, when the
        best one names none (:func:`bot.knowledge.answer_kind.states_feeling`)."""
        read = top.passages[: self.rerank_passages[0] if self.rerank_passages else 1]
        if not read or states_feeling(read[0].text):
            return top
        feeling = next((p for p in read[1:] if states_feeling(p.text)), None)
        if feeling is None:
            return top
        return replace(top, passages=(feeling, *(p for p in top.passages if p is not feeling)))

    def _unstated(self, question: str, top: SectionHit) -> str:
        """The kind of thing ``question`` asks for (an amount) that none of the sentences of
        ``top`` the cross-encoder read (they lead it) holds, or "" (:mod:`bot.knowledge.answer_kind`)."""
        read = top.passages[: self.rerank_passages[0] if self.rerank_passages else 1]
        return unstated_kind(question, [" ".join((p.text, *p.details)) for p in read])

    def _placed(
        self,
        lexical: LexicalIndex,
        place: Place,
        base: Retrieval,
        reading: str,
        sections_in: np.ndarray,
        section_score: np.ndarray,
        passage_score: np.ndarray,
        k: int,
    ) -> Retrieval:
        """``base`` answered from the place the question names: the section (its opening first; with
        ``asks``, its best passages for the question), the first or the last section (for the end,
        its last lines), or the reading's sections. A place past the group's progress is only
        flagged (``past_bound``); a section number the reading doesn't have is not covered, with the
        sections it does have."""
        if place.kind == "outline":
            return replace(base, overview=self._outline(lexical, reading, sections_in, section_score))
        ordered = _in_order(lexical, reading)
        if place.kind == "section" and place.number < 0:  # "the last part", counted from the end
            if -place.number > len(ordered):
                return replace(
                    base,
                    covered=False,
                    place="unknown section",
                    overview=self._outline(lexical, reading, sections_in, section_score),
                )
            target = ordered[place.number]
        elif place.kind == "section":
            names = [SectionName(i, lexical.sections[s].heading) for i, s in enumerate(ordered)]
            try:
                target = ordered[match_section(names, str(place.number), reading=reading).order]
            except InputError:
                outline = self._outline(lexical, reading, sections_in, section_score)
                return replace(base, covered=False, place="unknown section", overview=outline)
        else:
            target = ordered[0] if place.kind == "beginning" else ordered[-1]
        if not sections_in[target]:
            return replace(base, past_bound=True)
        rank = passage_score
        if place.kind != "section" or not place.asks:
            chunks = [i for i in lexical.sections[target].chunks if passage_score[i] > -np.inf]
            rank = np.zeros(len(lexical.chunks), dtype=np.float32)
            lead = chunks[0]
            if place.kind == "ending":  # its last line, with the one before when both are short
                short = sum(len(lexical.chunks[i].chunk.text.split()) for i in chunks[-2:]) <= ENDING_WORDS
                lead = chunks[-2] if len(chunks) > 1 and short else chunks[-1]
            rank[lead] = 1.0
        score = max(float(section_score[target]), base.hits[0].score)  # sources stay best first
        found = self._hit(lexical, target, score, rank)
        rest = [h for h in base.hits if (h.reading, h.section) != (found.reading, found.section)]
        return replace(base, hits=[found, *rest[: k - 1]])

    def _outline(
        self, lexical: LexicalIndex, reading: str, sections_in: np.ndarray, section_score: np.ndarray
    ) -> tuple[SectionHit, ...]:
        """The reading's sections within reach, in reading order, each with its opening line."""
        opening = np.zeros(len(lexical.chunks), dtype=np.float32)
        for ref in lexical.sections:
            opening[ref.chunks[0]] = 1.0
        return tuple(
            self._hit(lexical, s, float(section_score[s]), opening)
            for s in _in_order(lexical, reading)
            if sections_in[s]
        )

    def _introduction(self, lexical: LexicalIndex, question: str, reading: str, allowed: np.ndarray) -> int | None:
        """For "who is X?": the sentence of ``reading`` (within ``allowed``) that introduces X. A
        reading introduces a person or a thing where it first names it, in a story ("The daughter,
        Minda by name, was kind…") as in a summary ("Ilya Sutskever, co-founder of OpenAI…"). A first
        mention the cross-encoder finds no likely answer (a logit below 0, its own scale) gives way
        to the next of the first ``INTRODUCTION_MENTIONS`` that it does (Kari is first named in a
        bull's instructions, then "she asked for a place in the kitchen, and said her name was Kari")."""
        name = identity_name(question)
        if not name:
            return None
        phrase = re.compile(r"\b" + r"\W+".join(map(re.escape, name)) + r"\b", re.IGNORECASE)
        mentions: list[int] = []
        for i in map(int, np.flatnonzero(lexical.reading_of == reading)):  # in reading order
            found = phrase.findall(lexical.chunks[i].chunk.text)
            if any(not w[0].isupper() for f in found for w in NAME_WORD.findall(f)):
                return None  # the reading writes it in lower case somewhere: a word, not a name
            if found and allowed[i] and len(mentions) < INTRODUCTION_MENTIONS:
                mentions.append(i)
        if not mentions:
            return None
        logits = self.reranker.score_pairs([(question, lexical.chunks[i].chunk.text) for i in mentions])
        return next((i for i, logit in zip(mentions, logits, strict=True) if logit >= 0), mentions[0])

    @staticmethod
    def _definition(
        lexical: LexicalIndex, question: str, reading: str, allowed: np.ndarray, passage_score: np.ndarray
    ) -> tuple[int, bool] | None:
        """For "what is X?": the sentence of ``reading`` (within ``allowed``) that says what X is, and
        whether the reading surely covers X (:mod:`bot.knowledge.definitions`): in a section headed by X,
        its defining sentence or else its opening (sure); else the reading's first sentence that defines
        X by a strong pattern (sure), else the one by a weak pattern that retrieval scores best (a story
        describes a character many times: "the little yellow-headed Peerie Folk"; left to the coverage
        decision)."""
        term = defined_term(without_chatter(question))
        if not term:
            return None
        mine = [int(i) for i in np.flatnonzero((lexical.reading_of == reading) & allowed)]  # in reading order
        definer = Definer(term)
        strength = {i: definer.strength(lexical.chunks[i].chunk.text) for i in mine}
        headed = [
            s
            for s in dict.fromkeys(int(lexical.section_of[i]) for i in mine)
            if heading_names(lexical.sections[s].heading, term)
        ]
        if headed:  # the heading that names least besides X
            s = min(headed, key=lambda s: len(terms(lexical.sections[s].heading)))
            chunks = [i for i in lexical.sections[s].chunks if i in strength]
            best = max(chunks, key=lambda i: strength[i])
            return (best if strength[best] == 2 else chunks[0]), True
        strong = [i for i in mine if strength[i] == 2]
        if strong:
            return strong[0], True
        weak = [i for i in mine if strength[i] == 1]
        return (max(weak, key=lambda i: float(passage_score[i])), False) if weak else None

    def _rerank(
        self,
        lexical: LexicalIndex,
        question: str,
        order: list[int],
        section_score: np.ndarray,
        passage_score: np.ndarray,
    ) -> tuple[list[int], np.ndarray, np.ndarray, list[int], np.ndarray]:
        """The cross-encoder reads the best ``RERANK_PASSAGES[k]`` sentences of the k-th best
        section; those sections are reordered among themselves (fused score
        + ``RERANK_WEIGHT`` × best logit), and those sentences within their sections (fused score
        + ``PASSAGE_RERANK_WEIGHT`` × logit). Returns the new order and scores, the chunks read and
        their logits."""
        top = order[: len(self.rerank_passages)]
        read: list[int] = []
        owner: list[int] = []
        for s, many in zip(top, self.rerank_passages, strict=False):
            ranked = sorted(
                (i for i in lexical.sections[s].chunks if passage_score[i] > -np.inf), key=lambda i: -passage_score[i]
            )[:many]
            read += ranked
            owner += [s] * len(ranked)
        questions = {r: question for r in {lexical.reading_of[i] for i in read}}
        if RERANK_WITHOUT_SUBJECTS:
            for r in questions:
                vocab = lexical.vocabulary.get(r)
                questions[r] = without_names(question, vocab.subjects if vocab else frozenset())
        texts = [lexical.chunks[i].chunk.text for i in read]
        if RERANK_HEADING:
            texts = [f"{lexical.sections[s].heading}: {t}" for s, t in zip(owner, texts, strict=True)]
        pairs = [(questions[lexical.reading_of[i]], t) for i, t in zip(read, texts, strict=True)]
        logits = self.reranker.score_pairs(pairs) if pairs else np.zeros(0, dtype=np.float32)
        section_score = section_score.copy()
        passage_score = passage_score.copy()
        best: dict[int, float] = {}
        for i, s, logit in zip(read, owner, logits, strict=True):
            passage_score[i] += PASSAGE_RERANK_WEIGHT * float(logit)
            best[s] = max(best.get(s, RERANK_FLOOR), float(logit))
        for s in top:
            section_score[s] += RERANK_WEIGHT * best.get(s, RERANK_FLOOR)
        reordered = sorted(top, key=lambda s: -section_score[s]) + order[len(top) :]
        return reordered, section_score, passage_score, read, logits

    def search_parts(
        self, question: str, *, reading: str | None = None, k: int = 3, bound: Bound | None = None
    ) -> Retrieval:
        """``search``, and for a question of two parts (or about how two things relate) answered in
        two different sections, a retrieval that leads with both sections."""
        whole = self.search(question, reading=reading, k=k, bound=bound)
        asked = without_chatter(question)
        parts = question_parts(asked)  # "…? did I get that right?" is no part
        if len(parts) < 2 or whole.gist:
            return whole
        found = [self.search(p, reading=reading, k=1, bound=bound) for p in parts]
        covers = [r.covered and bool(r.hits) for r in found]
        answered = [r for r, c in zip(found, covers, strict=True) if c]
        # a part that asks something of its own may go unanswered; one end of a relation may not
        asks = relation_ends(asked) != parts and all(ASKS.match(p) for p, c in zip(parts, covers, strict=True) if not c)
        if not answered or not (all(covers) or asks):
            return whole
        # both parts covered, each from its own section; or "who is ilya and what is he doing these
        # days?": the part the reading covers is answered and the reply says which it doesn't (also when
        # the whole, searched as one, looked covered: "how do emotions work, and what's the weather?")
        leads = list({(h.reading, h.section): h for r in answered for h in r.hits[:1]}.values())
        if all(covers) and len(leads) < 2:
            return whole
        rest = [h for h in whole.hits if (h.reading, h.section) not in {(x.reading, x.section) for x in leads}]
        return replace(
            whole,
            hits=[*leads, *rest][: max(k, len(leads))],
            covered=True,
            confidence=max(whole.confidence, min(r.confidence for r in answered)),
            spans=len(leads) > 1,
            unanswered=tuple(p for p, c in zip(parts, covers, strict=True) if not c),
        )

    def own_terms(self, question: str, retrieval: Retrieval) -> list[str]:
        """``question``'s own content words, the subject names of ``retrieval``'s best reading left out
        (none for "and why?")."""
        if not retrieval.hits:
            return []
        lexical = self.lexical
        vocab = lexical.vocabulary.get(retrieval.hits[0].reading)
        return content_terms(lexical.corrected(question), vocab.subjects if vocab else frozenset())

    def own_terms_share(self, question: str, retrieval: Retrieval) -> float:
        """Share of ``question``'s own content words (the reading's subject names left out)
        found in ``retrieval``'s best section; 1.0 for a question with none ("and why?")."""
        if not retrieval.hits:
            return 0.0
        own = self.own_terms(question, retrieval)
        if not own:
            return 1.0
        return self._local_terms(self.lexical, retrieval.hits[0], own)["section_terms"]

    @staticmethod
    def _local_terms(lexical: LexicalIndex, hit: SectionHit, query_terms: list[str]) -> dict[str, float]:
        """Shares of the question's content terms found near the best passage and in its section."""
        if not query_terms:
            return {"window_terms": 0.0, "section_terms": 0.0}
        best = lexical.at[(hit.reading, hit.document, hit.passages[0].position)]
        s = lexical.section_of[best]
        near = set()
        for j in (best - 1, best, best + 1):
            if 0 <= j < len(lexical.chunks) and lexical.section_of[j] == s:
                near.update(terms(lexical.chunks[j].chunk.text))
        section = set(terms(hit.section))
        for j in lexical.sections[s].chunks:
            section.update(terms(lexical.chunks[j].chunk.text))
        return {
            "window_terms": sum(t in near for t in query_terms) / len(query_terms),
            "section_terms": sum(t in section for t in query_terms) / len(query_terms),
        }

    @staticmethod
    def _hit(
        lexical: LexicalIndex, s: int, score: float, passage_score: np.ndarray, read: Collection[int] = ()
    ) -> SectionHit:
        """``read``: the chunks the cross-encoder scored, which lead their section."""
        ref = lexical.sections[s]
        # a chunk scored -inf is out of bounds (past the group's progress, or another reading's)
        ranked = sorted(
            (i for i in ref.chunks if passage_score[i] > -np.inf), key=lambda i: (i not in read, -passage_score[i])
        )[:PASSAGES_PER_SECTION]
        passages = tuple(
            Passage(
                ref.reading,
                ref.document,
                ref.heading,
                lexical.chunks[i].chunk.position,
                lexical.chunks[i].chunk.text,
                float(passage_score[i]),
                _details(lexical, i),
            )
            for i in ranked
        )
        return SectionHit(ref.reading, ref.document, ref.heading, score, passages)

    def following(self, passage: Passage) -> Passage | None:
        """The chunk right after ``passage`` in the same section, if any."""
        lexical = self.lexical
        i = lexical.at.get((passage.reading, passage.document, passage.position + 1))
        if i is None or lexical.chunks[i].chunk.section != passage.section:
            return None
        if lexical.section_order_of[i] != lexical.section_order_of[i - 1]:
            return None  # a section of the same heading further on
        c = lexical.chunks[i]
        return Passage(
            c.reading, c.chunk.document, c.chunk.section, c.chunk.position, c.chunk.text, 0.0, _details(lexical, i)
        )


def _overview_lead(chunks: tuple[int, ...], alone: np.ndarray) -> set[int]:
    """Which sentence of an overview section answers a gist question: its opening (an overview
    states its thesis first), unless the question's own words pick out another of its sentences
    and not the opening ("the main argument about data?")."""
    opening = chunks[0]
    if alone[opening] <= 0:
        named = [i for i in chunks[1:] if alone[i] > 0]
        if named:
            return {max(named, key=lambda i: alone[i])}
    return {opening}


def _topic_lead(lexical: LexicalIndex, s: int, topic: list[str], alone: np.ndarray) -> set[int]:
    """Which sentence of section ``s`` a gist of ``topic`` starts from: the section's opening when
    its heading or opening names the topic (the section is about it and states it first), else
    the sentence that names most of it ("the gist of the part about the giant")."""
    ref = lexical.sections[s]
    chunks = ref.chunks  # a section is wholly within the group's progress or not at all
    wanted = set(topic)
    opening = chunks[0]
    if wanted & set(terms(ref.heading)) or wanted & set(terms(lexical.chunks[opening].chunk.text)):
        return {opening}
    naming = max(chunks, key=lambda i: (len(wanted & set(terms(lexical.chunks[i].chunk.text))), alone[i]))
    return {naming}


def _in_order(lexical: LexicalIndex, reading: str) -> list[int]:
    """The sections of ``reading``, in reading order (file by file)."""
    return sorted(
        (s for s, ref in enumerate(lexical.sections) if ref.reading == reading),
        key=lambda s: (lexical.sections[s].document, int(lexical.section_order_of[lexical.sections[s].chunks[0]])),
    )


def _details(lexical: LexicalIndex, i: int) -> tuple[str, ...]:
    """A passage that introduces a list ("…, because:") is quoted with its list."""
    chunk = lexical.chunks[i].chunk
    if not chunk.text.rstrip().endswith(":"):
        return ()
    out = []
    for follower in lexical.chunks[i + 1 :]:
        if follower.chunk.document != chunk.document or follower.chunk.parent != chunk.text:
            break
        out.append(follower.chunk.text)
    return tuple(out)
