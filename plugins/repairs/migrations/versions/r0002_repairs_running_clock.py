"""repairs: the running SLA clock and its deadline, indexed for the desk panel

Revision ID: r0002_repairs_clock
Revises: r0001_repairs
Create Date: 2026-11-23 07:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "r0002_repairs_clock"
down_revision: str | Sequence[str] | None = "r0001_repairs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("repair_ticket") as batch:
        batch.add_column(sa.Column("clock", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("clock_due_at", sa.DateTime(timezone=True), nullable=True))
    # Tickets filed before this revision: the clock follows from the stored times.
    op.execute(
        "UPDATE repair_ticket SET clock = CASE WHEN responded_at IS NULL THEN 'respond' "
        "ELSE 'resolve' END, clock_due_at = CASE WHEN responded_at IS NULL THEN respond_due_at "
        "ELSE resolve_due_at END WHERE status NOT IN ('completed', 'closed', 'canceled') "
        "AND resolved_at IS NULL"
    )
    op.create_index("ix_repair_ticket_clock", "repair_ticket", ["clock", "clock_due_at"])
    op.create_index("ix_repair_ticket_clock_due", "repair_ticket", ["clock_due_at"])


def downgrade() -> None:
    op.drop_index("ix_repair_ticket_clock_due", table_name="repair_ticket")
    op.drop_index("ix_repair_ticket_clock", table_name="repair_ticket")
    with op.batch_alter_table("repair_ticket") as batch:
        batch.drop_column("clock_due_at")
        batch.drop_column("clock")
