"""Database tables (SQLAlchemy Core). Changes go through a new Alembic migration."""

from __future__ import annotations

from sqlalchemy import (
                        JSON,
                        Boolean,
                        Column,
                        DateTime,
                        ForeignKey,
                        Integer,
                        MetaData,
                        String,
                        Table,
                        Text,
                        UniqueConstraint,
)

metadata = MetaData()

polls = Table(
    "polls", metadata,
    Column("id", String(32), primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("channel_id", String(64), nullable=False),
    Column("thread_id", String(64)),
    Column("message_id", String(64)),  # the poll card, once posted
    Column("claim", Text, nullable=False),
    Column("claim_key", String(64), nullable=False),  # normalised claim, to compare polls over time
    Column("claim_id", String(64)),  # the bank entry, when taken from prompts/claims.yaml
    Column("section", Text, nullable=False, default=""),
    Column("passage", Text, nullable=False, default=""),
    Column("options", JSON, nullable=False),
    Column("anonymous", Boolean, nullable=False),
    Column("hide_results", Boolean, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("closes_at", DateTime(timezone=True), nullable=False, index=True),
    Column("closed_at", DateTime(timezone=True)),
    Column("status", String(8), nullable=False, index=True),  # open | closed
)

votes = Table(
    "votes", metadata,
    Column("poll_id", String(32), ForeignKey("polls.id", ondelete="CASCADE"), nullable=False),
    Column("voter", String(128), nullable=False),  # platform user id, or HMAC of it when anonymous
    Column("option", Integer, nullable=False),
    Column("voted_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("poll_id", "voter", name="one_vote_per_person"),
)
