"""The shipped banks (prompts/discussion.yaml, prompts/claims.yaml): a YAML list of entries under
one key, each a table of text fields. A broken bank stops start-up with one line naming the file
and the entry (``readbot doctor`` prints the same line), never a traceback or a half-read bank."""

from __future__ import annotations

from pathlib import Path

from bot.errors import ConfigError


def load_entries(path: Path, key: str, fields: tuple[str, ...], what: str) -> list[dict[str, str]]:
    """The entries under ``key``, each with the ``fields`` as non-empty text and a unique ``id``."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: can't read the {what} bank ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the {what} bank is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "malformed"
        raise ConfigError(f"{path}: the {what} bank is not valid YAML{where} ({problem})") from None
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise ConfigError(f"{path}: expected a list of {what}s under '{key}:'")
    entries: list[dict[str, str]] = []
    seen: set[str] = set()
    for number, raw in enumerate(data[key], 1):
        label = f"{path} {what} #{number}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{label}: expected a table of {', '.join(fields)}")
        if isinstance(raw.get("id"), str) and raw["id"].strip():
            label = f"{label} ({raw['id'].strip()})"
        for name in fields:
            value = raw.get(name)
            if value is None:
                raise ConfigError(f"{label}: missing '{name}'")
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{label}: '{name}' must be non-empty text")
        entry = {name: str(raw[name]).strip() for name in fields}
        if entry["id"] in seen:
            raise ConfigError(f"{label}: the id {entry['id']!r} is used twice")
        seen.add(entry["id"])
        entries.append(entry)
    if not entries:
        raise ConfigError(f"{path}: the {what} bank is empty")
    return entries
