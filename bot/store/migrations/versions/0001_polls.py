"""Polls and votes.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "polls",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("thread_id", sa.String(64)),
        sa.Column("message_id", sa.String(64)),
        sa.Column("claim", sa.Text, nullable=False),
        sa.Column("claim_key", sa.String(64), nullable=False),
        sa.Column("claim_id", sa.String(64)),
        sa.Column("section", sa.Text, nullable=False),
        sa.Column("passage", sa.Text, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("anonymous", sa.Boolean, nullable=False),
        sa.Column("hide_results", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(8), nullable=False),
    )
    op.create_index("ix_polls_closes_at", "polls", ["closes_at"])
    op.create_index("ix_polls_status", "polls", ["status"])
    op.create_index("ix_polls_channel_claim", "polls", ["platform", "channel_id", "claim_key"])
    op.create_table(
        "votes",
        sa.Column("poll_id", sa.String(32), sa.ForeignKey("polls.id", ondelete="CASCADE"), nullable=False),
        sa.Column("voter", sa.String(128), nullable=False),
        sa.Column("option", sa.Integer, nullable=False),
        sa.Column("voted_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("poll_id", "voter", name="one_vote_per_person"),
    )


def downgrade() -> None:
    op.drop_table("votes")
    op.drop_index("ix_polls_channel_claim", "polls")
    op.drop_index("ix_polls_status", "polls")
    op.drop_index("ix_polls_closes_at", "polls")
    op.drop_table("polls")
