"""notification delivery: leases, retries, give-up; resident email and channel; one-time links

Revision ID: 0003_notify
Revises: 0002_login_guard
Create Date: 2026-12-02 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_notify"
down_revision: str | Sequence[str] | None = "0002_login_guard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("claimed_by", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("delivered", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("last_error", sa.String(length=200), nullable=False, server_default="")
        )
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("notify_channel", sa.String(length=16), nullable=False, server_default="")
        )
    op.create_table(
        "notify_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_id", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_notify_link_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_link")),
        sa.UniqueConstraint("token_id", name=op.f("uq_notify_link_token_id")),
    )
    # Pending messages already in the outbox are due now.
    op.execute("UPDATE notification SET next_attempt_at = created_at WHERE state = 'pending'")


def downgrade() -> None:
    op.drop_table("notify_link")
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_column("notify_channel")
        batch_op.drop_column("email")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        for name in (
            "last_error",
            "failed_at",
            "delivered",
            "claimed_by",
            "lease_until",
            "next_attempt_at",
            "attempts",
        ):
            batch_op.drop_column(name)
