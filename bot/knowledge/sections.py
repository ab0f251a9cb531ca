"""A reading's sections in order, and a section named the way a person names it.

Progress (``/reading progress SECTION``, ``readbot ask --upto SECTION``) names the last section
a group has read. It is matched to the reading's headings, in this order: the exact heading; the
heading whatever its case and spacing; a number (``3``: the heading whose number is 3, such as
"Part 3" or "3. The Wolf", else the third section); the one heading it begins; the one heading
that contains it. Nothing here knows a reading: any headings work.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.errors import InputError

NUMBER = re.compile(r"\d+")
SHOWN = 6  # sections listed in an error line
UNTITLED = "(before the first heading)"


@dataclass(frozen=True)
class SectionName:
    order: int  # the section's place in its document, from 0 (the index's ``section_order``)
    heading: str

    @property
    def label(self) -> str:
        return self.heading or UNTITLED


class UnknownSection(InputError):
    """The words name no section of the reading (or more than one)."""


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def _listing(sections: Sequence[SectionName]) -> str:
    shown = ", ".join(s.label for s in sections[:SHOWN])
    return shown + (f", … ({len(sections)} in all)" if len(sections) > SHOWN else "")


def match_section(sections: Sequence[SectionName], typed: str, *, reading: str) -> SectionName:
    """The section ``typed`` names, or UnknownSection (one line, with the sections to choose from)."""
    wanted = _normal(typed)
    if not wanted:
        raise UnknownSection(f"Say which section of {reading}: {_listing(sections)}.")
    if not sections:
        raise UnknownSection(f"The reading {reading} has no sections indexed yet.")
    for s in sections:
        if s.heading == typed.strip():
            return s
    found = [s for s in sections if _normal(s.label) == wanted]
    if len(found) == 1:
        return found[0]
    if wanted.isdigit():
        number = int(wanted)
        numbered = [s for s in sections if [int(n) for n in NUMBER.findall(s.heading)[:1]] == [number]]
        if len(numbered) == 1:
            return numbered[0]
        if 1 <= number <= len(sections):
            return sections[number - 1]
    for rule in (str.startswith, str.__contains__):
        found = [s for s in sections if rule(_normal(s.label), wanted)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            shown = typed.strip()[:40]
            raise UnknownSection(f"“{shown}” could be {_listing(found)} in {reading}: say which one.")
    shown = typed.strip()[:40]
    raise UnknownSection(f"“{shown}” names no section of {reading}. Its sections: {_listing(sections)}.")


def suggestions(sections: Sequence[SectionName], typed: str, limit: int = 25) -> list[tuple[str, str]]:
    """Sections for a command's autocomplete, as (label, value): those whose heading starts with
    what is typed first, then those containing it; nothing typed, the first ``limit``."""
    wanted = _normal(typed)
    first = [s for s in sections if _normal(s.label).startswith(wanted)]
    rest = [s for s in sections if wanted in _normal(s.label) and s not in first]
    return [(s.label[:100], s.label[:100]) for s in [*first, *rest][:limit]]
