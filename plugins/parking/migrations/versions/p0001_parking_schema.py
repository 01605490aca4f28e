"""parking schema

Revision ID: p0001_parking
Revises:
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0001_parking"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("parking",)
depends_on: str | Sequence[str] | None = "0001_core"


def upgrade() -> None:
    op.create_table(
        "parking_rental",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("car_model", sa.String(length=64), nullable=False),
        sa.Column("licence_masked", sa.String(length=32), nullable=False),
        sa.Column("identity_checked", sa.Boolean(), nullable=False),
        sa.Column("checked_by", sa.String(length=100), nullable=False),
        sa.Column("monthly_rent_fen", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_for", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_parking_rental_unit_id_unit")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["resident.id"], name=op.f("fk_parking_rental_resident_id_resident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parking_rental")),
        sa.UniqueConstraint("number", name=op.f("uq_parking_rental_number")),
    )
    op.create_index("ix_parking_rental_state_end", "parking_rental", ["state", "end_date"])
    op.create_index("ix_parking_rental_created", "parking_rental", ["created_at"])
    op.create_index(op.f("ix_parking_rental_unit_id"), "parking_rental", ["unit_id"])
    op.create_index(op.f("ix_parking_rental_resident_id"), "parking_rental", ["resident_id"])
    op.create_index(op.f("ix_parking_rental_plate"), "parking_rental", ["plate"])
    op.create_table(
        "parking_card",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rental_id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("uid_hex", sa.String(length=32), nullable=False),
        sa.Column("printed_number", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("deposit_receipt", sa.String(length=40), nullable=False),
        sa.Column("deposit_state", sa.String(length=16), nullable=False),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=100), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["rental_id"],
            ["parking_rental.id"],
            name=op.f("fk_parking_card_rental_id_parking_rental"),
        ),
        sa.ForeignKeyConstraint(
            ["card_id"], ["card.id"], name=op.f("fk_parking_card_card_id_card")
        ),
        sa.ForeignKeyConstraint(
            ["replaces_id"],
            ["parking_card.id"],
            name=op.f("fk_parking_card_replaces_id_parking_card"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parking_card")),
    )
    op.create_index("ix_parking_card_rental_state", "parking_card", ["rental_id", "state"])
    op.create_index(op.f("ix_parking_card_card_id"), "parking_card", ["card_id"])
    op.create_table(
        "parking_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rental_id", sa.Integer(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("receipt_no", sa.String(length=40), nullable=False),
        sa.Column("bill_line_id", sa.Integer(), nullable=True),
        sa.Column("from_date", sa.Date(), nullable=True),
        sa.Column("to_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rental_id"],
            ["parking_rental.id"],
            name=op.f("fk_parking_period_rental_id_parking_rental"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parking_period")),
    )
    op.create_index("ix_parking_period_rental_state", "parking_period", ["rental_id", "state"])
    op.create_index(op.f("ix_parking_period_bill_line_id"), "parking_period", ["bill_line_id"])


def downgrade() -> None:
    op.drop_table("parking_period")
    op.drop_table("parking_card")
    op.drop_table("parking_rental")
