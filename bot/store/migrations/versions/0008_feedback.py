"""Questions asked in chat with their answers (for rate limits, sharing a private answer and
/insights), and 👍/👎 feedback on them.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asked_questions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("asker", sa.String(64), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("citations", sa.JSON, nullable=False),
        sa.Column("sections", sa.JSON, nullable=False),
        sa.Column("grounded", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("private", sa.Boolean, nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shared_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_asked_questions_asked_at", "asked_questions", ["asked_at"])
    op.create_index("asked_questions_asker", "asked_questions", ["asker", "asked_at"])
    op.create_index("asked_questions_channel", "asked_questions", ["platform", "channel_id", "asked_at"])
    op.create_table(
        "answer_feedback",
        sa.Column("answer_id", sa.String(32), sa.ForeignKey("asked_questions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("voter", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(4), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("answer_id", "voter", name="one_verdict_per_person"),
    )
    op.create_index("ix_answer_feedback_at", "answer_feedback", ["at"])


def downgrade() -> None:
    op.drop_table("answer_feedback")
    op.drop_index("asked_questions_channel", "asked_questions")
    op.drop_index("asked_questions_asker", "asked_questions")
    op.drop_index("ix_asked_questions_asked_at", "asked_questions")
    op.drop_table("asked_questions")
