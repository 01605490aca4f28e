"""the audit chain's head in one row, so that an appender locks and reads it in one statement

Revision ID: 0005_audit_head
Revises: 0004_alert_text
Create Date: 2026-12-03 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_audit_head"
down_revision: str | Sequence[str] | None = "0004_alert_text"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    # The head of the chain as it stands (the genesis hash for an empty one).
    op.execute(
        "INSERT INTO audit_head (id, seq, hash) SELECT 1, "
        "COALESCE((SELECT seq FROM audit_event ORDER BY seq DESC LIMIT 1), 0), "
        "COALESCE((SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1), '" + "0" * 64 + "')"
    )


def downgrade() -> None:
    op.drop_table("audit_head")
