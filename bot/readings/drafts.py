"""Discussion questions and poll claims drafted from a reading's own text, each with its section and
a passage quoted verbatim from it.

Offline and deterministic: the same text gives the same drafts. Every sentence of every section is a
candidate passage; it is scored by what it says, not by where it is:

* a **claim** is a sentence the reading makes that people can agree or disagree with: it carries a
  judgement (good, cruel, wise, unfair…), a norm or a generalisation (should, must, never, always,
  no one, better than…), or, in an essay, a present-tense assertion (argues, suggests, is, are);
  a sentence of plain events ("she went out with the cows") has none of these and is never a claim,
  nor is a question or a line of dialogue tagged "said". The claim is the sentence itself (or its
  strongest clause), tidied: no opening "And"/"But", a capital, a full stop.
* a **question** is built on the passage's most telling clause, quoted: whether the reading is right
  (a judgement), why someone says or does it (dialogue, a choice), or what the moment changes.

The reading is walked in windows (two sections per question, three per claim), the best candidate
of each window taken, then the best of the rest until the minimum (5 questions, 3 claims) is met,
never the same passage twice and never the same text twice. With a language model configured the
model writes the question or claim for the same chosen passages; each of its drafts must pass the
same checks (:mod:`bot.review.checks`) and share words with its passage, else the offline draft of
that passage stands.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.clock import Clock
from bot.errors import InputError
from bot.knowledge.sentences import sentences
from bot.readings.formats import ReadingDoc
from bot.review.checks import MAX_CLAIM_CHARS, MAX_QUESTION_CHARS, check_claim, check_question, text_key
from bot.review.queue import Item, NewItem, ReviewQueue

log = logging.getLogger(__name__)

MIN_QUESTIONS, MIN_CLAIMS = 5, 3
SECTIONS_PER_QUESTION, SECTIONS_PER_CLAIM = 2, 3
MAX_PASSAGE_WORDS = 60
MAX_FRAGMENT_WORDS = 14
LONG_CLAIM_WORDS = 30  # a longer sentence is claimed by its strongest clause
BULLET = re.compile(r"^(?:[•◦▪‣●○*+–-]|\d{1,3}[.)])\s+")
LLM_BATCH = 12

WORDS = re.compile(r"[^\W\d_][\w'’-]*")
QUOTES = '"“”„«»'
JUDGEMENT = frozenset(
    """good bad evil wicked kind unkind cruel wise unwise foolish fool fools clever stupid silly brave cowardly
    coward beautiful ugly handsome lovely fair unfair unjust wrong true false honest dishonest
    greedy greed selfish generous lazy proud pride jealous envious envy vain humble noble worthy unworthy
    deserve deserves deserved innocent guilty shame shameful sin virtue virtuous wisdom folly lies liar
    truth faithful unfaithful loyal disloyal betray betrayed ungrateful grateful useless worthless important
    foolishness meanness heartless merciful mercy justice injustice
    rich poor happiness misery glory honour honor dishonour disgrace sensible reasonable unreasonable
    essential fundamental crucial better worse best worst danger risk problem failure fails fail success
    harmful benefit beneficial trust fault blame""".split()
)
DESCRIPTIVE = frozenset("beautiful ugly handsome lovely fair rich poor".split())  # mostly description in a tale
NARRATION = frozenset(
    """went came took gave saw got made ran sat stood found told received brought rode walked looked began
    opened jumped put set left arrived returned reached""".split()
)
NORM = frozenset(
    """should must ought never always nobody everyone everybody nothing everything cannot can't mustn't
    shouldn't no-one""".split()
)
ESSAY = frozenset("argues argue suggests suggest implies imply means shows show believes believe claims".split())
PRESENT = frozenset("is are has have does do can will may cannot isn't aren't doesn't".split())
CHOICE = frozenset(
    """decided refused promised chose wanted wished tried begged swore vowed agreed dared would not because if
    unless instead secret secretly afraid angry anger feared fear love loved hate hated revenge punish
    punished reward rewarded forgive forgave lied tricked warned""".split()
)
SAID = frozenset("said asked cried replied answered shouted whispered exclaimed called".split())
PRONOUN_START = frozenset("he she they it i you we his her their its this that these those there".split())
SPOKEN = re.compile(r"[\"“]([^\"”]{12,})[\"”]")
OPENERS = re.compile(r"^(?:and|but|so|yet|then|now|well|oh|ah|for|or|nay|alas)\b[,;:]?\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Candidate:
    section: str
    order: int
    passage: str  # verbatim in the section's text
    rank: int  # its place among all the reading's sentences (a stable tie-break)
    claim_score: float
    question_score: float
    kind: str  # judgement | dialogue | choice | event


def flatten(text: str) -> str:
    """The text with each run of whitespace one space: a passage is quoted verbatim but for the
    line breaks of a hard-wrapped file."""
    return " ".join(text.split())


def _words(text: str) -> list[str]:
    return [w.lower().strip("'’-") for w in WORDS.findall(text)]


def _unquoted(text: str) -> str:
    """The text outside quotation marks (the narrator's or the author's own words)."""
    return re.sub(r"[\"“][^\"”]*[\"”]", " ", text)


def _features(passage: str) -> tuple[float, float, str]:
    words = _words(passage)
    bag = set(words)
    own = set(_words(_unquoted(passage)))
    judgement = len(bag & JUDGEMENT - DESCRIPTIVE) + 0.5 * len(bag & JUDGEMENT & DESCRIPTIVE)
    narration = len(bag & NARRATION)
    norm = len(bag & NORM)
    essay = len(own & ESSAY)
    present = len(own & PRESENT)
    said = len(bag & SAID)
    choice = len(bag & CHOICE)
    quoted = any(q in passage for q in QUOTES)
    compare = 1 if re.search(r"\bthan\b|\bso \w+ (?:that|as)\b|\btoo \w+ to\b", passage, re.IGNORECASE) else 0
    arguable = min(judgement, 3) * 2.0 + min(norm, 2) * 2.0 + min(essay, 1) * 2.0
    arguable += compare if arguable else 0
    claim = arguable + (1.5 if present and arguable else 0.0)
    claim -= 2.0 * said + (1.5 if quoted else 0.0) + 0.75 * max(0, narration - 1)
    if words and words[0] in PRONOUN_START:
        claim -= 1.0
    spoken_present = bool(set(_words(" ".join(SPOKEN.findall(passage)))) & PRESENT)
    if passage.rstrip(QUOTES + " ").endswith("?"):
        claim = -math.inf  # a question is never a claim
    elif not arguable:  # weaker claims, only where a window has nothing better: a present-tense
        # assertion (an essay's, or a character's words), else a comparison; plain events never
        weak = -4.0 if present or spoken_present else -6.0 if compare else -math.inf
        claim = weak - 0.75 * max(0, narration - 1)
    question = arguable + min(choice, 3) * 1.5 + (1.5 if said and quoted else 0.0)
    if arguable >= 2 and not said:
        kind = "judgement"
    else:
        kind = "dialogue" if said and quoted else "choice" if choice else "event"
    return claim, question, kind


def candidates(doc: ReadingDoc) -> list[Candidate]:
    """Every usable sentence of the reading (8 to 60 words, found verbatim in its section)."""
    found: list[Candidate] = []
    for order, section in enumerate(doc.sections):
        flat = flatten(section.text)
        for sentence in sentences(section.text):
            passage = BULLET.sub("", flatten(sentence))
            if passage not in flat:
                continue
            count = len(_words(passage))
            if not 8 <= count <= MAX_PASSAGE_WORDS:
                continue
            claim, question, kind = _features(passage)
            found.append(Candidate(section.heading, order, passage, len(found), claim, question, kind))
    return found


def _clauses(passage: str) -> list[str]:
    parts = re.split(r"\s*[;:—–]\s*|,\s+(?=(?:and|but|yet|for|so|or)\b)", passage)
    return [p.strip(" ,") for p in parts if p and p.strip(" ,")]


def _tidy_claim(text: str) -> str:
    text = text.strip().strip(QUOTES + "'‘’ ").strip()
    text = OPENERS.sub("", text).strip()
    text = re.sub(r"[,;:\-–—]+$", "", text).strip()
    text = re.sub(r"[.!…]+$", "", text).strip() + "."
    return text[:1].upper() + text[1:]


def plain_claim(passage: str) -> tuple[str, str] | None:
    """The last resort of a reading with too few sentences that judge (a how-to, a bare tale): the
    sentence itself as a statement to weigh, if it is one sentence without dialogue or quotes."""
    tidy = _tidy_claim(passage)
    if passage.rstrip(QUOTES + " ").endswith("?") or any(q in passage for q in QUOTES):
        return None
    if set(_words(tidy)) & SAID or re.search(r"[.!?]\s+\w", tidy) or len(passage) > MAX_CLAIM_CHARS - 20:
        return None
    try:
        return check_claim(tidy), passage
    except InputError:
        return None


def claim_text(passage: str) -> tuple[str, str] | None:
    """(the claim, the passage it quotes): the whole sentence when it is short enough, else its
    strongest clause; None if no version passes the claim checks."""
    whole = [passage] if len(passage) <= MAX_CLAIM_CHARS - 20 else []
    parts = sorted(
        (c for c in _clauses(passage) if c != passage and len(_words(c)) >= 6 and not any(q in c for q in QUOTES)),
        key=lambda c: -_features(c)[0],
    )
    options = parts + whole if len(_words(passage)) > LONG_CLAIM_WORDS else whole + parts
    options += [  # what a character says, sentence by sentence
        sentence.strip()
        for spoken in SPOKEN.findall(passage)
        for sentence in re.split(r"(?<=[.!])\s+", spoken)
        if len(_words(sentence)) >= 6 and not sentence.strip().endswith("?")
    ]
    for option in options:
        tidy = _tidy_claim(option)
        first = _words(tidy)[:1]
        if (
            _features(option)[0] == -math.inf
            or (first and first[0] in SAID | NARRATION)  # a clause without its subject ("said it would …")
            or set(_words(tidy)) & SAID  # a line of dialogue with its tag
            or any(q in tidy for q in QUOTES)
            or re.search(r"[.!?]\s+\w", tidy)  # one sentence
        ):
            continue
        try:
            return check_claim(tidy), option
        except InputError:
            continue
    return None


FRAGMENT_SPLIT = re.compile(
    r"\s*[;:—–]\s*|,\s+(?=(?:and|but|yet|for|so|or|because|since|when|while|though|although|if|then)\b)"
)


def _spoken(passage: str) -> list[str]:
    """The words inside quotation marks, paired as they open and close: in ``"Yes," said the king's
    daughter, "indeed I will"`` that is "Yes," and "indeed I will", never the narration between them."""
    parts = re.findall(r"“([^”]+)”", passage)
    if passage.count('"') >= 2:
        parts += passage.split('"')[1::2]  # straight quotes alternate: open, close, open, …
    return [p for p in parts if len(p.strip()) >= 8]


def _fragment(passage: str, kind: str = "") -> str:
    """The passage's most telling clause, verbatim, no quote marks; a clause longer than
    MAX_FRAGMENT_WORDS words is cut there with "…". Dialogue: the clause is taken from the words spoken."""
    spoken = _spoken(passage) if kind == "dialogue" else []
    pieces = [p for text in (spoken or [passage]) for p in FRAGMENT_SPLIT.split(text)]
    clauses = [c.strip(QUOTES + "'‘’ ,.;:!?") for c in pieces]
    clauses = [c for c in clauses if len(_words(c)) >= 4 and not any(q in c for q in QUOTES)]
    clauses = [c for c in clauses if not set(_words(c)) & SAID] or clauses  # not the "said the king" tag
    if not clauses:
        clauses = [re.sub(f"[{QUOTES}]", "", passage).strip(" ,.;:!?")]

    def weight(clause: str) -> tuple[float, int]:
        bag = set(_words(clause))
        fits = 1 if len(clause.split()) <= MAX_FRAGMENT_WORDS else 0
        return (
            fits * 3 + len(bag & JUDGEMENT) * 2 + len(bag & NORM) * 2 + len(bag & CHOICE) + len(bag) / 10,
            -len(clause),
        )

    best = OPENERS.sub("", max(clauses, key=weight)).strip()
    words = best.split()
    if len(words) > MAX_FRAGMENT_WORDS:
        best = " ".join(words[:MAX_FRAGMENT_WORDS]).rstrip(",;:") + "…"
    return best[:1].lower() + best[1:] if best[:2] != best[:2].upper() else best


TEMPLATES = {
    "judgement": (
        "The reading says “{f}”. Do you agree, and where have you seen this hold or fail?",
        "Is it fair to say “{f}”? What would make you change your mind?",
        "“{f}”: is the reading right about this, and why or why not?",
    ),
    "dialogue": (
        "Why do you think these words are spoken here: “{f}”? What do they reveal about the speaker?",
        "“{f}”: would you have said the same in that place, and what would you have said instead?",
    ),
    "choice": (
        "“{f}”: what would you have done in this situation, and why?",
        "Was this the right choice: “{f}”? What else could have been done?",
        "What do you think drives this moment: “{f}”? Do you sympathise?",
    ),
    "event": (
        "What do you make of “{f}”, and how does it change the way you read what follows?",
        "If this had gone differently, “{f}”, how would the rest change?",
    ),
}


def question_text(candidate: Candidate, turn: int) -> str | None:
    fragment = _fragment(candidate.passage, candidate.kind)
    templates = TEMPLATES[candidate.kind]
    for step in range(len(templates)):
        text = templates[(turn + step) % len(templates)].format(f=fragment)
        if len(text) > MAX_QUESTION_CHARS:
            text = templates[(turn + step) % len(templates)].format(f=" ".join(fragment.split()[:8]))
        try:
            return check_question(text)
        except InputError:
            continue
    return None


def needed(sections: int) -> tuple[int, int]:
    """How many questions and claims a reading of ``sections`` sections gets at least."""
    return (
        max(MIN_QUESTIONS, math.ceil(sections / SECTIONS_PER_QUESTION)),
        max(MIN_CLAIMS, math.ceil(sections / SECTIONS_PER_CLAIM)),
    )


def _pick(
    pool: list[Candidate],
    score: str,
    per: int,
    minimum: int,
    sections: int,
    used: set[str],
    accept: Callable[[Candidate], bool],
) -> list[Candidate]:
    """The best candidate of each window of ``per`` sections, then the best of the rest up to
    ``minimum``; a candidate counts only if ``accept`` takes it (its draft passes the checks and is
    new), asked best first, so only the candidates that might be chosen are drafted."""

    def value(c: Candidate) -> tuple[float, int]:
        return (getattr(c, score), -c.rank)

    usable = [c for c in pool if getattr(c, score) != -math.inf]
    chosen: list[Candidate] = []
    by_window: dict[int, list[Candidate]] = {}
    for c in usable:
        by_window.setdefault(c.order // per, []).append(c)
    for window in range(0, max(sections, 1) // per + 1):
        for c in sorted(by_window.get(window, []), key=value, reverse=True):
            if c.passage not in used and accept(c):
                chosen.append(c)
                used.add(c.passage)
                break
    taken = {c.passage for c in chosen}
    # the rest: passages not used yet first, then (a short reading) those the claims quote
    rest = sorted((c for c in usable if c.passage not in taken), key=lambda c: (c.passage not in used, value(c)))
    for c in reversed(rest):
        if len(chosen) >= minimum:
            break
        if accept(c):
            chosen.append(c)
            used.add(c.passage)
    return sorted(chosen, key=lambda c: c.rank)


@dataclass(frozen=True)
class Plan:
    """The passages chosen for questions and for claims, with the offline draft of each."""

    questions: tuple[tuple[Candidate, str], ...]
    claims: tuple[tuple[Candidate, str, str], ...]  # (candidate, claim, the passage it quotes)


def plan(doc: ReadingDoc) -> Plan:
    pool = candidates(doc)
    want_questions, want_claims = needed(len(doc.sections))
    sections = len(doc.sections)
    used: set[str] = set()
    keys: set[str] = set()
    made: dict[str, tuple[str, str]] = {}

    def claimable(c: Candidate) -> bool:
        found = claim_text(c.passage)
        if found is None or text_key(found[0]) in keys:
            return False
        keys.add(text_key(found[0]))
        made[c.passage] = found
        return True

    claims = [
        (c, *made[c.passage])
        for c in _pick(pool, "claim_score", SECTIONS_PER_CLAIM, want_claims, sections, used, claimable)
    ]
    if len(claims) < want_claims:  # too few sentences that judge: plain statements, fewest events first
        spare = sorted(
            (c for c in pool if c.passage not in used),
            key=lambda c: (len(set(_words(c.passage)) & NARRATION), c.rank),
        )
        for c in spare:
            found = plain_claim(c.passage)
            if found is not None and text_key(found[0]) not in keys:
                keys.add(text_key(found[0]))
                used.add(c.passage)
                claims.append((c, *found))
                if len(claims) >= want_claims:
                    break
        claims.sort(key=lambda entry: entry[0].rank)
    asked: dict[str, str] = {}

    def askable(c: Candidate) -> bool:
        text = question_text(c, c.rank)
        if text is None or text_key(text) in keys:
            return False
        keys.add(text_key(text))
        asked[c.passage] = text
        return True

    chosen = _pick(pool, "question_score", SECTIONS_PER_QUESTION, want_questions, sections, used, askable)
    return Plan(tuple((c, asked[c.passage]) for c in chosen), tuple(claims))


def offline_drafts(doc: ReadingDoc) -> list[NewItem]:
    chosen = plan(doc)
    return [NewItem("prompt", text, c.section, c.order, c.passage) for c, text in chosen.questions] + [
        NewItem("claim", text, c.section, c.order, passage) for c, text, passage in chosen.claims
    ]


# ------------------------------------------------------------------ with a language model

LLM_INSTRUCTIONS = """You help a reading group discuss "{title}". For each numbered passage below, write
what is asked for it:
- question: one open question that invites discussion or personal reflection (not recall of facts),
  ending with "?", at most 250 characters;
- claim: one declarative, arguable sentence that the passage makes (a judgement people can agree or
  disagree with, not a summary of events), at least 5 words, ending with ".", at most 250 characters.
Use only the passage. Do not mention anyone with @. Answer with JSON only: a list of objects
{{"n": <passage number>, "text": "<the question or claim>"}}.

{passages}"""


def _content(message: Any) -> str:
    text = getattr(message, "content", message)
    if isinstance(text, list):
        text = "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in text)
    return str(text)


def parse_llm(raw: str) -> dict[int, str]:
    """{passage number: text} from the model's JSON list (anything else: nothing)."""
    start, end = raw.find("["), raw.rfind("]")
    if start < 0 or end <= start:
        return {}
    try:
        data = json.loads(raw[start : end + 1])
    except ValueError:
        return {}
    out: dict[int, str] = {}
    for entry in data if isinstance(data, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("n"), int) and isinstance(entry.get("text"), str):
            out.setdefault(entry["n"], entry["text"])
    return out


def grounded(text: str, passage: str) -> bool:
    """The draft shares at least one word of four letters or more with its passage."""
    return bool({w for w in _words(text) if len(w) >= 4} & set(_words(passage)))


class LLMDrafter:
    """Drafts through a langchain chat model; every draft is checked, a bad one falls back."""

    def __init__(self, model: Any, *, timeout: float = 20.0) -> None:
        self.model = model
        self.timeout = timeout
        self.rejected = 0  # drafts the checks turned down (for the log and the tests)

    def _ask(self, prompt: str) -> str:
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="llm-drafts")
        try:
            return _content(pool.submit(self.model.invoke, prompt).result(timeout=self.timeout))
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def drafts(self, doc: ReadingDoc) -> list[NewItem]:
        chosen = plan(doc)
        jobs: list[tuple[str, Candidate, str, str]] = [("question", c, t, c.passage) for c, t in chosen.questions]
        jobs += [("claim", c, t, p) for c, t, p in chosen.claims]
        final = [fallback for _, _, fallback, _ in jobs]
        origin = ["drafted"] * len(jobs)
        keys = {text_key(t) for t in final}
        for start in range(0, len(jobs), LLM_BATCH):
            batch = jobs[start : start + LLM_BATCH]
            listed = "\n".join(
                f"{n}. {kind} — [{c.section}] {passage}" for n, (kind, c, _, passage) in enumerate(batch, 1)
            )
            try:
                answers = parse_llm(self._ask(LLM_INSTRUCTIONS.format(title=doc.title, passages=listed)))
            except Exception as exc:  # any provider failure or the timeout: the offline drafts stand
                log.warning("the language model could not draft for %s: %s", doc.title, exc)
                continue
            for n, (kind, _c, fallback, passage) in enumerate(batch, 1):
                text = answers.get(n)
                if text is None:
                    self.rejected += 1
                    continue
                try:
                    checked = check_question(text) if kind == "question" else check_claim(text)
                except InputError as exc:
                    self.rejected += 1
                    log.info("a drafted %s was rejected (%s): %r", kind, exc, text[:120])
                    continue
                key = text_key(checked)
                if kind == "claim" and _features(checked)[0] == -math.inf:
                    self.rejected += 1  # plain events: a summary, not a claim
                    log.info("a drafted claim was rejected (nothing to agree or disagree with): %r", text[:120])
                    continue
                if not grounded(checked, passage) or (key in keys and key != text_key(fallback)):
                    self.rejected += 1
                    log.info("a drafted %s was rejected (not from its passage, or a duplicate): %r", kind, text[:120])
                    continue
                keys.discard(text_key(fallback))
                keys.add(key)
                final[start + n - 1] = checked
                origin[start + n - 1] = "llm"
        return [
            NewItem("prompt" if kind == "question" else "claim", text, c.section, c.order, passage, made)
            for (kind, c, _, passage), text, made in zip(jobs, final, origin, strict=True)
        ]


def draft(doc: ReadingDoc, model: Any = None, *, timeout: float = 20.0) -> list[NewItem]:
    """The reading's drafts: by the language model when one is given, else offline."""
    if model is None:
        return offline_drafts(doc)
    return LLMDrafter(model, timeout=timeout).drafts(doc)


class Drafts:
    """What the readings service calls when a reading is added (drafts made, waiting for review or, with
    READBOT_DRAFTS=approve, approved) or removed (its drafts go)."""

    def __init__(
        self, queue: ReviewQueue, clock: Clock, *, model: Any = None, timeout: float = 20.0, approve: bool = False
    ) -> None:
        self.queue = queue
        self.clock = clock
        self.model = model
        self.timeout = timeout
        self.approve = approve

    async def made(self, reading_id: str, doc: ReadingDoc, *, by: str) -> list[Item]:
        items = await asyncio.to_thread(draft, doc, self.model, timeout=self.timeout)
        stored = await self.queue.replace_made(reading_id, items, by=by, now=self.clock.now(), approve=self.approve)
        log.info(
            "drafted %d questions and %d claims for %s (%s)",
            sum(1 for i in items if i.kind == "prompt"),
            sum(1 for i in items if i.kind == "claim"),
            reading_id,
            "approved" if self.approve else "waiting for review",
        )
        return stored

    async def removed(self, reading_id: str) -> None:
        await self.queue.remove_reading(reading_id)
