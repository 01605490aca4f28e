"""parcels: addressee proxies, the ID-check flag, desk releases, storage release checks

Revision ID: p0003_parcels_rules
Revises: p0002_parcels_lobby
Create Date: 2026-12-02 16:00:00

Proxies name the resident they collect for (None = the whole household, as every proxy before
this revision) and may expire; a removed proxy keeps its row (who removed it, when). A parcel
may need an ID check at the desk. A release made at the desk records the staff member, the
last 4 characters of the ID seen and an override reason; a stored item's release records the
claimant's ID (last 4) and the condition handed back. Old rows get "" / false / NULL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0003_parcels_rules"
down_revision: str | Sequence[str] | None = "p0002_parcels_lobby"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length=length), nullable=False, server_default="")


def upgrade() -> None:
    with op.batch_alter_table("parcel") as batch:
        batch.add_column(
            sa.Column("id_check", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("parcel_proxy") as batch:
        batch.add_column(sa.Column("resident_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(_text("removed_by", 100))
        batch.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            "fk_parcel_proxy_resident_id_resident", "resident", ["resident_id"], ["id"]
        )
    with op.batch_alter_table("parcel_release") as batch:
        batch.add_column(_text("staff", 100))
        batch.add_column(_text("id_last4", 4))
        batch.add_column(_text("override_reason", 200))
    with op.batch_alter_table("storage_item") as batch:
        batch.add_column(_text("claimant_id_last4", 4))
        batch.add_column(_text("release_condition", 200))


def downgrade() -> None:
    with op.batch_alter_table("storage_item") as batch:
        batch.drop_column("release_condition")
        batch.drop_column("claimant_id_last4")
    with op.batch_alter_table("parcel_release") as batch:
        batch.drop_column("override_reason")
        batch.drop_column("id_last4")
        batch.drop_column("staff")
    with op.batch_alter_table("parcel_proxy") as batch:
        batch.drop_constraint("fk_parcel_proxy_resident_id_resident", type_="foreignkey")
        batch.drop_column("removed_at")
        batch.drop_column("removed_by")
        batch.drop_column("until")
        batch.drop_column("resident_id")
    with op.batch_alter_table("parcel") as batch:
        batch.drop_column("id_check")
