"""The optional LLM path, driven by langchain-core's fake chat models over the real index."""

from __future__ import annotations

import string
import time
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pydantic import Field

from bot.knowledge.answer import NOT_COVERED
from bot.knowledge.llm import TEMPLATE_PATH, LLMAnswerer, load_template
from bot.knowledge.service import LLM_FALLBACK_NOTE, KnowledgeService
from bot.settings import Settings

DOCUMENT = "dwarkesh-107-ilya-sutskever"
SSI = "SSI\u2019s approach: straight-shotting superintelligence"


class RecordingChatModel(FakeListChatModel):
    """FakeListChatModel that keeps the text of every prompt it was sent."""

    prompts: list[str] = Field(default_factory=list)

    def _call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        self.prompts.append("\n".join(str(m.content) for m in messages))
        return super()._call(messages, *args, **kwargs)


class BrokenChatModel(RecordingChatModel):
    def _call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        self.prompts.append("called")
        raise ConnectionError("provider is down")


@pytest.fixture
def open_with(knowledge_service, session_data_dir):
    """Open a service over the session's index (already built) with a given chat model."""
    opened: list[KnowledgeService] = []

    def open_(model: Any, **env: str) -> KnowledgeService:
        settings = Settings.from_env({"READBOT_DATA_DIR": str(session_data_dir), **env}, dotenv=None)
        service = KnowledgeService.open(settings, chat_model=model)
        opened.append(service)
        assert service.llm is not None and service.llm.model is model
        assert service.index.count() == knowledge_service.index.count()
        return service

    yield open_
    for service in opened:
        service.close()


def test_llm_prose_is_used_and_the_citation_comes_from_retrieval(open_with):
    prose = "SSI wants to go straight to safe superintelligence. Source: Some Other Book, chapter 9"
    model = RecordingChatModel(responses=[prose])
    service = open_with(model)
    answer = service.ask("What is SSI's straight-shot plan?")
    assert answer.grounded is True
    assert answer.sources[0].section == SSI
    assert answer.text.startswith(prose)
    assert answer.text.splitlines()[-1] == f"Source: \u201c{SSI}\u201d ({DOCUMENT})"
    assert answer.text.count("\n") == 1  # the model's prose, then readbot's one citation line
    assert "> " not in answer.text  # not the extractive fallback
    assert answer.note == ""
    assert len(model.prompts) == 1


def test_the_prompt_holds_the_selected_evidence_and_the_question(open_with, knowledge_service):
    model = RecordingChatModel(responses=["An answer."])
    service = open_with(model)
    question = "Why does Ilya want AI to care about sentient life?"
    service.ask(question)
    assert len(model.prompts) == 1
    prompt = model.prompts[0]
    extractive = knowledge_service.ask(question)  # no LLM: the evidence it quotes
    assert extractive.sources[0].section == "Alignment and long-term safety"
    assert extractive.evidence
    for passage in extractive.evidence:
        assert f"- {passage.section}: {passage.text}" in prompt
        assert f"> {passage.text}" in extractive.text  # the same passages the reply quotes
        for detail in passage.details:
            assert f"  - {detail}" in prompt
    assert f"Question: {question}" in prompt
    assert "Use ONLY the passages below." in prompt
    assert "Earlier questions" not in prompt
    assert "{" not in prompt and "}" not in prompt  # every placeholder filled


def test_the_prompt_carries_the_thread_history(open_with):
    model = RecordingChatModel(responses=["Because empathy scales."])
    service = open_with(model)
    answer = service.ask("and why?", history=["Why does Ilya want AI to care about sentient life?"])
    assert answer.grounded
    prompt = model.prompts[0]
    earlier = "Earlier questions in this thread:\n- Why does Ilya want AI to care about sentient life?\n"
    assert earlier in prompt
    assert "Question: and why?" in prompt


def test_a_failing_model_falls_back_to_the_extractive_answer(open_with, reading_text):
    model = BrokenChatModel(responses=["never used"])
    service = open_with(model)
    answer = service.ask("What is SSI's straight-shot plan?")
    assert model.prompts == ["called"]
    assert answer.grounded is True
    lines = answer.text.splitlines()
    assert lines[0].startswith("> ")  # the extractive answer ...
    quotes = [ln[2:] for ln in lines if ln.startswith("> ")]
    assert quotes and all(q.strip(" \u2022") in reading_text for q in quotes)
    assert LLM_FALLBACK_NOTE in lines  # ... with the one-line note
    assert lines.count(LLM_FALLBACK_NOTE) == 1
    assert lines[-1] == f"Source: \u201c{SSI}\u201d ({DOCUMENT})"
    assert "never used" not in answer.text
    assert "ConnectionError" in answer.note and "provider is down" in answer.note


def test_a_model_slower_than_the_timeout_falls_back(open_with):
    model = FakeListChatModel(responses=["too late"], sleep=2.0)
    service = open_with(model, READBOT_LLM_TIMEOUT="0.2")
    assert service.llm.timeout == pytest.approx(0.2)
    started = time.monotonic()
    answer = service.ask("What is SSI's straight-shot plan?")
    elapsed = time.monotonic() - started
    assert elapsed < 1.5, f"waited {elapsed:.2f}s for a 0.2s timeout"
    assert "too late" not in answer.text
    assert LLM_FALLBACK_NOTE in answer.text.splitlines()
    assert answer.text.startswith("> ")
    assert answer.grounded is True
    assert "no answer within 0.2 s" in answer.note


def test_an_empty_model_answer_falls_back(open_with):
    service = open_with(RecordingChatModel(responses=["   "]))
    answer = service.ask("What is SSI's straight-shot plan?")
    assert LLM_FALLBACK_NOTE in answer.text.splitlines()
    assert answer.note == "empty answer"


def test_questions_the_reading_does_not_cover_never_reach_the_model(open_with):
    model = RecordingChatModel(responses=["Ilya's favourite movie is Inception."])
    service = open_with(model)
    for question in (
        "What is Ilya's favourite movie?",
        "How do I bake a chocolate cake?",
        "What did Ilya say about baking sourdough bread?",
    ):
        answer = service.ask(question)
        assert answer.grounded is False
        assert answer.text.startswith(NOT_COVERED)
        assert "Inception" not in answer.text
    assert model.prompts == []


def test_mass_mentions_in_model_output_are_neutralised(open_with):
    model = RecordingChatModel(responses=["@everyone SSI goes straight. <!channel> <@U123> @here"])
    service = open_with(model)
    answer = service.ask("What is SSI's straight-shot plan?")
    for raw in ("@everyone", "@here"):  # neutral mass mentions: defused by the core
        assert raw not in answer.text
    assert "@\u200beveryone" in answer.text and "@\u200bhere" in answer.text
    # platform syntax a model might write is each adapter's to make inert when it renders
    from bot.adapters.discord.render import defuse
    from bot.adapters.slack.render import safe_mrkdwn

    slack = safe_mrkdwn(answer.text)
    for raw in ("@everyone", "<!channel>", "<@U123>", "@here"):  # Slack's syntax
        assert raw not in slack, slack
    discord = defuse(answer.text + " <@123456789012345678>")
    for raw in ("@everyone", "@here", "<@123456789012345678>"):  # Discord's syntax
        assert raw not in discord, discord


def test_template_has_the_three_placeholders_and_nothing_else():
    assert TEMPLATE_PATH.is_file()
    template = load_template()
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    assert fields == {"passages", "question", "history"}


def test_llm_answerer_accepts_plain_strings_and_content_blocks(knowledge_service):
    from langchain_core.messages import AIMessage

    class Blocks:  # a provider answering with content blocks, as Anthropic's models do
        def invoke(self, prompt: str) -> Any:
            return AIMessage(content=[{"type": "text", "text": "Part one. "}, {"type": "text", "text": "Part two."}])

    retrieval = knowledge_service.retrieve("What is SSI's straight-shot plan?")
    answerer = LLMAnswerer(Blocks(), timeout=5)
    try:
        assert answerer.answer(retrieval) == "Part one. Part two."
    finally:
        answerer.close()


def test_the_part_the_reading_does_not_cover_is_still_said_after_the_model_s_prose(open_with):
    prose = "Emotions act like a value function: they signal a mistake before the end."
    service = open_with(RecordingChatModel(responses=[prose]))
    answer = service.ask("How do emotions work as value functions, and what is the weather in Paris tomorrow?")
    assert answer.grounded
    assert answer.body.splitlines() == [
        prose,
        "The reading doesn't cover that: \u201cwhat is the weather in Paris tomorrow\u201d.",
    ]
