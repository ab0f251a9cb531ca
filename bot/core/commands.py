"""Commands declared once, neutrally: what a feature offers, not how a platform shows it.

A feature declares its slash commands as :class:`CommandSpec` values; adapters build their
platform's form of them (Discord application commands; Slack's manifest is checked against
them by a test) and translate what a person typed back into ``Command.options`` keyed by the
declared option names. No adapter hard-codes a feature's options.

An option of kind ``"file"`` asks for a file instead of text: what the person attached arrives in
``Command.attachments`` (never in ``options``), each platform getting it its own way (Discord: an
attachment parameter; Slack: the file the person shared in the channel just before; the console: a
path typed last).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

Suggest = Callable[[str], list[tuple[str, str]]]
"""typed text → (label shown, value sent) suggestions, best first."""
MAX_SUGGESTIONS = 25  # what a person can scan (and what Discord shows)
SUGGESTION_VALUE_LIMIT = 100  # a suggestion's value stays short; a long one is offered by an id
OPTION_KINDS = ("text", "file")


@dataclass(frozen=True)
class OptionSpec:
    name: str
    description: str
    required: bool = False
    choices: tuple[str, ...] = ()  # a closed set of values ("on", "off"); empty: free text
    suggest: Suggest | None = field(default=None, compare=False)  # open text with suggestions
    kind: str = "text"  # "text" | "file" (a file the person attaches: Command.attachments)

    def __post_init__(self) -> None:
        if self.kind not in OPTION_KINDS:
            raise ValueError(f"option {self.name!r}: kind must be one of {', '.join(OPTION_KINDS)}, not {self.kind!r}")
        if self.kind == "file" and (self.choices or self.suggest is not None):
            raise ValueError(f"option {self.name!r}: a file option has no choices or suggestions")

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "required": self.required,
            "choices": list(self.choices),
            "suggest": self.suggest is not None,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class CommandSpec:
    """``/name``: what it does, its options (in order) and whether only moderators may use it.

    ``free_text`` is the option that takes whatever follows the command on a platform whose
    commands are plain text (Slack, the console): ``/ask what is research taste?`` gives
    ``options[free_text]``. A command whose options don't fit one line of text (``/poll``) leaves
    it empty and its handler parses ``Command.text``."""

    name: str
    description: str
    options: tuple[OptionSpec, ...] = ()
    moderator_only: bool = False
    usage: str = ""  # a one-line example of the text form, e.g. "[question]"
    free_text: str = ""

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "moderator_only": self.moderator_only,
            "usage": self.usage,
            "free_text": self.free_text,
            "options": [o.describe() for o in self.options],
        }

    @property
    def takes_file(self) -> bool:
        """Whether one of its options asks for a file."""
        return any(o.kind == "file" for o in self.options)


def spec_hash(specs: Iterable[CommandSpec]) -> str:
    """A digest of the declarations: it changes exactly when what a platform shows would."""
    body = json.dumps(sorted((s.describe() for s in specs), key=lambda d: str(d["name"])), sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def check_unique(specs: Sequence[CommandSpec]) -> None:
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"commands declared twice: {', '.join('/' + n for n in dupes)}")
