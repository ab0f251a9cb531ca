"""readbot.toml: schedules, and one line naming the entry for anything wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.errors import ConfigError
from bot.prompts.config import load_config, parse_config
from bot.settings import Settings

GOOD = """
[[schedule]]
platform = "slack"
channel = "C0123456"
cron = "0 9 * * 1-5"
timezone = "Europe/Berlin"

[[schedule]]
platform = "discord"
channel = "112233445566778899"
cron = "30 18 * * 0"
timezone = "America/New_York"
"""


def entry(
    platform: str = "slack",
    channel: str = "C0123456",
    cron: str = "0 9 * * 1-5",
    timezone: str | None = "Europe/Berlin",
    extra: str = "",
) -> str:
    zone = f'timezone = "{timezone}"\n' if timezone is not None else ""
    return f'[[schedule]]\nplatform = "{platform}"\nchannel = "{channel}"\ncron = "{cron}"\n{zone}{extra}\n'


def error_for(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("readbot.toml"))
    message = str(info.value)
    assert "\n" not in message, message
    return message


def test_schedules_are_read_and_grouped_per_channel() -> None:
    config = parse_config(GOOD + entry(cron="0 11 * * 6"), Path("readbot.toml"))
    assert [(s.number, s.platform, s.channel, s.cron.text, s.timezone.key) for s in config.schedules] == [
        (1, "slack", "C0123456", "0 9 * * 1-5", "Europe/Berlin"),
        (2, "discord", "112233445566778899", "30 18 * * 0", "America/New_York"),
        (3, "slack", "C0123456", "0 11 * * 6", "Europe/Berlin"),
    ]
    plans = config.channels()
    assert [(p.label, p.crons) for p in plans] == [
        ("slack C0123456", ("0 9 * * 1-5", "0 11 * * 6")),
        ("discord 112233445566778899", ("30 18 * * 0",)),
    ]


def test_timezone_defaults_to_utc_and_a_numeric_discord_channel_is_accepted() -> None:
    config = parse_config(
        '[[schedule]]\nplatform = "Discord"\nchannel = 112233445566778899\ncron = "@daily"\n', Path("readbot.toml")
    )
    schedule = config.schedules[0]
    assert (schedule.platform, schedule.channel, schedule.timezone.key) == ("discord", "112233445566778899", "UTC")


def test_a_missing_file_means_no_schedules_and_an_empty_file_too(tmp_path: Path) -> None:
    assert load_config(tmp_path / "readbot.toml").schedules == ()
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    assert load_config(tmp_path / "empty.toml").schedules == ()


def test_the_example_file_is_valid(repo_root: Path) -> None:
    config = load_config(repo_root / "readbot.example.toml")
    assert config.schedules and {s.platform for s in config.schedules} <= {"slack", "discord"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            entry(cron="61 9 * * *"),
            "readbot.toml schedule #1 (slack C0123456): bad cron '61 9 * * *': minute 61 out of range 0-59",
        ),
        (
            GOOD + entry(cron="0 9 * *"),
            "readbot.toml schedule #3 (slack C0123456): bad cron '0 9 * *': expected 5 fields",
        ),
        (
            GOOD + entry(timezone="Europe/Berln"),
            "readbot.toml schedule #3 (slack C0123456): unknown timezone 'Europe/Berln'",
        ),
        (entry(timezone="../../etc/passwd"), "readbot.toml schedule #1 (slack C0123456): unknown timezone"),
        (entry(timezone=""), "readbot.toml schedule #1 (slack C0123456): timezone '' is not"),
        (
            GOOD + entry(platform="teams"),
            "readbot.toml schedule #3 (teams C0123456): unknown platform 'teams': expected slack or discord",
        ),
        (GOOD + entry(), "readbot.toml schedule #3 (slack C0123456): duplicate of schedule #1"),
        (
            GOOD + entry(cron="0 9 * * mon-fri"),  # the same times spelled differently
            "readbot.toml schedule #3 (slack C0123456): duplicate of schedule #1",
        ),
        (
            GOOD + entry(cron="0 11 * * 6", timezone="UTC"),
            "readbot.toml schedule #3 (slack C0123456): timezone 'UTC' differs from 'Europe/Berlin' in schedule #1",
        ),
        ('[[schedule]]\nplatform = "slack"\ncron = "0 9 * * *"\n', "readbot.toml schedule #1: missing 'channel'"),
        (entry(extra='crn = "x"'), "readbot.toml schedule #1 (slack C0123456): unknown key 'crn'"),
        (entry(channel=" "), "readbot.toml schedule #1 (slack  ): channel ' ' is not a channel id"),
        ('[[schedules]]\nplatform = "slack"\n', "readbot.toml: unknown section 'schedules'"),
        ('schedule = "daily"\n', "readbot.toml: schedule must be written [[schedule]]"),
        ('[[schedule]]\nplatform = "slack\n', "readbot.toml: not valid TOML"),
    ],
)
def test_each_problem_is_one_line_naming_the_entry(text: str, expected: str) -> None:
    assert error_for(text).startswith(expected)


def test_settings_name_the_file_and_the_grace_period(tmp_path: Path) -> None:
    assert Settings().config_path == Path("readbot.toml") and Settings().prompt_grace_minutes == 120
    settings = Settings.from_env(
        {"READBOT_CONFIG": str(tmp_path / "prod.toml"), "READBOT_PROMPT_GRACE_MINUTES": "30"}, dotenv=None
    )
    assert settings.config_path == tmp_path / "prod.toml" and settings.prompt_grace_minutes == 30
    for bad in ("-1", "soon", "20000"):
        with pytest.raises(ConfigError, match=r"^READBOT_PROMPT_GRACE_MINUTES="):
            Settings.from_env({"READBOT_PROMPT_GRACE_MINUTES": bad}, dotenv=None)


def test_env_example_documents_the_settings(repo_root: Path) -> None:
    text = (repo_root / ".env.example").read_text(encoding="utf-8")
    assert "READBOT_CONFIG=" in text and "READBOT_PROMPT_GRACE_MINUTES=" in text


def test_readbot_run_stops_at_start_up_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "readbot.toml"
    config.write_text(GOOD + entry(cron="0 25 * * *"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("READBOT_CONFIG", str(config))
    monkeypatch.setenv("READBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-test")
    assert main(["run", "--platform", "slack"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"readbot: {config} schedule #3 (slack C0123456): bad cron '0 25 * * *': hour 25 out of range 0-23\n"
    )
    assert main(["prompts", "preview"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_readbot_prompts_preview(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("READBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("READBOT_CONFIG", str(tmp_path / "readbot.toml"))
    assert main(["prompts", "preview"]) == 0
    assert "No prompt schedules" in capsys.readouterr().out

    (tmp_path / "readbot.toml").write_text(GOOD, encoding="utf-8")
    assert main(["prompts", "preview", "--days", "8"]) == 0
    out = capsys.readouterr().out
    assert "slack C0123456 · Europe/Berlin · cron 0 9 * * 1-5" in out
    assert "discord 112233445566778899 · America/New_York · cron 30 18 * * 0" in out
    slack = out.split("discord 1122")[0]
    posts = [line for line in slack.splitlines() if line.startswith("  ") and " UTC " in line]
    assert 5 <= len(posts) <= 6
    for line in posts:  # 09:00 local, 08:00 UTC in winter or 07:00 in summer, and the question
        assert re.fullmatch(
            r"  (Mon|Tue|Wed|Thu|Fri) \d{1,2} \w{3} 09:00 (CET|CEST) +"
            r"\d{4}-\d\d-\d\d (08:00 UTC +\S.*|07:00 UTC +\S.*)",
            line,
        ), line
        assert re.search(r"\[[a-z0-9-]+\] .+\?$", line), line
    assert len({line.split("] ", 1)[1] for line in posts}) == len(posts)  # no repeats
    assert main(["prompts", "preview", "--days", "8"]) == 0
    assert capsys.readouterr().out.split("\n", 1)[1] == out.split("\n", 1)[1]  # nothing was used up

    with pytest.raises(SystemExit) as info:
        main(["prompts", "preview", "--days", "0"])
    assert info.value.code == 2
