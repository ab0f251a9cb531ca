"""The threads readbot started (an answer, a discussion prompt): a member's question there is
answered without mentioning readbot; a prompt's thread may be recapped the day after (once).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_threads",
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("thread_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recapped_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("platform", "channel_id", "thread_id", name="one_record_per_thread"),
    )


def downgrade() -> None:
    op.drop_table("bot_threads")
