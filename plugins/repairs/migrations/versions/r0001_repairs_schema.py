"""repairs schema

Revision ID: r0001_repairs
Revises:
Create Date: 2026-11-23 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "r0001_repairs"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("repairs",)
depends_on: str | Sequence[str] | None = "0001_core"


def _t(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "repair_ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("severity", sa.String(length=12), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("location", sa.String(length=16), nullable=False),
        sa.Column("floor", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("reporter", sa.String(length=100), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=True),
        sa.Column("received_by", sa.String(length=100), nullable=False),
        sa.Column("contact_phone", sa.String(length=32), nullable=False),
        _t("appointment_at"),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("external", sa.Boolean(), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("price_fen", sa.Integer(), nullable=False),
        _t("consent_at"),
        sa.Column("charge_fen", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=False),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("renotify_count", sa.Integer(), nullable=False),
        _t("notified_at"),
        _t("created_at", nullable=False),
        _t("confirmed_at"),
        _t("dispatched_at"),
        _t("started_at"),
        _t("deferred_at"),
        _t("deferred_until"),
        _t("completed_at"),
        _t("closed_at"),
        _t("canceled_at"),
        sa.Column("note", sa.String(length=300), nullable=False),
        _t("respond_due_at", nullable=False),
        _t("solve_due_at"),
        _t("resolve_due_at", nullable=False),
        _t("responded_at"),
        _t("resolved_at"),
        sa.Column("sla_met", sa.Boolean(), nullable=True),
        sa.Column("signature", sa.JSON(), nullable=True),
        _t("signed_at"),
        _t("visit_due_at"),
        _t("visited_at"),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("rating_comment", sa.String(length=300), nullable=False),
        _t("escalated_at"),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_repair_ticket_unit_id_unit")
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"], ["resident.id"], name=op.f("fk_repair_ticket_reporter_id_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_ticket")),
        sa.UniqueConstraint("number", name=op.f("uq_repair_ticket_number")),
    )
    op.create_index("ix_repair_ticket_status_created", "repair_ticket", ["status", "created_at"])
    op.create_index("ix_repair_ticket_created", "repair_ticket", ["created_at"])
    op.create_index("ix_repair_ticket_unit", "repair_ticket", ["unit_id", "created_at"])


def downgrade() -> None:
    op.drop_table("repair_ticket")
