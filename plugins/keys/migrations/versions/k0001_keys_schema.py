"""keys schema

Revision ID: k0001_keys
Revises:
Create Date: 2026-12-03 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "k0001_keys"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("keys",)
depends_on: str | Sequence[str] | None = "0001_core"


def upgrade() -> None:
    op.create_table(
        "custody_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("box", sa.String(length=16), nullable=False),
        sa.Column("slot", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=False),
        sa.Column("authorisation", sa.String(length=200), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_custody_key_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_key")),
        sa.UniqueConstraint("number", name=op.f("uq_custody_key_number")),
    )
    op.create_index("ix_custody_key_unit_status", "custody_key", ["unit_id", "status"])
    op.create_table(
        "key_handover",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=100), nullable=False),
        sa.Column("id_masked", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("accompanied_by", sa.String(length=100), nullable=False),
        sa.Column("out_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("out_by", sa.String(length=100), nullable=False),
        sa.Column("out_strokes", sa.JSON(), nullable=False),
        sa.Column("out_png", sa.LargeBinary(), nullable=False),
        sa.Column("due_back_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("back_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("back_by", sa.String(length=100), nullable=False),
        sa.Column("back_strokes", sa.JSON(), nullable=True),
        sa.Column("back_png", sa.LargeBinary(), nullable=True),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["key_id"], ["custody_key.id"], name=op.f("fk_key_handover_key_id_custody_key")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_handover")),
    )
    op.create_index("ix_key_handover_open", "key_handover", ["key_id", "back_at"])


def downgrade() -> None:
    op.drop_table("key_handover")
    op.drop_table("custody_key")
