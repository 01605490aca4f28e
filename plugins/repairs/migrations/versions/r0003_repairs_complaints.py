"""repairs: complaint handling (forward, judgement, reply, why major) and event grouping

Revision ID: r0003_repairs_complaints
Revises: r0002_repairs_clock
Create Date: 2026-12-02 15:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "r0003_repairs_complaints"
down_revision: str | Sequence[str] | None = "r0002_repairs_clock"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("repair_ticket") as batch:
        batch.add_column(sa.Column("building_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_repair_ticket_building", "building", ["building_id"], ["id"])
        batch.add_column(
            sa.Column("outage", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("forward_due_at", TZ, nullable=True))
        batch.add_column(sa.Column("forwarded_at", TZ, nullable=True))
        batch.add_column(
            sa.Column("forwarded_to", sa.String(length=100), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("valid", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("judged_at", TZ, nullable=True))
        batch.add_column(
            sa.Column("judged_by", sa.String(length=100), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("explanation", sa.String(length=300), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("major_reason", sa.String(length=16), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("reported_up_at", TZ, nullable=True))
        batch.add_column(sa.Column("reply_due_at", TZ, nullable=True))
        batch.add_column(sa.Column("replied_at", TZ, nullable=True))
        batch.add_column(
            sa.Column("reply_text", sa.String(length=500), nullable=False, server_default="")
        )
    # Tickets filed before this revision: the building follows from the unit.
    op.execute(
        "UPDATE repair_ticket SET building_id = (SELECT unit.building_id FROM unit "
        "WHERE unit.id = repair_ticket.unit_id) WHERE unit_id IS NOT NULL"
    )
    op.create_index(
        "ix_repair_ticket_event",
        "repair_ticket",
        ["kind", "category", "building_id", "created_at"],
    )
    op.create_index("ix_repair_ticket_forward_due", "repair_ticket", ["forward_due_at"])
    op.create_index("ix_repair_ticket_visit_due", "repair_ticket", ["visit_due_at"])
    op.create_index("ix_repair_ticket_reply_due", "repair_ticket", ["reply_due_at"])


def downgrade() -> None:
    op.drop_index("ix_repair_ticket_reply_due", table_name="repair_ticket")
    op.drop_index("ix_repair_ticket_visit_due", table_name="repair_ticket")
    op.drop_index("ix_repair_ticket_forward_due", table_name="repair_ticket")
    op.drop_index("ix_repair_ticket_event", table_name="repair_ticket")
    with op.batch_alter_table("repair_ticket") as batch:
        for name in ("reply_text", "replied_at", "reply_due_at", "reported_up_at",
                     "major_reason", "explanation", "judged_by", "judged_at", "valid",
                     "forwarded_to", "forwarded_at", "forward_due_at", "outage"):  # fmt: skip
            batch.drop_column(name)
        batch.drop_constraint("fk_repair_ticket_building", type_="foreignkey")
        batch.drop_column("building_id")
