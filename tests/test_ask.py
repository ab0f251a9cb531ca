"""Answering questions about the shipped reading: in-process and through the real CLI."""

from __future__ import annotations

import json
import re

import pytest

from bot.errors import InputError
from bot.knowledge.answer import NOT_COVERED
from bot.knowledge.retrieval import question_parts

DOCUMENT = "dwarkesh-107-ilya-sutskever"
SSI = "SSI\u2019s approach: straight-shotting superintelligence"
MASS = re.compile(r"@(everyone|here|channel)\b|<!(everyone|here|channel)", re.IGNORECASE)


def _quote_lines(text: str) -> list[str]:
    """The reading's words quoted in an answer: "> passage" lines, and ">   • item" lines
    for the list a lead-in passage ("... because:") introduces."""
    out = []
    for line in text.splitlines():
        if line.startswith(">   • "):
            out.append(line[len(">   • ") :])
        elif line.startswith("> "):
            out.append(line[2:])
    return out


def _by_type(rows, kind):
    return [r for r in rows if r["type"] == kind]


# --------------------------------------------------------------------------- dev set, in process


def test_in_scope_dev_questions_are_answered_from_the_gold_section(knowledge_service, dev_questions, reading_text):
    in_scope = _by_type(dev_questions, "in_scope")
    assert in_scope, "the dev set has no in-scope questions"
    problems: list[str] = []
    top1 = 0
    for row in in_scope:
        answer = knowledge_service.ask(row["question"])
        sections = [s.section for s in answer.sources]
        gold = set(row["gold"])
        tag = f"{row['id']} {row['question']!r}"
        if not answer.grounded:
            problems.append(f"{tag}: not grounded: {answer.text!r}")
            continue
        if sections[:1] and sections[0] in gold:
            top1 += 1
        if not gold & set(sections[:3]):
            problems.append(f"{tag}: gold {sorted(gold)} not in top 3 {sections[:3]}")
        if not any(key.lower() in answer.text.lower() for key in row["keys"]):
            problems.append(f"{tag}: none of {row['keys']} in {answer.text!r}")
        for quote in _quote_lines(answer.text):
            if quote not in reading_text:
                problems.append(f"{tag}: quote not in the reading: {quote!r}")
        if f"Source: \u201c{sections[0]}\u201d ({DOCUMENT})" not in answer.text:
            problems.append(f"{tag}: no citation of {sections[0]!r}")
    assert not problems, "\n".join(problems)
    assert top1 >= len(in_scope) - 1, f"top-1 gold section for only {top1} of {len(in_scope)}"


def test_out_of_scope_dev_questions_say_the_reading_does_not_cover_them(knowledge_service, dev_questions):
    rows = _by_type(dev_questions, "out_of_scope")
    assert rows, "the dev set has no out-of-scope questions"
    for row in rows:
        answer = knowledge_service.ask(row["question"])
        assert answer.grounded is False, (row, answer.text)
        assert answer.text.startswith(NOT_COVERED), answer.text
        assert "doesn't cover" in answer.text
        sections = [src.section for src in answer.sources]
        assert 1 <= len(sections) <= 3 and len(set(sections)) == len(sections)  # closest, even when declined
        assert answer.coverage is not None and answer.coverage[0] < answer.coverage[1]


def test_adversarial_dev_questions_are_refused_or_answered_safely(knowledge_service, dev_questions):
    rows = _by_type(dev_questions, "adversarial")
    assert rows, "the dev set has no adversarial questions"
    for row in rows:
        try:
            answer = knowledge_service.ask(row["question"])
        except InputError as exc:
            assert str(exc) and "\n" not in str(exc)
            continue
        assert not MASS.search(answer.text), (row, answer.text)
        assert answer.grounded is False, (row, answer.text)


def test_junk_input_is_an_input_error(knowledge_service):
    for junk in ("x", "??", "", "   ", None):
        with pytest.raises(InputError):
            knowledge_service.ask(junk)


def test_naming_the_reading_s_subject_does_not_make_an_off_topic_question_covered(knowledge_service):
    # "Ilya" is what the reading is about (derived from its title and text), so naming him
    # adds nothing to what a question asks: the coverage score is the same without him
    for named, unnamed in (
        ("What did Ilya say about baking sourdough bread?", "What did he say about baking sourdough bread?"),
        ("What is Ilya's favourite movie?", "What is his favourite movie?"),
    ):
        answer = knowledge_service.ask(named)
        assert answer.grounded is False, answer.text
        assert answer.text.startswith(NOT_COVERED)
        features = knowledge_service.retrieve(named).features
        assert features["covered_terms"] == knowledge_service.retrieve(unnamed).features["covered_terms"] < 0.5


def test_covered_answer_quotes_a_sentence_or_two_verbatim_and_cites_the_section(knowledge_service, reading_text):
    answer = knowledge_service.ask("What is SSI's straight-shot plan?")
    assert answer.grounded is True
    assert answer.sources[0].section == SSI
    lines = answer.text.splitlines()
    quotes = _quote_lines(answer.text)
    assert 1 <= len(quotes) <= 2
    for quote in quotes:
        assert quote in reading_text
        assert f"\u2022 {quote}\n" in reading_text + "\n"  # a whole bullet, not a fragment
    assert lines[-1] == f"Source: \u201c{SSI}\u201d ({DOCUMENT})"
    assert len(lines) == len(quotes) + 1  # only the quoted lines and the citation: no invented prose
    assert len(answer.text.split()) <= 60


def test_a_short_question_gets_the_line_that_answers_it(knowledge_service):
    answer = knowledge_service.ask("SSI disadvantages?")
    assert answer.grounded
    assert answer.body.startswith("> Disadvantages: lack of public interaction"), answer.body
    assert "SSI aims to build" not in answer.body


def test_does_the_reading_say_leads_with_the_passage_that_bears_on_it(knowledge_service):
    answer = knowledge_service.ask("Will SSI keep everything secret until a finished release?")
    assert answer.grounded
    assert answer.body.splitlines()[0] == "> Even in a \u201cstraight-shot\u201d plan, release would be gradual."


def test_a_question_of_two_parts_quotes_both_sections(knowledge_service):
    answer = knowledge_service.ask("How do emotions work as value functions, and why does SSI want gradual release?")
    assert answer.grounded
    sections = [s.section for s in answer.sources[:2]]
    assert sections == ["The role of emotions and value functions", SSI]
    assert len(_quote_lines(answer.text)) == 2
    assert answer.text.splitlines()[-1] == (
        f"Source: \u201c{sections[0]}\u201d, \u201c{sections[1]}\u201d ({DOCUMENT})"
    )


@pytest.mark.parametrize("joint", [" and also ", ", but also ", ", also "])
def test_a_second_part_joined_by_also_is_searched_on_its_own(knowledge_service, joint):
    question = f"How do emotions work as value functions{joint}why does SSI want gradual release?"
    assert question_parts(question) == ["How do emotions work as value functions", "why does SSI want gradual release"]
    answer = knowledge_service.ask(question)
    assert [s.section for s in answer.sources[:2]] == ["The role of emotions and value functions", SSI]
    assert len(_quote_lines(answer.text)) == 2


@pytest.mark.parametrize(
    "question",
    [
        "How do emotions work as value functions, and what is the weather in Paris tomorrow?",
        "What is the weather in Paris tomorrow, and how do emotions work as value functions?",
    ],
)
def test_a_part_the_reading_does_not_cover_is_said_so_and_the_rest_answered(knowledge_service, question):
    answer = knowledge_service.ask(question)
    assert answer.grounded
    assert answer.sources[0].section == "The role of emotions and value functions"
    assert len(_quote_lines(answer.text)) == 1
    last = answer.body.splitlines()[-1]  # the part as typed
    assert last.lower() == "the reading doesn't cover that: \u201cwhat is the weather in paris tomorrow\u201d."


def test_a_trailing_guess_is_not_a_part_of_its_own(knowledge_service):
    # "? palo alto and tel aviv?" restates the question; it asks nothing the reply could decline
    answer = knowledge_service.ask("How do emotions work as value functions? paris maybe?")
    assert "doesn't cover" not in answer.body


def test_a_question_none_of_whose_parts_is_covered_is_declined(knowledge_service):
    answer = knowledge_service.ask("What's a good pizza place near me, and what's a good bakery?")
    assert not answer.grounded and answer.body.startswith(NOT_COVERED)


def test_also_inside_one_question_does_not_split_it():
    assert question_parts("Does he also say what a value function is?") == [
        "Does he also say what a value function is?"
    ]


def test_the_coverage_decision_is_explained_by_its_score_and_threshold(knowledge_service):
    for question in ("Why do humans generalize better than models?", "How do I bake a chocolate cake?"):
        answer = knowledge_service.ask(question)
        score, threshold = answer.coverage
        assert 0.0 <= score <= 1.0 and 0.0 < threshold < 1.0
        assert answer.grounded == (score >= threshold)


def test_sources_are_ranked_best_first_with_their_best_passage(knowledge_service, reading_text):
    answer = knowledge_service.ask("Why do humans generalize better than models?")
    scores = [s.score for s in answer.sources]
    assert scores == sorted(scores, reverse=True)
    assert len({s.section for s in answer.sources}) == len(answer.sources)
    for source in answer.sources:
        assert source.reading == DOCUMENT and source.document == DOCUMENT
        assert source.text in reading_text


def test_summary_questions_get_the_summary(knowledge_service):
    answer = knowledge_service.ask("What is the gist of this episode?")
    assert answer.grounded
    assert answer.sources[0].section == "Summary"


def test_a_follow_up_is_searched_with_the_thread_s_last_question(knowledge_service):
    alone = knowledge_service.ask("and why?")
    assert alone.grounded is False  # it cannot stand alone ...
    followup = knowledge_service.ask("and why?", history=["Why does Ilya want AI to care about sentient life?"])
    assert followup.grounded  # ... so it leans on the thread
    assert followup.sources[0].section == "Alignment and long-term safety"
    assert followup.question == "and why?"


def test_a_follow_up_says_the_next_thing_not_the_answer_it_leans_on(knowledge_service):
    first = "What does Ilya say about vibe coding?"
    before = knowledge_service.ask(first)
    followup = knowledge_service.ask("why?", history=[first])
    assert followup.grounded
    assert followup.sources[0].section == before.sources[0].section
    assert set(_quote_lines(followup.text)).isdisjoint(_quote_lines(before.text))
    again = knowledge_service.ask("and what does that mean?", history=[first])
    assert set(_quote_lines(again.text)).isdisjoint(_quote_lines(before.text))


def test_a_follow_up_that_stands_alone_is_answered_as_asked(knowledge_service):
    first = "What does Ilya say about vibe coding?"
    before = knowledge_service.ask(first)
    assert knowledge_service.ask(first, history=[first]).text == before.text  # asked again: no lean, same answer


@pytest.mark.parametrize(
    ("question", "section"),
    [
        ("What does he say about vibe coding?", "The disconnect between model capability and real-world performance"),
        ("wat does he say abot pre-trainng runing out of data", None),
    ],
)
def test_a_question_that_stands_alone_is_not_hijacked_by_the_thread(knowledge_service, question, section):
    alone = knowledge_service.ask(question)
    assert alone.grounded, alone.text
    for history in (["How do I bake a chocolate cake?"], ["Why does Ilya want AI to care about sentient life?"]):
        threaded = knowledge_service.ask(question, history=history)
        assert threaded.text == alone.text
    if section:
        assert alone.sources[0].section == section
    else:
        assert "pre-training" in alone.body.lower()


@pytest.mark.parametrize("question", ["How many employees does SSI have?", "how much compute does SSI have?"])
def test_a_new_question_after_a_gist_is_not_answered_with_the_gist(knowledge_service, question):
    # before: searched with "what is this reading about?", the gist rule answered it with the summary
    alone = knowledge_service.ask(question)
    assert not alone.grounded, alone.text
    threaded = knowledge_service.ask(question, history=["what is this reading about?"])
    assert not threaded.grounded, threaded.text
    assert threaded.text == alone.text
    # a follow-up that names nothing of its own still leans on a place the thread named
    why = knowledge_service.ask("and why?", history=["What does the last section say?"])
    assert why.grounded and why.sources[0].section == "Research taste and top-down belief", why.text


@pytest.mark.parametrize(
    "message",
    [
        "thanks!",
        "Thank you so much",
        "awesome, thanks!",
        "hi readbot",
        "help",
        "help me",
        "What can you do?",
        "what commands are there?",
        "who are you?",
        "good bot",
        "what should we discuss about this?",  # the daily prompts answer it, not a passage
        "What should we talk about today?",
    ],
)
def test_small_talk_gets_a_friendly_pointer_not_retrieval(knowledge_service, message):
    answer = knowledge_service.ask(message)
    assert answer.small_talk is True
    assert answer.grounded is False and answer.sources == () and answer.coverage is None
    assert "/help" in answer.text and NOT_COVERED not in answer.text
    assert "reading" in answer.text
    assert answer.to_json() == {"answer": answer.text, "grounded": False, "coverage": None, "sources": []}


def test_asked_what_to_discuss_readbot_points_to_the_daily_prompts(knowledge_service):
    answer = knowledge_service.ask("so what should we discuss this week?")
    assert answer.small_talk and "discussion prompt" in answer.text and "/prompt suggest" in answer.text


@pytest.mark.parametrize(
    "question",
    [
        "thanks, and what is a value function?",
        "help me understand what a value function is",
        "what should we discuss about value functions?",  # names a topic of the reading: a question
    ],
)
def test_a_question_that_starts_like_small_talk_is_still_answered(knowledge_service, question):
    answer = knowledge_service.ask(question)
    assert not answer.small_talk and answer.grounded
    assert answer.sources[0].section == "The role of emotions and value functions"


def test_invalid_utf8_is_one_clear_input_error(knowledge_service):
    for bad in ("caf\udce9 au lait?", b"caf\xe9 au lait?"):
        with pytest.raises(InputError) as caught:
            knowledge_service.ask(bad)
        assert "UTF-8" in str(caught.value)


def test_unknown_reading_is_a_clear_input_error_naming_the_readings(knowledge_service):
    from bot.errors import InputError

    assert knowledge_service.index.count() > 0
    with pytest.raises(InputError) as caught:
        knowledge_service.ask("What is SSI's straight-shot plan?", reading="no-such-reading")
    message = str(caught.value)
    assert "no-such-reading" in message
    assert "dwarkesh-107-ilya-sutskever" in message
    assert "No reading is indexed" not in message


def test_known_reading_filter_answers(knowledge_service):
    answer = knowledge_service.ask("What is SSI's straight-shot plan?", reading="dwarkesh-107-ilya-sutskever")
    assert answer.grounded
    assert all(s.reading == "dwarkesh-107-ilya-sutskever" for s in answer.sources)


# --------------------------------------------------------------------------- the real CLI


def _one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def _check_source(source: dict) -> None:
    assert set(source) == {"reading", "document", "section", "text", "score"}
    for key in ("reading", "document", "section", "text"):
        assert isinstance(source[key], str) and source[key], (key, source)
    assert isinstance(source["score"], float), source


def test_cli_ask_json_prints_one_object(run_readbot, cli_data_dir, reading_text):
    result = run_readbot(["ask", "What is SSI's straight-shot plan?", "--json"], data_dir=cli_data_dir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    payload = json.loads(lines[0])
    assert isinstance(payload, dict)
    assert set(payload) == {"answer", "grounded", "coverage", "sources"}
    assert isinstance(payload["answer"], str) and payload["answer"]
    assert payload["grounded"] is True
    assert set(payload["coverage"]) == {"score", "threshold"}
    assert payload["coverage"]["score"] >= payload["coverage"]["threshold"]
    assert isinstance(payload["sources"], list) and payload["sources"]
    for source in payload["sources"]:
        _check_source(source)
        assert source["text"] in reading_text
    scores = [s["score"] for s in payload["sources"]]
    assert scores == sorted(scores, reverse=True)
    assert payload["sources"][0]["section"] == SSI
    assert payload["sources"][0]["document"] == DOCUMENT
    for quote in _quote_lines(payload["answer"]):
        assert quote in reading_text


def test_cli_ask_text_output(run_readbot, cli_data_dir):
    result = run_readbot(["ask", "How do I bake a chocolate cake?"], data_dir=cli_data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(NOT_COVERED)
    assert "\nClosest section:\n  - " in result.stdout


def test_cli_ask_json_from_stdin_answers_line_by_line(run_readbot, cli_data_dir):
    stdin = "What is SSI's straight-shot plan?\n\nx\nShould humans merge with AI?\n"
    result = run_readbot(["ask", "--json", "-"], data_dir=cli_data_dir, stdin=stdin)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4, result.stdout
    objects = [json.loads(line) for line in lines]
    assert all(isinstance(o, dict) for o in objects)
    first, empty, junk, last = objects
    assert set(first) == {"answer", "grounded", "coverage", "sources"}
    assert first["grounded"] is True and first["sources"][0]["section"] == SSI
    assert set(empty) == {"error"} and isinstance(empty["error"], str) and empty["error"]
    assert set(junk) == {"error"} and isinstance(junk["error"], str) and junk["error"]
    assert set(last) == {"answer", "grounded", "coverage", "sources"}
    assert last["grounded"] is True
    assert last["sources"][0]["section"] == "Alignment and long-term safety"
    for obj in (first, last):
        for source in obj["sources"]:
            _check_source(source)


@pytest.mark.parametrize("question", ["", "why " * 624 + "now?"], ids=["empty", "2500-chars"])
def test_cli_rejects_bad_input_with_one_line(run_readbot, cli_data_dir, question):
    assert len(question) in (0, 2500)
    result = run_readbot(["ask", question], data_dir=cli_data_dir)
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert line.startswith("readbot: ")
    assert result.stdout == ""
    if question:
        assert "2,500" in line and "2,000" in line


@pytest.mark.parametrize(("name", "value"), [("READBOT_LOG_LEVEL", "LOUD"), ("READBOT_LLM", "nocolon")])
def test_cli_rejects_a_bad_setting_with_one_line_naming_it(run_readbot, tmp_path, name, value):
    result = run_readbot(["ask", "What is SSI's straight-shot plan?"], data_dir=tmp_path / "d", env={name: value})
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert line.startswith("readbot: ") and name in line and value in line
    assert result.stdout == ""


def _run_bytes(readbot_exe, cli_env, data_dir, args: list[bytes], stdin: bytes | None = None):
    import subprocess

    env = {**cli_env, "READBOT_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [str(readbot_exe).encode(), *args], input=stdin, capture_output=True, env=env, timeout=180, check=False
    )


@pytest.mark.parametrize(
    "raw",
    [b"caf\xe9 au lait?", b"\xff\xfe\x00\x01junk\x9c", b"\x89PNG\r\n\x1a\n\x00\x00"],
    ids=["latin-1", "binary", "png-header"],
)
def test_cli_rejects_bytes_that_are_not_a_question_with_one_line(readbot_exe, cli_env, cli_data_dir, raw):
    if b"\x00" in raw:
        raw = raw.replace(b"\x00", b"")  # argv cannot hold NUL; the rest is still junk
    result = _run_bytes(readbot_exe, cli_env, cli_data_dir, [b"ask", raw])
    assert result.returncode == 2
    line = _one_line(result.stderr.decode("utf-8"))
    assert line.startswith("readbot: ")
    assert result.stdout == b""


def test_cli_json_stdin_answers_every_valid_line_and_flags_the_invalid_one(readbot_exe, cli_env, cli_data_dir):
    stdin = b"What is SSI's straight-shot plan?\ncaf\xe9 \xff\xfe what?\nthanks!\nShould humans merge with AI?\n"
    result = _run_bytes(readbot_exe, cli_env, cli_data_dir, [b"ask", b"--json", b"-"], stdin)
    assert result.returncode == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert len(objects) == 4
    first, bad, thanks, last = objects
    assert first["grounded"] is True and first["sources"][0]["section"] == SSI
    assert set(bad) == {"error"} and "UTF-8" in bad["error"]
    assert thanks == {"answer": thanks["answer"], "grounded": False, "coverage": None, "sources": []}
    assert "/help" in thanks["answer"]
    assert last["grounded"] is True
    assert b"Traceback" not in result.stderr
