"""The extractive recap of a thread, offline: no LLM, the bundled embedding model only.

1. The members' sentences are split out of their messages (readbot's own messages and other bots'
   are context, never points); those that ask something are candidate open questions, the others
   candidate points (a point has at least ``MIN_POINT_WORDS`` words: "lol", "same" are no point; nor is
   what members say about the meeting rather than the reading: thanks, see you, welcome).
2. The candidate points are embedded and clustered by k-means (k from the number of sentences, at
   most ``MAX_POINTS``; deterministic seeding): each cluster is a theme, named by its most
   distinctive words (frequent in the cluster, rare in the rest of the thread).
3. At most ``MAX_POINTS`` points in all: each theme's sentence nearest its centre first, then, by
   theme size, the next nearest that says something new (not a near-duplicate of a point kept).
   Every point is cut to ``MAX_QUOTED_WORDS`` words: no member is quoted beyond 20 words.
4. Open questions: a member's question with no later answer-like reply, i.e. a message by someone
   else that asks nothing itself, has at least ``MIN_POINT_WORDS`` words and is about the question
   (its embedding at least ``ANSWER_SIMILARITY`` close, within ``ANSWER_REACH`` messages), or,
   within ``ANSWER_WINDOW`` messages of it, readbot's reply or a reply opening like an answer
   ("because…", "yes…", "I think…").
5. The passages touched: each theme (and open question) searched in the reading; a covered hit's
   section and the start of its best passage, each section once.

Nothing here knows a reading: the thresholds are on word counts and on the embedding model's cosine.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.core.events import PastMessage
from bot.core.text import MENTION, neutralize_mentions
from bot.knowledge.asking import asks_something
from bot.knowledge.retrieval import Retrieval
from bot.knowledge.sentences import sentences
from bot.knowledge.terms import content_terms

MAX_POINTS = 8
MAX_QUOTED_WORDS = 20
MIN_POINT_WORDS = 3
MAX_OPEN_QUESTIONS = 5
MAX_PASSAGES = 5
PASSAGE_WORDS = 25
# what members say to each other, about the meeting rather than the reading: never a point
SOCIAL = re.compile(
    r"\b(thanks|thank you|thx|see (you|ya)|welcome|lol|lmao|haha+|good (night|morning)|congrats|"
    r"running late|sorry i'm late|bye|cheers)\b",
    re.IGNORECASE,
)
ANSWER_SIMILARITY = 0.45  # MiniLM cosine: a reply this close to a question is about it (related chat is ~0.3)
ANSWER_REACH = 15  # ... if it comes within this many messages (a thread moves on)
DUPLICATE_SIMILARITY = 0.9  # two points this close say the same thing
KMEANS_ROUNDS = 25
ANSWER_WINDOW = 3  # an answer opener ("because…") or readbot's reply answers a question this soon after it
RAW_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
EMBEDDED_WORDS = 48

Embed = Callable[[list[str]], np.ndarray]
Search = Callable[[str], Retrieval | None]


@dataclass(frozen=True)
class Theme:
    label: str
    points: tuple[str, ...]


@dataclass(frozen=True)
class Touched:
    section: str
    document: str
    reading: str
    passage: str


@dataclass(frozen=True)
class Recap:
    messages: int  # the members' messages read
    themes: tuple[Theme, ...]
    open_questions: tuple[str, ...]
    passages: tuple[Touched, ...]

    @property
    def points(self) -> int:
        return sum(len(t.points) for t in self.themes)


@dataclass(frozen=True)
class _Sentence:
    text: str
    author: str
    index: int  # the message it came from, in thread order


def quoted(text: str, limit: int = MAX_QUOTED_WORDS) -> str:
    """``text`` in at most ``limit`` words (an ellipsis when cut), mentions defused, on one line."""
    text = neutralize_mentions(" ".join(MENTION.sub(" ", text).split())).lstrip(",;: ")
    parts = text.split(" ")
    if len(parts) <= limit:
        return text
    return " ".join(parts[:limit]).rstrip(",;:") + "…"


def _member_sentences(messages: Sequence[PastMessage]) -> tuple[list[_Sentence], int]:
    found: list[_Sentence] = []
    members = 0
    for index, message in enumerate(messages):
        if message.user.is_bot or not message.text.strip():
            continue
        members += 1
        for sentence in sentences(message.text):
            if re.search(r"[^\W\d_]{2,}", sentence):
                found.append(_Sentence(sentence, message.user.id, index))
    return found, members


def _kmeans(vectors: np.ndarray, k: int) -> np.ndarray:
    """Cluster labels (k-means, k-means++-like seeding by farthest point from a fixed start:
    the same thread always gives the same recap)."""
    n = len(vectors)
    centres = [0]
    distance = 1.0 - vectors @ vectors[0]
    for _ in range(1, k):
        nxt = int(np.argmax(distance))
        centres.append(nxt)
        distance = np.minimum(distance, 1.0 - vectors @ vectors[nxt])
    centroids = vectors[centres].copy()
    labels = np.zeros(n, dtype=int)
    for _ in range(KMEANS_ROUNDS):
        new = np.argmax(vectors @ centroids.T, axis=1)
        if np.array_equal(new, labels) and _ > 0:
            break
        labels = new
        for c in range(k):
            members = vectors[labels == c]
            if len(members):
                centre = members.mean(axis=0)
                centroids[c] = centre / (np.linalg.norm(centre) or 1.0)
    return labels


@functools.lru_cache(maxsize=4096)
def _terms(text: str) -> frozenset[str]:
    return frozenset(content_terms(text))


def _label(cluster: list[_Sentence], everything: list[_Sentence]) -> str:
    """The cluster's two most distinctive words (frequent in it, rare elsewhere in the thread), spelled
    as the members wrote them ("SSI", "RL")."""
    inside = Counter(w for s in cluster for w in _terms(s.text))
    overall = Counter(w for s in everything for w in _terms(s.text))
    if not inside:
        return "Other"
    spelled: dict[str, str] = {}
    for s in cluster:
        for raw in RAW_WORD.findall(s.text):
            for term in content_terms(raw):
                spelled.setdefault(term, raw)
    scored = sorted(inside, key=lambda w: (-(inside[w] * math.log(1 + len(everything) / overall[w])), w))
    best = [w for w in scored[:2] if inside[w] > 1 or len(cluster) == 1] or scored[:1]
    label = " · ".join(dict.fromkeys(spelled.get(w, w) for w in best))
    return label[:1].upper() + label[1:]


def _points(candidates: list[_Sentence], vectors: np.ndarray) -> list[Theme]:
    n = len(candidates)
    if n == 0:
        return []
    k = max(1, min(MAX_POINTS, math.ceil(math.sqrt(n))))
    labels = _kmeans(vectors, k) if k > 1 else np.zeros(n, dtype=int)
    clusters = [np.flatnonzero(labels == c) for c in range(k)]
    clusters = sorted((c for c in clusters if len(c)), key=lambda c: (-len(c), int(c.min())))
    ranked: list[list[int]] = []
    for members in clusters:
        centre = vectors[members].mean(axis=0)
        order = members[np.argsort(-(vectors[members] @ centre), kind="stable")]
        ranked.append([int(i) for i in order])
    chosen: list[list[int]] = [[] for _ in ranked]
    kept: list[int] = []

    def take(c: int) -> bool:
        for i in ranked[c]:
            if i in kept or (kept and float(np.max(vectors[kept] @ vectors[i])) >= DUPLICATE_SIMILARITY):
                continue
            chosen[c].append(i)
            kept.append(i)
            return True
        return False

    for c in range(len(ranked)):  # each theme's most central sentence
        if len(kept) < MAX_POINTS:
            take(c)
    progress = True
    while len(kept) < MAX_POINTS and progress:  # then more of the biggest themes, in turn
        progress = False
        for c in sorted(range(len(ranked)), key=lambda c: -len(ranked[c])):
            if len(kept) >= MAX_POINTS:
                break
            if len(chosen[c]) < (len(ranked[c]) + 1) // 2 and take(c):
                progress = True
    themes = []
    for c, picked in enumerate(chosen):
        if picked:
            cluster = [candidates[i] for i in ranked[c]]
            points = tuple(quoted(candidates[i].text) for i in sorted(picked, key=lambda i: candidates[i].index))
            themes.append(Theme(_label(cluster, candidates), points))
    return themes


ANSWER_OPENERS = re.compile(r"^(because|since|yes|yeah|yep|no|nope|i think|i thought|probably|maybe|perhaps)\b", re.I)


def _open_questions(messages: Sequence[PastMessage], asked: list[_Sentence], vectors: np.ndarray) -> list[str]:
    """``vectors``: one per message (zeros for an empty one)."""
    replies = [
        i
        for i, m in enumerate(messages)
        if m.text.strip() and (m.user.is_bot or (not asks_something(m.text) and len(m.text.split()) >= MIN_POINT_WORDS))
    ]
    still_open: list[str] = []
    seen: set[str] = set()
    for q in asked:
        answered = False
        for i in replies:
            reply = messages[i]
            if i <= q.index or reply.user.id == q.author:
                continue
            soon = i - q.index <= ANSWER_WINDOW
            if (soon and (reply.user.is_bot or ANSWER_OPENERS.match(reply.text.strip()))) or (
                not reply.user.is_bot and float(vectors[q.index] @ vectors[i]) >= ANSWER_SIMILARITY
            ):
                answered = True
                break
        text = quoted(q.text)
        if not answered and text.lower() not in seen:
            seen.add(text.lower())
            still_open.append(text)
    return still_open[-MAX_OPEN_QUESTIONS:]


def _passages(themes: list[Theme], questions: list[str], search: Search) -> list[Touched]:
    touched: list[Touched] = []
    seen: set[tuple[str, str, str]] = set()
    for query in [" ".join(t.points) for t in themes] + questions:
        retrieval = search(query)
        if retrieval is None or not retrieval.covered or not retrieval.hits:
            continue
        hit = retrieval.hits[0]
        key = (hit.reading, hit.document, hit.section)
        if key in seen or not hit.passages:
            continue
        seen.add(key)
        touched.append(Touched(hit.section, hit.document, hit.reading, quoted(hit.passages[0].text, PASSAGE_WORDS)))
        if len(touched) == MAX_PASSAGES:
            break
    return touched


def message_vectors(messages: Sequence[PastMessage], embed: Embed) -> np.ndarray:
    """One vector per member's message, from its first ``EMBEDDED_WORDS`` words (the cost of the model
    grows with length; a chat message's gist is in its start), each distinct text embedded once; zeros
    for bots' messages (readbot's reply to a question counts as its answer whatever its words) and for
    those too short to be a point or an answer ("lol", "same")."""
    texts = [
        " ".join(m.text.split()[:EMBEDDED_WORDS])
        if not m.user.is_bot and len(m.text.split()) >= MIN_POINT_WORDS
        else ""
        for m in messages
    ]
    distinct = list(dict.fromkeys(t for t in texts if t))
    if not distinct:
        return np.zeros((len(messages), 1), dtype=np.float32)
    vectors = embed(distinct)
    row = {text: i for i, text in enumerate(distinct)}
    out = np.zeros((len(messages), vectors.shape[1]), dtype=np.float32)
    for i, text in enumerate(texts):
        if text:
            out[i] = vectors[row[text]]
    return out


def member_texts(messages: Sequence[PastMessage]) -> list[str]:
    return [m.text for m in messages if not m.user.is_bot and m.text.strip()]


def extractive_recap(messages: Sequence[PastMessage], embed: Embed, search: Search) -> Recap:
    """Blocking (embedding, retrieval): call it in a worker thread. Each message is embedded once;
    its sentences share its vector."""
    found, members = _member_sentences(messages)
    asking = [asks_something(s.text) for s in found]
    asked = [s for s, a in zip(found, asking, strict=True) if a]
    candidates = [
        s
        for s, a in zip(found, asking, strict=True)
        if not a and len(s.text.split()) >= MIN_POINT_WORDS and not SOCIAL.search(s.text)
    ]
    vectors = message_vectors(messages, embed)
    themes = _points(candidates, vectors[[s.index for s in candidates]] if candidates else vectors[:0])
    questions = _open_questions(messages, asked, vectors)
    return Recap(members, tuple(themes), tuple(questions), tuple(_passages(themes, questions, search)))
