"""billing: when a household was sent its bill (``kiosk billing issue``)

Revision ID: b0004_billing_bill_issued
Revises: b0003_billing_arrears_orders
Create Date: 2026-12-04 15:00:00

A bill is told to its household once: the time it was sent, None until then.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b0004_billing_bill_issued"
down_revision: str | Sequence[str] | None = "b0003_billing_arrears_orders"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("billing_bill", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("billing_bill", schema=None) as batch_op:
        batch_op.drop_column("issued_at")
