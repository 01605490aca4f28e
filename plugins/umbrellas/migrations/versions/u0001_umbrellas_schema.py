"""umbrellas schema

Revision ID: u0001_umbrellas
Revises:
Create Date: 2026-11-23 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "u0001_umbrellas"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("umbrellas",)
depends_on: str | Sequence[str] | None = "0001_core"


def upgrade() -> None:
    op.create_table(
        "umbrella",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=32), nullable=False),
        sa.Column("lobby", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("price_fen", sa.Integer(), nullable=False),
        sa.Column("condition", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_umbrella")),
        sa.UniqueConstraint("tag", name=op.f("uq_umbrella_tag")),
    )
    op.create_index("ix_umbrella_lobby_state", "umbrella", ["lobby", "state"])
    op.create_table(
        "umbrella_loan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("umbrella_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("lent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lent_kiosk", sa.String(length=64), nullable=False),
        sa.Column("condition_out", sa.String(length=100), nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_kiosk", sa.String(length=64), nullable=False),
        sa.Column("condition_in", sa.String(length=16), nullable=False),
        sa.Column("late_fee_fen", sa.Integer(), nullable=False),
        sa.Column("compensation_fen", sa.Integer(), nullable=False),
        sa.Column("fee_status", sa.String(length=16), nullable=False),
        sa.Column("confirmed_by", sa.String(length=100), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["umbrella_id"], ["umbrella.id"], name=op.f("fk_umbrella_loan_umbrella_id_umbrella")
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_umbrella_loan_unit_id_unit")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_umbrella_loan_resident_id_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_umbrella_loan")),
    )
    op.create_index("ix_umbrella_loan_unit_open", "umbrella_loan", ["unit_id", "returned_at"])
    op.create_index("ix_umbrella_loan_umbrella", "umbrella_loan", ["umbrella_id", "returned_at"])
    op.create_index("ix_umbrella_loan_fee_status", "umbrella_loan", ["fee_status"])


def downgrade() -> None:
    op.drop_table("umbrella_loan")
    op.drop_table("umbrella")
