"""releases schema

Revision ID: r0001_releases
Revises:
Create Date: 2026-12-03 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "r0001_releases"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("releases",)
depends_on: str | Sequence[str] | None = "0001_core"


def upgrade() -> None:
    op.create_table(
        "release_pass",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("applicant", sa.String(length=100), nullable=False),
        sa.Column("applicant_role", sa.String(length=16), nullable=False),
        sa.Column("carrier", sa.String(length=100), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("leave_on", sa.Date(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_kiosk", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("owner_note", sa.String(length=200), nullable=False),
        sa.Column("fees_check", sa.String(length=16), nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refused_reason", sa.String(length=200), nullable=False),
        sa.Column("exited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("guard", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_release_pass_unit_id_unit")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_release_pass_resident_id_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_pass")),
        sa.UniqueConstraint("code", name=op.f("uq_release_pass_code")),
    )
    op.create_index("ix_release_pass_status", "release_pass", ["status"])
    op.create_index(op.f("ix_release_pass_unit_id"), "release_pass", ["unit_id"])
    op.create_table(
        "release_signature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pass_id", sa.Integer(), nullable=False),
        sa.Column("signer", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("strokes", sa.JSON(), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pass_id"], ["release_pass.id"], name=op.f("fk_release_signature_pass_id_release_pass")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_signature")),
    )
    op.create_index("ix_release_signature_pass", "release_signature", ["pass_id", "signer"])


def downgrade() -> None:
    op.drop_table("release_signature")
    op.drop_table("release_pass")
