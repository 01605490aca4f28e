"""The notices' part of a unit's household file at the desk: the notices on show that are
addressed to households, each signed (when) or still to hand over (请客户签收)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from kiosk.db.models import Unit
from kiosk.hookspecs import HouseholdSection
from kiosk.i18n import N_, _
from plugins.notices.models import NoticeRead
from plugins.notices.service import current

if TYPE_CHECKING:
    from kiosk.context import KioskContext


def household_section(ctx: KioskContext, unit_code: str) -> HouseholdSection:
    to_sign = [n for n in current(ctx) if n.households]
    with ctx.database().read() as s:
        signed = dict(
            s.execute(
                select(NoticeRead.notice_id, NoticeRead.read_at)
                .join(Unit, Unit.id == NoticeRead.unit_id)
                .where(Unit.code == unit_code)
            ).all()
        )
    lines = tuple(
        (
            _("{number} {title}: signed {when}").format(
                number=n.number, title=n.title, when=ctx.local_time(signed[n.id])
            )
            if n.id in signed
            else _("{number} {title}: not signed yet").format(number=n.number, title=n.title)
        )
        for n in to_sign
    )
    return HouseholdSection(N_("Notices to sign"), lines or (_("none"),), order=80)
