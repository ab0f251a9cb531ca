"""Database tables (SQLAlchemy Core). Changes go through a new Alembic migration."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
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
    Column("status", String(16), nullable=False, index=True),  # open | closed | cancelled
    Index("ix_polls_channel_claim", "platform", "channel_id", "claim_key"),  # migration 0001: a claim's polls here
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

# ----- progress (migration 0007) -------------------------------------------------

channel_progress = Table(
    "channel_progress",
    metadata,
    Column("platform", String(16), nullable=False),
    Column("channel_id", String(64), nullable=False),
    Column("reading_id", String(64), ForeignKey("readings.id", ondelete="CASCADE"), nullable=False),
    Column("section_order", Integer, nullable=False),  # the last section read (the index's section_order)
    Column("section", Text, nullable=False),  # its heading, as it was named
    Column("set_by", String(64), nullable=False),  # a moderator's id, or "syllabus"
    Column("set_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("platform", "channel_id", "reading_id", name="one_progress_per_channel_reading"),
)

# ----- questions asked, their answers and the feedback on them (migration 0008) -----

asked_questions = Table(
    "asked_questions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("channel_id", String(64), nullable=False),
    Column("asker", String(64), nullable=False),  # HMAC of the person (rate limits, who may share), never the id
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False, default=""),
    Column("citations", JSON, nullable=False),  # [{section, document, reading, text}], what the answer cited
    Column("sections", JSON, nullable=False),  # the cited sections' titles (what /insights counts)
    Column("grounded", Boolean, nullable=False, default=False),
    # pending (being answered) | answered | declined (not covered) | chat (small talk) | failed
    Column("status", String(16), nullable=False),
    Column("private", Boolean, nullable=False, default=False),
    Column("asked_at", DateTime(timezone=True), nullable=False, index=True),
    Column("shared_at", DateTime(timezone=True)),
    Index("asked_questions_asker", "asker", "asked_at"),
    Index("asked_questions_channel", "platform", "channel_id", "asked_at"),
)

answer_feedback = Table(
    "answer_feedback",
    metadata,
    Column("answer_id", String(32), ForeignKey("asked_questions.id", ondelete="CASCADE"), nullable=False),
    Column("voter", String(64), nullable=False),  # HMAC of the person, per answer
    Column("verdict", String(4), nullable=False),  # up | down
    Column("note", Text, nullable=False, default=""),  # "what was wrong?"
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    UniqueConstraint("answer_id", "voter", name="one_verdict_per_person"),
)

# ----- the review queue: drafted prompts and claims (migration 0009) -------------

review_items = Table(
    "review_items",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),  # prompt | claim
    Column("reading_id", String(64), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("text_key", String(64), nullable=False),  # normalised text, to refuse duplicates
    Column("section", Text, nullable=False),
    Column("section_order", Integer, nullable=False),  # the section's index among the reading's sections
    Column("passage", Text, nullable=False),  # quoted verbatim from the section
    Column("origin", String(16), nullable=False),  # drafted (offline) | llm | suggested (a member, later)
    Column("state", String(16), nullable=False, index=True),  # pending | approved | rejected
    Column("position", Integer, nullable=False, default=0),  # order within the reading's drafts
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("original", Text),  # the text before a moderator's edit
    Column("decided_by", String(64)),
    Column("decided_at", DateTime(timezone=True)),
    UniqueConstraint("kind", "reading_id", "text_key", name="one_text_per_reading"),
)

# ----- the durable outbox (migration 0010) ---------------------------------------

outbox_items = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # delivery order within a platform
    Column("kind", String(32), nullable=False),  # what delivers it: "poll.card", "poll.results", "send", …
    Column("platform", String(16), nullable=False),
    Column("ref", String(128), nullable=False, default="", index=True),  # what it is about (a poll id), for views
    Column("payload", JSON, nullable=False),
    Column("status", String(12), nullable=False, index=True),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_at", DateTime(timezone=True), nullable=False, index=True),  # not tried again before then
    Column("claimed_until", DateTime(timezone=True)),  # a process is delivering it until then
    Column("delivered_at", DateTime(timezone=True)),
    Column("last_error", Text),
)

# ----- threads readbot started (migration 0011) ---------------------------

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
