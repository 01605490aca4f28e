"""Parcels and mail (邮件签收) and item storage (物品寄存).

Hook implementations only; the service, CLI and screens are imported inside the hooks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.hookspecs import hookimpl
from kiosk.i18n import N_
from kiosk.plugins import PluginPanel, PluginTile, plugin_hooks

HERE = Path(__file__).parent
DEMO_CODE = "246810"
DEMO_PROXY = "李阿姨"
globals().update(
    plugin_hooks(
        __name__,
        ("commands", "scenarios", "household", "badges", "purge", "figures"),
        # Opened without a card tap too: unit + pickup code say whose parcels they are.
        tiles=[PluginTile(N_("Collect parcels"), "screens:entry_screen", order=20, icon="件",
                          needs_resident=False)],
        desk_panels=[
            PluginPanel(N_("Parcels"), "screens:ParcelsDeskPanel", order=20,
                        roles=("butler", "security")),
            PluginPanel(N_("Item storage"), "screens:StorageDeskPanel", order=21,
                        roles=("butler", "security"), id="storage"),
        ],
        alert_kinds={
            "parcel_code_locked": N_("Pickup codes locked"),
            "parcel_picker_unknown": N_("Unknown parcel picker"),
            "parcel_overdue": N_("Parcel overdue"),
            "storage_check": N_("Storage check"),
            "parcel_to_desk": N_("Parcel to release at the desk"),
            "parcel_override": N_("Parcel released by override"),
        },
        workload="workload:ParcelRace",
    )
)  # fmt: skip


@hookimpl
def kiosk_seed_demo(session: Any, ctx: Any) -> list[str] | None:
    """Two parcels waiting for 3-1205 (code 246810) at the seeding kiosk's lobby (A by
    default), and a named proxy, 李阿姨."""
    from sqlalchemy import select

    from kiosk.db.models import Unit
    from plugins.parcels.models import Parcel, PickupCode, Proxy
    from plugins.parcels.service import _digest

    unit = session.scalar(select(Unit).where(Unit.code == "3-1205"))
    if unit is None:
        return None
    now = ctx.clock.now()
    for number, carrier, shelf in (
        ("SF1234567890123", "SF", "A3"),
        ("JDVA12345678901", "JD", "B1"),
    ):
        session.add(
            Parcel(
                tracking_number=number,
                lobby=ctx.settings.lobby or "A",
                carrier=carrier,
                unit_id=unit.id,
                recipient_name="王小明",
                shelf=shelf,
                status="waiting",
                checked_in_at=now,
                checked_in_by="staff:demo",
            )
        )
    session.add(
        PickupCode(
            unit_id=unit.id,
            digest=_digest(ctx, unit.id, DEMO_CODE),
            status="active",
            created_at=now,
        )
    )
    session.add(Proxy(unit_id=unit.id, name=DEMO_PROXY, created_by="demo", created_at=now))
    session.flush()
    return [f"parcels: 2 waiting for 3-1205, pickup code {DEMO_CODE}, proxy {DEMO_PROXY}"]
