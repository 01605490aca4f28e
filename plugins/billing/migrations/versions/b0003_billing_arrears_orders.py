"""billing: one payment order for all of a household's open bills (arrears, oldest first)

Revision ID: b0003_billing_arrears_orders
Revises: b0002_billing_charge_orders
Create Date: 2026-12-03 14:00:00

Such an order pays each bill with its own payment, so a payment's order is no longer unique
to it: one payment per bill and order instead. Downgrading fails while an order has paid
more than one bill (their payments could not be kept as they are).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b0003_billing_arrears_orders"
down_revision: str | Sequence[str] | None = "b0002_billing_charge_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "billing_order_bill",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("bill_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("late_fee_fen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["billing_order.id"],
            name=op.f("fk_billing_order_bill_order_id_billing_order"),
        ),
        sa.ForeignKeyConstraint(
            ["bill_id"],
            ["billing_bill.id"],
            name=op.f("fk_billing_order_bill_bill_id_billing_bill"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_order_bill")),
        sa.UniqueConstraint("order_id", "bill_id", name=op.f("uq_billing_order_bill_order_id")),
    )
    with op.batch_alter_table("billing_order_bill", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_billing_order_bill_bill_id"), ["bill_id"])
    with op.batch_alter_table("billing_payment", schema=None) as batch_op:
        batch_op.drop_constraint("uq_billing_payment_order_id", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_billing_payment_bill_id"), ["bill_id", "order_id"]
        )
        batch_op.create_index(batch_op.f("ix_billing_payment_order_id"), ["order_id"])


def downgrade() -> None:
    with op.batch_alter_table("billing_payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_payment_order_id"))
        batch_op.drop_constraint(batch_op.f("uq_billing_payment_bill_id"), type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_billing_payment_order_id"), ["order_id"])
    with op.batch_alter_table("billing_order_bill", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_billing_order_bill_bill_id"))
    op.drop_table("billing_order_bill")
