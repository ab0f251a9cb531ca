"""What a feature hands the kernel: its commands with their handlers, the buttons and forms
it owns, an optional handler for messages addressed to readbot, and its background tasks.

Each feature package (``bot.ask``, ``bot.polls``, ``bot.prompts``) builds one :class:`Feature`
from services passed in; the composition root (:mod:`bot.app`) collects them, builds the
dispatcher's :class:`Routes` from them and runs their tasks for every front end.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.adapter import Responder
from bot.core.commands import CommandSpec, check_unique
from bot.core.events import Event

Handler = Callable[[Event, Responder], Awaitable[None]]


def bind(specs: Iterable[CommandSpec], handlers: Mapping[str, Handler]) -> tuple[tuple[CommandSpec, Handler], ...]:
    """Each declared command with its handler; a declaration without a handler (or the reverse) is a
    programming error, raised at start-up."""
    specs = tuple(specs)
    declared = {s.name for s in specs}
    if declared != set(handlers):
        raise ValueError(f"commands declared {sorted(declared)} but handled {sorted(handlers)}")
    return tuple((spec, handlers[spec.name]) for spec in specs)


@dataclass(frozen=True)
class Task:
    """A background job that runs as long as readbot does (a deadline watcher, a scheduler)."""

    name: str
    run: Callable[[], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Feature:
    name: str
    commands: tuple[tuple[CommandSpec, Handler], ...] = ()
    on_message: Handler | None = None
    buttons: Mapping[str, Handler] = field(default_factory=dict)  # action prefix ("poll") → handler
    forms: Mapping[str, Handler] = field(default_factory=dict)  # form prefix → handler
    tasks: tuple[Task, ...] = ()
    drain: Callable[[], Awaitable[None]] | None = None  # at shutdown: finish work in flight
    help: Handler | None = None  # answers an unknown command and a message that is only "help"


@dataclass(frozen=True)
class Routes:
    """Which handler takes which event. Built once, from the features, before any adapter starts."""

    on_message: Handler | None = None
    commands: Mapping[str, Handler] = field(default_factory=dict)
    buttons: Mapping[str, Handler] = field(default_factory=dict)
    forms: Mapping[str, Handler] = field(default_factory=dict)
    specs: tuple[CommandSpec, ...] = ()
    help: Handler | None = None

    @classmethod
    def of(cls, features: Iterable[Feature]) -> Routes:
        features = list(features)
        specs = tuple(spec for f in features for spec, _ in f.commands)
        check_unique(specs)
        talkers = [f.name for f in features if f.on_message is not None]
        if len(talkers) > 1:
            raise ValueError(f"more than one feature answers messages: {', '.join(talkers)}")
        helpers = [f.name for f in features if f.help is not None]
        if len(helpers) > 1:
            raise ValueError(f"more than one feature answers help: {', '.join(helpers)}")
        return cls(
            on_message=next((f.on_message for f in features if f.on_message is not None), None),
            commands={spec.name: handler for f in features for spec, handler in f.commands},
            buttons=_merged("button", (f.buttons for f in features)),
            forms=_merged("form", (f.forms for f in features)),
            specs=specs,
            help=next((f.help for f in features if f.help is not None), None),
        )

    @property
    def command_names(self) -> list[str]:
        return sorted(self.commands)


def _merged(kind: str, maps: Iterable[Mapping[str, Handler]]) -> dict[str, Handler]:
    merged: dict[str, Handler] = {}
    for mapping in maps:
        for key, handler in mapping.items():
            if key in merged:
                raise ValueError(f"two features claim the {kind} prefix {key!r}")
            merged[key] = handler
    return merged
