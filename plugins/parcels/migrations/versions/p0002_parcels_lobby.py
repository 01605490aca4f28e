"""parcels: the lobby of each parcel and stored item (multi-lobby estates)

Revision ID: p0002_parcels_lobby
Revises: p0001_parcels
Create Date: 2026-11-24 09:00:00

Rows from before this revision get lobby "" (not tied to a lobby): every desk keeps listing
them and any kiosk may release them, as before, whatever the lobbies are called. The server
default stays, so bulk loads below the ORM (``kiosk bench parcels``) get "" as well.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0002_parcels_lobby"
down_revision: str | Sequence[str] | None = "p0001_parcels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("parcel") as batch:
        batch.add_column(
            sa.Column("lobby", sa.String(length=32), nullable=False, server_default="")
        )
    op.create_index("ix_parcel_lobby_status", "parcel", ["lobby", "status"])
    with op.batch_alter_table("storage_item") as batch:
        batch.add_column(
            sa.Column("lobby", sa.String(length=32), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("storage_item") as batch:
        batch.drop_column("lobby")
    op.drop_index("ix_parcel_lobby_status", table_name="parcel")
    with op.batch_alter_table("parcel") as batch:
        batch.drop_column("lobby")
