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


def upgrade() -> None:
    with op.batch_alter_table("polls") as batch:
        batch.alter_column("status", type_=sa.String(16), existing_type=sa.String(8), existing_nullable=False)


def downgrade() -> None:
    op.execute("UPDATE polls SET status = 'closed' WHERE status = 'cancelled'")
    with op.batch_alter_table("polls") as batch:
        batch.alter_column("status", type_=sa.String(8), existing_type=sa.String(16), existing_nullable=False)
