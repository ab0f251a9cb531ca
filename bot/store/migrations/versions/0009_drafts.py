"""The review queue: drafted discussion questions and poll claims waiting for a moderator.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reading_id", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("text_key", sa.String(64), nullable=False),
        sa.Column("section", sa.Text, nullable=False),
        sa.Column("section_order", sa.Integer, nullable=False),
        sa.Column("passage", sa.Text, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("original", sa.Text),
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("kind", "reading_id", "text_key", name="one_text_per_reading"),
    )
    op.create_index("ix_review_items_reading_id", "review_items", ["reading_id"])
    op.create_index("ix_review_items_state", "review_items", ["state"])


def downgrade() -> None:
    op.drop_index("ix_review_items_state", "review_items")
    op.drop_index("ix_review_items_reading_id", "review_items")
    op.drop_table("review_items")
