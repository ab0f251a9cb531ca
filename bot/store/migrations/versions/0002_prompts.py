"""Daily discussion prompts: slot claims, per-channel bank state, moderators' questions.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prompt_claims",
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("slot_utc", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("question_id", sa.String(64)),
        sa.Column("message_id", sa.String(64)),
        sa.Column("claimed_by", sa.String(128), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.PrimaryKeyConstraint("platform", "channel_id", "slot_utc", name="one_claim_per_slot"),
    )
    op.create_table(
        "prompt_channels",
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("cycle", sa.Integer, nullable=False),
        sa.Column("question_order", sa.JSON, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("watched_until", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("platform", "channel_id", name="prompt_channels_pkey"),
    )
    op.create_table(
        "prompt_questions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("question_key", sa.String(64), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("platform", "channel_id", "question_key", name="one_question_per_channel"),
    )


def downgrade() -> None:
    op.drop_table("prompt_questions")
    op.drop_table("prompt_channels")
    op.drop_table("prompt_claims")
