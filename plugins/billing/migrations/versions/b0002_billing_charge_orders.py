"""billing: a payment order for a chosen set of charges (a parking renewal alone)

Revision ID: b0002_billing_charge_orders
Revises: b0001_billing
Create Date: 2026-12-02 18:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b0002_billing_charge_orders"
down_revision: str | Sequence[str] | None = "b0001_billing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A line paid on its own (its bill may still owe the rest); 0 for every line so far.
    with op.batch_alter_table("billing_line") as batch:
        batch.add_column(sa.Column("paid_fen", sa.BigInteger(), nullable=False, server_default="0"))
    # The lines an order pays ("" = the whole bill, as every order so far).
    with op.batch_alter_table("billing_order") as batch:
        batch.add_column(
            sa.Column("line_ids", sa.String(length=400), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("billing_order") as batch:
        batch.drop_column("line_ids")
    with op.batch_alter_table("billing_line") as batch:
        batch.drop_column("paid_fen")
