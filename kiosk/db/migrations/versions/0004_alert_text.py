"""desk alerts carry their wording as a message id and parameters, so that every desk shows
them in its staff's language

Revision ID: 0004_alert_text
Revises: 0003_notify
Create Date: 2026-12-03 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_alert_text"
down_revision: str | Sequence[str] | None = "0003_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("desk_alert", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("msgid", sa.String(length=300), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("params", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("desk_alert", schema=None) as batch_op:
        batch_op.drop_column("params")
        batch_op.drop_column("msgid")
