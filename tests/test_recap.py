"""Thread recaps: the extractive recap of threads the tests write (real model, real index), the LLM's
recap through langchain-core's fake chat model, and /recap end to end on the console (with a
follow-up asked without a mention)."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
import pytest_asyncio
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from bot.adapters.console import ConsoleAdapter
from bot.app import AdapterKit, open_app
from bot.core.events import PastMessage, User, Visibility
from bot.knowledge.llm import LLMAnswerer
from bot.recap.handler import EMPTY, RecapHandler
from bot.recap.summary import MAX_POINTS, MAX_QUOTED_WORDS, extractive_recap
from bot.settings import Settings

ANA, BO, CY = User("U1", "ana"), User("U2", "bo"), User("U3", "cy")
READBOT = User("UBOT", "readbot", is_bot=True)
MENTION = re.compile(r"@\w")

THREAD = [
    (READBOT, "Discussion question: Why does Ilya think models generalize worse than people?"),
    (ANA, "I think the core problem is generalization, models need far more data than humans to learn anything."),
    (BO, "Right, a teenager learns to drive in ten hours while models need millions of examples."),
    (CY, "The sample efficiency gap is the real story of the whole episode for me."),
    (ANA, "Humans also seem to have something like a robust value function from emotions."),
    (BO, "The emotions part surprised me, he says emotions act like a value function guiding decisions."),
    (
        CY,
        "I liked the bit about the brain damaged patient who could not make decisions without emotions, "
        "it shows how much feeling shapes even simple everyday choices.",
    ),
    (ANA, "Separately, SSI wants to straight-shot superintelligence instead of shipping products along the way."),
    (BO, "Straight-shotting sounds risky to me, they would not get feedback from real deployment."),
    (CY, "What does research taste mean to him?"),
    (ANA, "Research taste is his top-down belief about beauty and simplicity, inspired by the brain."),
    (BO, "Does anyone know when SSI plans to release anything?"),
    (CY, "lol"),
    (ANA, "@bo same, thanks for organising this, see you Thursday!"),
]


def thread() -> list[PastMessage]:
    return [PastMessage(user, text, str(i)) for i, (user, text) in enumerate(THREAD)]


def search_with(knowledge: Any) -> Any:
    return lambda text: knowledge.retrieve(text)


def member_runs(n: int) -> set[tuple[str, ...]]:
    runs: set[tuple[str, ...]] = set()
    for user, text in THREAD:
        if not user.is_bot:
            tokens = re.findall(r"[\w']+", text.lower())
            runs |= {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}
    return runs


def test_extractive_recap_of_a_written_thread(knowledge_service: Any) -> None:
    recap = extractive_recap(thread(), knowledge_service.index.embedder.embed_documents, search_with(knowledge_service))
    assert recap.messages == len(THREAD) - 1
    assert 1 <= recap.points <= MAX_POINTS and len(recap.themes) >= 2
    points = [p for t in recap.themes for p in t.points]
    assert all(len(p.split()) <= MAX_QUOTED_WORDS for p in points)
    assert not any(MENTION.search(p) for p in points)
    assert "lol" not in points
    # the SSI release question got no answer; the research-taste one did (Ana, right after)
    assert any("release" in q for q in recap.open_questions)
    assert not any("research taste" in q.lower() for q in recap.open_questions)
    sections = {p.section for p in recap.passages}
    assert sections & {"Generalization as the core challenge", "The role of emotions and value functions"}
    assert all(len(p.passage.split()) <= 25 for p in recap.passages)


def test_a_long_thread_keeps_at_most_eight_points(knowledge_service: Any) -> None:
    long = [PastMessage(u, f"{text} (take {i})", str(i)) for i in range(15) for u, text in THREAD[1:9]]
    recap = extractive_recap(long, knowledge_service.index.embedder.embed_documents, search_with(knowledge_service))
    assert recap.points == MAX_POINTS
    assert len({p for t in recap.themes for p in t.points}) == MAX_POINTS


def test_the_llm_writes_the_recap_within_readbots_rules(knowledge_service: Any) -> None:
    copied = THREAD[1][1]  # 17 words: may be quoted; the 27 of THREAD[6] may not
    too_long = THREAD[6][1]
    points = "\n".join(f"- point {i} about generalization" for i in range(10))
    written = f"## Generalization\n- {copied}\n- {too_long}\n{points}\n## Open questions\n- When will SSI ship?\n"
    model = FakeListChatModel(responses=[written])
    llm = LLMAnswerer(model, timeout=5, template="{passages}{question}{history}")
    original = knowledge_service.llm
    knowledge_service.llm = llm
    try:
        recap, by_llm = RecapHandler(outbox=None, knowledge=knowledge_service).recap(thread(), None)  # type: ignore[arg-type]
    finally:
        knowledge_service.llm = original
        llm.close()
    assert by_llm and recap.points == MAX_POINTS
    texts = [p for t in recap.themes for p in t.points]
    assert texts[0] == copied
    assert len(texts[1].split()) <= MAX_QUOTED_WORDS  # cut: it copied 26 words of members
    for point in texts:
        tokens = re.findall(r"[\w']+", point.lower())
        assert not {tuple(tokens[i : i + 21]) for i in range(len(tokens) - 20)} & member_runs(21)
    assert recap.open_questions == ("When will SSI ship?",)
    assert recap.passages  # found by readbot's search, not written by the model


def test_an_llm_answer_out_of_form_falls_back_to_the_extractive_recap(knowledge_service: Any) -> None:
    llm = LLMAnswerer(FakeListChatModel(responses=["Sure! Here is a recap."]), timeout=5, template="")
    original = knowledge_service.llm
    knowledge_service.llm = llm
    try:
        recap, by_llm = RecapHandler(outbox=None, knowledge=knowledge_service).recap(thread(), None)  # type: ignore[arg-type]
    finally:
        knowledge_service.llm = original
        llm.close()
    assert not by_llm and recap.points >= 1


@pytest_asyncio.fixture
async def chat(tmp_path: Any, knowledge_service: Any) -> Any:
    settings = Settings.from_env({"READBOT_DATA_DIR": str(tmp_path)}, dotenv=None)
    out = io.StringIO()

    def console(kit: AdapterKit) -> ConsoleAdapter:
        return ConsoleAdapter(kit.dispatcher, out, user=ANA, commands=kit.commands)

    async with open_app(settings, adapters=[console], knowledge=knowledge_service, run_tasks=False) as app:
        (adapter,) = app.adapters
        yield adapter, out


@pytest.mark.asyncio
async def test_console_follow_up_without_a_mention_then_recap(chat: Any) -> None:
    adapter, out = chat
    await adapter.handle_line("/recap")
    assert adapter.posted[-1][1] == adapter.posted[-1][1].__class__(EMPTY, visibility=Visibility.PRIVATE)
    await adapter.handle_line("> I loved this episode")  # an aside before readbot spoke here: left alone
    assert len(adapter.posted) == 1
    await adapter.handle_line("What does Ilya say about vibe coding?")
    answers = len(adapter.posted)
    await adapter.handle_line("> the bug fixing part was so funny")  # members' chat: left alone
    assert len(adapter.posted) == answers
    await adapter.handle_line("> what are the two possible explanations for it")  # a follow-up, no mention
    assert len(adapter.posted) == answers + 1 and adapter.posted[-1][1].citations
    await adapter.handle_line("/recap")
    recap = adapter.posted[-1][1]
    assert recap.visibility is Visibility.PUBLIC and recap.text.startswith("Recap of this thread (4 messages")
    assert "Open questions" in recap.text and "Traceback" not in out.getvalue()
