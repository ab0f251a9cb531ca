"""A neutral :class:`~bot.core.events.Reply` → what discord.py sends.

* text: every mention made inert (Discord's syntax made neutral, then
  :func:`bot.core.text.neutralize_mentions`, plus a zero-width space after any remaining
  ``@everyone``/``@here``), split into messages of at most 2,000 characters at
  sentence boundaries (:func:`bot.adapters.render.split_text`);
* citations: one embed titled "Source" – "“section” (document)" and a short quote;
* buttons: a persistent :class:`~.views.ReplyView`; an image: an attached file;
* the embed, buttons and file go on the *last* message of a split reply;
* every payload carries ``allowed_mentions`` = none (on top of the client-wide default), so nothing
  readbot posts can ping anyone, whatever the text says.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import discord

from bot.adapters.discord.mentions import to_neutral
from bot.adapters.discord.views import ReplyView
from bot.adapters.render import split_text
from bot.core.events import Button, Citation, Reply, Visibility
from bot.core.text import ZWSP, neutralize_mentions, strip_mentions

MAX_CONTENT = 2000
MAX_EMBED_DESCRIPTION = 4096
MAX_QUOTE = 300
MAX_THREAD_NAME = 100
MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)


def no_mentions() -> discord.AllowedMentions:
    """A fresh AllowedMentions.none() (discord.py may adjust the object it is given)."""
    return discord.AllowedMentions.none()


def defuse(text: str) -> str:
    """Text that can't ping: mentions neutralized, ``@everyone``/``@here`` broken by a zero-width space
    even where no word boundary follows (``@everyones``)."""
    return MASS_MENTION.sub(lambda m: f"@{ZWSP}{m.group(1)}", neutralize_mentions(to_neutral(text)))


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters, cut at a word with an ellipsis."""
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    return text[: cut if cut > limit // 2 else limit - 1].rstrip() + "…"


def citation_embed(citations: Sequence[Citation]) -> discord.Embed | None:
    if not citations:
        return None
    parts = []
    for c in citations:
        head = f"“{c.section}” ({c.document})"
        quote = shorten(c.text, MAX_QUOTE)
        parts.append(f"{head}\n> {quote}" if quote else head)
    description = defuse("\n\n".join(parts))
    if len(description) > MAX_EMBED_DESCRIPTION:
        description = description[: MAX_EMBED_DESCRIPTION - 1] + "…"
    return discord.Embed(title="Source" if len(citations) == 1 else "Sources", description=description)


def thread_name(question: str) -> str:
    """A thread title from a question: no mentions at all, one line, at most 100 characters."""
    return thread_title(strip_mentions(to_neutral(question))) or "Question"


def thread_title(title: str) -> str:
    """A given thread title, defused, one line, at most 100 characters."""
    return shorten(defuse(title), MAX_THREAD_NAME)


@dataclass(frozen=True)
class RenderedReply:
    text: str  # the whole defused text
    chunks: tuple[str, ...]  # message contents, in order ("" = no content, e.g. an embed only)
    embeds: tuple[discord.Embed, ...]
    buttons: tuple[Button, ...]
    image: bytes | None
    image_name: str
    private: bool
    start_thread: bool = False
    thread_title: str = ""

    def view(self) -> ReplyView | None:
        """A new view per message (a view instance belongs to the one message it is sent with)."""
        return ReplyView(self.buttons) if self.buttons else None

    def files(self) -> list[discord.File]:
        """New file objects per send (discord.py consumes them)."""
        return [discord.File(io.BytesIO(self.image), filename=self.image_name)] if self.image else []

    def is_last(self, index: int) -> bool:
        return index == len(self.chunks) - 1

    def message_kwargs(self, index: int) -> dict[str, Any]:
        """Keyword arguments for ``send``/``followup.send``/``response.send_message`` of chunk ``index``."""
        kwargs: dict[str, Any] = {"content": self.chunks[index] or None, "allowed_mentions": no_mentions()}
        if self.is_last(index):
            if self.embeds:
                kwargs["embeds"] = list(self.embeds)
            if (view := self.view()) is not None:
                kwargs["view"] = view
            if files := self.files():
                kwargs["files"] = files
        return kwargs

    def edit_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for editing a message into this reply (one message: the text is cut to
        2,000 characters; no buttons/embed means they are removed)."""
        content = self.text
        if len(content) > MAX_CONTENT:
            content = split_text(content, MAX_CONTENT - 1)[0] + "…"
        kwargs: dict[str, Any] = {
            "content": content,
            "embeds": list(self.embeds),
            "view": self.view(),
            "allowed_mentions": no_mentions(),
        }
        if files := self.files():
            kwargs["attachments"] = files
        return kwargs


def render(reply: Reply) -> RenderedReply:
    text = defuse(reply.text).strip()
    chunks = split_text(text, MAX_CONTENT) if text else []
    embed = citation_embed(reply.citations)
    embeds = (embed,) if embed is not None else ()
    if not chunks:
        if not (embeds or reply.buttons or reply.image):
            raise ValueError("nothing to post: the reply has no text, citation, button or image")
        chunks = [""]
    return RenderedReply(
        text,
        tuple(chunks),
        embeds,
        tuple(reply.buttons),
        reply.image,
        reply.image_name,
        reply.visibility is Visibility.PRIVATE,
        reply.start_thread,
        thread_title(reply.thread_title),
    )
