"""visitors: the lobby of each visit (multi-lobby estates)

Revision ID: v0002_visitors_lobby
Revises: v0001_visitors
Create Date: 2026-11-24 09:00:00

Visits from before this revision get lobby "" (not tied to a lobby): every desk keeps listing
them, as before. The server default stays, so bulk loads below the ORM (``kiosk bench
parcels`` loads visits too) get "" as well. Invites have no lobby: they are valid at any lobby.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "v0002_visitors_lobby"
down_revision: str | Sequence[str] | None = "v0001_visitors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("visitor_visit") as batch:
        batch.add_column(
            sa.Column("lobby", sa.String(length=32), nullable=False, server_default="")
        )
    op.create_index("ix_visitor_visit_lobby_status", "visitor_visit", ["lobby", "status"])


def downgrade() -> None:
    op.drop_index("ix_visitor_visit_lobby_status", table_name="visitor_visit")
    with op.batch_alter_table("visitor_visit") as batch:
        batch.drop_column("lobby")
