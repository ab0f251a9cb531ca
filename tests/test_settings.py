"""Typed settings: defaults, .env under the environment, one-line errors naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import Settings


def test_defaults(repo_root):
    settings = Settings.from_env({}, dotenv=None)
    assert settings == Settings()
    assert settings.data_dir == Path("data")
    assert settings.knowledge_dir == repo_root / "knowledge"
    assert settings.embeddings == "bundled"
    assert settings.llm == ""
    assert settings.llm_timeout == 20.0
    assert settings.log_level == "INFO" and settings.log_format == "text"
    assert settings.moderators == frozenset()
    assert settings.http_port == 3000
    assert settings.slack_mode == "" and settings.slack_bot_token == ""
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.discord_api_url == "https://discord.com/api/v10"
    assert settings.history_turns == 4


def test_values_are_parsed_and_normalised(tmp_path):
    settings = Settings.from_env(
        {
            "READBOT_DATA_DIR": str(tmp_path / "d"),
            "READBOT_KNOWLEDGE_DIR": str(tmp_path / "k"),
            "READBOT_EMBEDDINGS": "openai:text-embedding-3-small",
            "READBOT_LLM": " ollama:llama3.2 ",
            "READBOT_LLM_TIMEOUT": "2.5",
            "READBOT_LOG_LEVEL": "debug",
            "READBOT_LOG_FORMAT": "JSON",
            "READBOT_MODERATORS": "U1, U2,,U3 ",
            "READBOT_HTTP_PORT": "8080",
            "SLACK_MODE": "HTTP",
            "READBOT_HISTORY_TURNS": "0",
        },
        dotenv=None,
    )
    assert settings.data_dir == tmp_path / "d"
    assert settings.knowledge_dir == tmp_path / "k"
    assert settings.embeddings == "openai:text-embedding-3-small"
    assert settings.llm == "ollama:llama3.2"
    assert settings.llm_timeout == 2.5
    assert settings.log_level == "DEBUG" and settings.log_format == "json"
    assert settings.moderators == frozenset({"U1", "U2", "U3"})
    assert settings.http_port == 8080
    assert settings.slack_mode == "http"
    assert settings.history_turns == 0


def test_dotenv_values_are_read_and_the_environment_overrides_them(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# readbot settings\n"
        "READBOT_HTTP_PORT=4000\n"
        "READBOT_LLM=openai:gpt-4o-mini\n"
        "READBOT_MODERATORS=U1,U2\n"
        "SLACK_BOT_TOKEN=xoxb-from-dotenv\n",
        encoding="utf-8",
    )
    from_file = Settings.from_env({}, dotenv=dotenv)
    assert from_file.http_port == 4000
    assert from_file.llm == "openai:gpt-4o-mini"
    assert from_file.moderators == frozenset({"U1", "U2"})
    assert from_file.slack_bot_token == "xoxb-from-dotenv"

    overridden = Settings.from_env({"READBOT_HTTP_PORT": "5000", "SLACK_BOT_TOKEN": "xoxb-env"}, dotenv=dotenv)
    assert overridden.http_port == 5000
    assert overridden.slack_bot_token == "xoxb-env"
    assert overridden.llm == "openai:gpt-4o-mini"  # not overridden: still from the file


def test_os_environ_is_the_default_source(monkeypatch, tmp_path):
    monkeypatch.setenv("READBOT_HTTP_PORT", "4321")
    monkeypatch.setenv("READBOT_DATA_DIR", str(tmp_path))
    settings = Settings.from_env(dotenv=None)
    assert settings.http_port == 4321 and settings.data_dir == tmp_path


def test_a_missing_dotenv_file_is_fine(tmp_path):
    assert Settings.from_env({}, dotenv=tmp_path / "no.env") == Settings()


def test_a_bad_value_in_the_dotenv_file_is_reported_too(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("READBOT_HTTP_PORT=eighty\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="READBOT_HTTP_PORT"):
        Settings.from_env({}, dotenv=dotenv)
    # ... and fixing it in the environment wins
    assert Settings.from_env({"READBOT_HTTP_PORT": "80"}, dotenv=dotenv).http_port == 80


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("READBOT_HTTP_PORT", "abc"),
        ("READBOT_HTTP_PORT", "70000"),
        ("READBOT_HTTP_PORT", "0"),
        ("SLACK_MODE", "pigeon"),
        ("READBOT_EMBEDDINGS", "bad"),
        ("READBOT_LLM", "nocolon"),
        ("READBOT_LLM_TIMEOUT", "-1"),
        ("READBOT_LLM_TIMEOUT", "soon"),
        ("READBOT_LLM_TIMEOUT", "nan"),
        ("READBOT_LOG_LEVEL", "LOUD"),
        ("READBOT_LOG_FORMAT", "xml"),
        ("READBOT_HISTORY_TURNS", "50"),
    ],
)
def test_each_malformed_value_raises_config_error_naming_the_setting(name, value):
    with pytest.raises(ConfigError) as info:
        Settings.from_env({name: value}, dotenv=None)
    message = str(info.value)
    assert message.startswith(f"{name}=")
    assert "\n" not in message
    assert "expected" in message


def test_blank_values_mean_the_default():
    settings = Settings.from_env(
        {"READBOT_HTTP_PORT": " ", "READBOT_LOG_LEVEL": "", "READBOT_EMBEDDINGS": "", "READBOT_LLM_TIMEOUT": ""},
        dotenv=None,
    )
    assert settings == Settings()
