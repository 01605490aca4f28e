"""login guards: failed-attempt state per unit, staff account, kiosk keypad and invite codes

Revision ID: 0002_login_guard
Revises: 0001_core
Create Date: 2026-12-02 15:00:00

Lockouts move from the person (resident, staff row) to what is guessed at: a unit's PINs lock
the unit, whichever holder's PIN is tried; a kiosk's keypad slows down after repeated failures.
The old ``failed_attempts`` / ``locked_until`` columns stay (unused) so older code can still run.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_login_guard"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_guard",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recent", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_guard")),
        sa.UniqueConstraint("scope", "key", name="uq_login_guard_scope_key"),
    )


def downgrade() -> None:
    op.drop_table("login_guard")
