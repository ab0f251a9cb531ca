"""Polls can be cancelled: the status column holds "cancelled" (9 characters).

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _enforces_length() -> bool:
    """SQLite keeps any length in a VARCHAR column: only other databases need the wider type (and
    SQLite would otherwise rebuild the whole table for it)."""
    return op.get_bind().dialect.name != "sqlite"


def upgrade() -> None:
    if _enforces_length():
        op.alter_column("polls", "status", type_=sa.String(16), existing_type=sa.String(8), existing_nullable=False)


def downgrade() -> None:
    op.execute("UPDATE polls SET status = 'closed' WHERE status = 'cancelled'")
    if _enforces_length():
        op.alter_column("polls", "status", type_=sa.String(8), existing_type=sa.String(16), existing_nullable=False)
