"""How far each channel has read its reading (spoiler-safe answers), and which syllabus step
a channel was last moved to.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_progress",
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("reading_id", sa.String(64), sa.ForeignKey("readings.id", ondelete="CASCADE"), nullable=False),
        sa.Column("section_order", sa.Integer, nullable=False),
        sa.Column("section", sa.Text, nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "channel_id", "reading_id", name="one_progress_per_channel_reading"),
    )


def downgrade() -> None:
    op.drop_table("channel_progress")
