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
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

polls = Table(
    "polls",
    metadata,
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
    "votes",
    metadata,
    Column("poll_id", String(32), ForeignKey("polls.id", ondelete="CASCADE"), nullable=False),
    Column("voter", String(128), nullable=False),  # platform user id, or HMAC of it when anonymous
    Column("option", Integer, nullable=False),
    Column("voted_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("poll_id", "voter", name="one_vote_per_person"),
)


# ----- daily discussion prompts (migration 0002) ---------------------------------

prompt_claims = Table(
    "prompt_claims",
    metadata,
    Column("platform", String(16), nullable=False),
    Column("channel_id", String(64), nullable=False),
    Column("slot_utc", DateTime(timezone=True), nullable=False),  # the scheduled instant
    # claimed (posting) | posted | failed | skipped (a moderator) | missed (too late) | paused
    Column("status", String(16), nullable=False),
    Column("question_id", String(64)),
    Column("message_id", String(64)),
    Column("claimed_by", String(128), nullable=False),  # "scheduler <host>:<pid>" or "moderator <user id>"
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("posted_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
    # the database decides who posts a slot: the one process whose insert succeeds
    PrimaryKeyConstraint("platform", "channel_id", "slot_utc", name="one_claim_per_slot"),
)

prompt_channels = Table(
    "prompt_channels",
    metadata,
    Column("platform", String(16), nullable=False),
    Column("channel_id", String(64), nullable=False),
    Column("paused", Boolean, nullable=False, default=False),
    Column("cycle", Integer, nullable=False, default=0),  # 1, 2, …: the pass through the bank
    Column("question_order", JSON, nullable=False),  # this cycle's question ids, in order
    Column("position", Integer, nullable=False, default=0),  # how many of them are used
    Column("version", Integer, nullable=False, default=0),  # optimistic lock for taking a question
    Column("watched_until", DateTime(timezone=True)),  # a scheduler looked at this channel until then
    Column("updated_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("platform", "channel_id", name="prompt_channels_pkey"),
)

prompt_questions = Table(
    "prompt_questions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("channel_id", String(64), nullable=False),
    Column("question", Text, nullable=False),
    Column("question_key", String(64), nullable=False),  # normalised, to refuse duplicates
    Column("added_by", String(64), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("platform", "channel_id", "question_key", name="one_question_per_channel"),
)

processed_events = Table(
    "processed_events",
    metadata,
    Column("event_key", String(200), primary_key=True),  # "<platform>:<event id>"
    Column("seen_at", DateTime(timezone=True), nullable=False, index=True),
)

bot_state = Table(
    "bot_state",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# ----- readings (migration 0005) -------------------------------------------------

readings = Table(
    "readings",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("source", Text, nullable=False),  # the file it came from (a name; a path for the CLI)
    Column("format", String(8), nullable=False),  # txt | md | html | pdf | epub
    Column("sections", JSON, nullable=False),  # headings with text under them, in reading order
    Column("status", String(16), nullable=False),  # indexing | ready
    Column("added_by", String(64), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),  # every change bumps it: replicas refresh
)

channel_readings = Table(
    "channel_readings",
    metadata,
    Column("platform", String(16), nullable=False),
    Column("channel_id", String(64), nullable=False),
    Column("reading_id", String(64), ForeignKey("readings.id", ondelete="CASCADE"), nullable=False),
    Column("set_by", String(64), nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("platform", "channel_id", name="one_reading_per_channel"),
)

# ----- threads readbot started (migration 0006_threads) ---------------------------

bot_threads = Table(
    "bot_threads",
    metadata,
    Column("platform", String(16), nullable=False),
    Column("channel_id", String(64), nullable=False),
    Column("thread_id", String(64), nullable=False),  # Slack: the thread's ts; Discord: the thread channel id
    Column("kind", String(16), nullable=False),  # answer | prompt
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("recapped_at", DateTime(timezone=True)),  # a prompt's thread, recapped on schedule (claimed once)
    PrimaryKeyConstraint("platform", "channel_id", "thread_id", name="one_record_per_thread"),
)
