"""Aging of waiting parcels (reminders at 3 and 7 days, desk escalation at 15, return to
sender) and the reports of the shelf: the aging buckets and the 邮件签收登记表."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from kiosk import audit
from kiosk.clock import as_utc
from kiosk.db.models import Unit
from kiosk.errors import Refused
from kiosk.i18n import N_, translate
from kiosk.identity import SYSTEM, Actor, require_role
from kiosk.lobby import desk_lobby, in_lobby
from kiosk.notify import queue_notification, raise_alert
from kiosk.pii import mask_name, mask_text
from kiosk.writes import change_once
from plugins.parcels.carriers import carrier_name
from plugins.parcels.models import (
    Parcel,
    PickupCode,
    Release,
)
from plugins.parcels.rules import (
    DESK_ROLES,
    ParcelRules,
    flags,
    masked_last4,
)

if TYPE_CHECKING:
    from kiosk.context import KioskContext


# -- aging ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgingRun:
    reminded: dict[int, int]  # days -> parcels reminded
    escalated: int


def run_aging(ctx: KioskContext, actor: Actor = SYSTEM) -> AgingRun:
    """Remind units of items waiting 3 and 7 days (one message per unit), escalate to the desk
    at 15. Each reminder is sent once per item (the conditional update decides)."""
    rules = ParcelRules.of(ctx)
    now = ctx.clock.now()
    reminded: dict[int, int] = {}
    escalated = 0
    with ctx.database().write() as session:
        # The older threshold first, so an item found at 8 days gets one message, not two.
        for days in sorted(rules.reminder_days, reverse=True):
            column = Parcel.reminded_7_at if days >= 7 else Parcel.reminded_3_at
            rows = session.execute(
                select(Parcel.id, Parcel.unit_id, Unit.code)
                .join(Unit, Unit.id == Parcel.unit_id)
                .where(
                    Parcel.status == "waiting",
                    Parcel.checked_in_at <= now - dt.timedelta(days=days),
                    column.is_(None),
                )
            ).all()
            by_unit: dict[tuple[int, str], list[int]] = {}
            for pid, unit_id, code in rows:
                by_unit.setdefault((unit_id, code), []).append(pid)
            for (unit_id, code), ids in by_unit.items():
                values: dict[str, Any] = {column.key: now}
                if days >= 7:
                    values["reminded_3_at"] = func.coalesce(Parcel.reminded_3_at, now)
                session.execute(
                    update(Parcel)
                    .where(Parcel.id.in_(ids), column.is_(None))
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
                queue_notification(
                    session,
                    channel="sms",
                    template="parcel.reminder",
                    at=now,
                    unit_id=unit_id,
                    payload={"unit": code, "days": days, "count": len(ids)},
                )
                audit.record_for(
                    ctx,
                    session,
                    actor.label,
                    "parcel.reminded",
                    f"unit:{unit_id}",
                    {"days": days, "parcels": ids},
                )
                reminded[days] = reminded.get(days, 0) + len(ids)
        overdue = session.execute(
            select(Parcel.id, Parcel.tracking_number, Parcel.shelf, Unit.code, Parcel.lobby)
            .join(Unit, Unit.id == Parcel.unit_id)
            .where(
                Parcel.status == "waiting",
                Parcel.checked_in_at <= now - dt.timedelta(days=rules.escalate_days),
                Parcel.escalated_at.is_(None),
            )
        ).all()
        for pid, number, shelf, code, lobby in overdue:
            session.execute(
                update(Parcel)
                .where(Parcel.id == pid, Parcel.escalated_at.is_(None))
                .values(escalated_at=now)
            )
            raise_alert(
                session,
                "parcel_overdue",
                N_(
                    "parcel {number} for {unit} (shelf {shelf}) waiting {days}+ days: call the "
                    "household or return to sender"
                ),
                params={
                    "number": number,
                    "unit": code,
                    "shelf": shelf or "-",
                    "days": rules.escalate_days,
                },  # fmt: skip
                at=now,
                lobby=lobby,  # the desk whose shelf holds it ("" = every desk)
            )
            audit.record_for(
                ctx, session, actor.label, "parcel.escalated", f"parcel:{pid}", {"unit": code}
            )
            escalated += 1
    return AgingRun(reminded, escalated)


def return_to_sender(ctx: KioskContext, actor: Actor, parcel_id: int, reason: str) -> None:
    """Hand a waiting item back to the carrier (15+ days unclaimed, refused, wrong address):
    state ``returned`` with who, when and why, in the 邮件签收登记表 (:func:`parcel_register`);
    the household is told, and its pickup codes are spent when nothing else waits. A desk of
    one lobby returns its own lobby's items."""
    require_role(actor, "parcel.return", *DESK_ROLES)
    why = mask_text(" ".join(reason.split()))[:200]
    if not why:
        raise Refused("parcels.return_reason", "Give the reason for returning the item.")
    now = ctx.clock.now()
    lobby = desk_lobby(ctx, actor)
    with ctx.database().write() as session:
        parcel = session.get(Parcel, int(parcel_id))
        if parcel is None:
            raise Refused("parcels.unknown", "There is no parcel {id}.", id=parcel_id)
        if lobby is not None and parcel.lobby not in ("", lobby):
            raise Refused(
                "parcels.at_lobby", "That item is at lobby {lobby}'s desk.", lobby=parcel.lobby
            )
        change_once(
            session,
            update(Parcel)
            .where(Parcel.id == parcel.id, Parcel.status == "waiting")
            .values(status="returned", returned_at=now, returned_by=actor.label, return_reason=why),
            Refused("parcels.not_waiting", "That item is no longer waiting at the desk."),
        )
        session.execute(
            update(PickupCode)
            .where(
                PickupCode.unit_id == parcel.unit_id,
                PickupCode.status == "active",
                ~select(Parcel.id)
                .where(Parcel.unit_id == parcel.unit_id, Parcel.status == "waiting")
                .exists(),
            )
            .values(status="spent", used_at=now)
            .execution_options(synchronize_session=False)
        )
        unit = session.get(Unit, parcel.unit_id)
        note = queue_notification(
            session,
            channel="sms",
            template="parcel.returned",
            at=now,
            unit_id=parcel.unit_id,
            payload={
                "unit": unit.code if unit is not None else "",
                "tracking_tail": parcel.tracking_number[-6:],
                "carrier": carrier_name(parcel.carrier),
                "reason": why,
            },
        )
        audit.record_for(
            ctx,
            session,
            actor.label,
            "parcel.returned",
            f"parcel:{parcel.id}",
            {"reason": why, "tracking": parcel.tracking_number, "notification": note.id},
        )


def return_by_tracking(ctx: KioskContext, actor: Actor, tracking: str, reason: str) -> int:
    """:func:`return_to_sender` for the item with this tracking number (as scanned or typed);
    returns the parcel's id."""
    from plugins.parcels.carriers import normalise_tracking

    number = normalise_tracking(tracking)
    with ctx.database().read() as session:
        parcel_id = session.scalar(select(Parcel.id).where(Parcel.tracking_number == number))
    if parcel_id is None:
        raise Refused("parcels.unknown", "There is no parcel {id}.", id=number or "-")
    return_to_sender(ctx, actor, parcel_id, reason)
    return int(parcel_id)


AGING_BUCKETS = (
    (0, 2, N_("0-2 days")),
    (3, 6, N_("3-6 days")),
    (7, 14, N_("7-14 days")),
    (15, None, N_("15+ days")),
)


def aging_report(ctx: KioskContext, lobby: str | None = None) -> dict[str, Any]:
    """Waiting items by age bucket, the overdue ones listed, and returns on record; of one
    lobby's desk (with the items tied to none), or of every lobby when ``lobby`` is None."""
    now = ctx.clock.now()
    with ctx.database().read() as session:
        rows = session.execute(
            select(
                Parcel.id,
                Parcel.tracking_number,
                Parcel.carrier,
                Parcel.shelf,
                Parcel.checked_in_at,
                Parcel.reminded_3_at,
                Parcel.reminded_7_at,
                Parcel.escalated_at,
                Parcel.lobby,
                Unit.code,
            )
            .join(Unit, Unit.id == Parcel.unit_id)
            .where(Parcel.status == "waiting", *in_lobby(Parcel.lobby, lobby))
            .order_by(Parcel.checked_in_at)
        ).all()
        returned = session.scalar(
            select(func.count())
            .select_from(Parcel)
            .where(Parcel.status == "returned", *in_lobby(Parcel.lobby, lobby))
        )
    buckets = {label: 0 for _, _, label in AGING_BUCKETS}
    items = []
    for r in rows:
        # A kiosk whose clock runs behind the desk that checked the parcel in must not crash.
        days = max(0, (now - as_utc(r.checked_in_at)).days)
        label = next(
            lb for lo, hi, lb in AGING_BUCKETS if days >= lo and (hi is None or days <= hi)
        )
        buckets[label] += 1
        items.append(
            {
                "id": r.id,
                "lobby": r.lobby,
                "unit": r.code,
                "tracking": r.tracking_number,
                "carrier": r.carrier,
                "shelf": r.shelf,
                "days": days,
                "bucket": label,
                "reminded_3": r.reminded_3_at is not None,
                "reminded_7": r.reminded_7_at is not None,
                "escalated": r.escalated_at is not None,
            }
        )
    return {
        "as_of": as_utc(now).isoformat(),
        "waiting": len(items),
        "buckets": buckets,
        "returned": int(returned or 0),
        "items": items,
    }


REGISTER_FIELDS = (
    "id", "lobby", "checked_in", "tracking", "carrier", "unit", "recipient", "shelf", "flags",
    "status", "released", "picker", "picker_kind", "via", "staff", "id_checked", "override",
    "returned", "returned_by", "return_reason",
)  # fmt: skip


# The register's columns as the paper 邮件签收登记表 heads them (the desk's *Registers*).
REGISTER_TITLES = (
    "编号", "大堂", "登记时间", "快递单号", "快递公司", "房号", "收件人", "货架", "标记", "状态",
    "领取时间", "领取人", "领取人类别", "领取方式", "经办人", "证件后四位", "特批原因",
    "退回时间", "退回经办人", "退回原因",
)  # fmt: skip


# The codes of a row in the form's words (the form is Chinese, as its column heads).
REGISTER_WORDS = {
    "status": {"waiting": "待领", "released": "已领", "returned": "已退回"},
    "picker_kind": {"resident": "住户", "proxy": "代取"},
    "via": {"kiosk": "自助机", "desk": "前台"},
}


def desk_register(ctx: KioskContext, actor: Actor) -> str:
    """The 邮件签收登记表 of the desk's lobby as CSV, for the desk's *Registers*: the form's
    column heads and words, not the export's codes."""
    from kiosk.export import csv_text

    require_role(actor, "read the parcel register", "butler", "security", "manager")
    rows = parcel_register(ctx, desk_lobby(ctx, actor))
    for row in rows:  # the carrier by its name on the form, not its code
        row["carrier"] = translate("zh_CN", carrier_name(row["carrier"]))
    return csv_text(
        REGISTER_TITLES,
        ([REGISTER_WORDS.get(f, {}).get(str(row[f]), row[f]) for f in REGISTER_FIELDS]
         for row in rows),
    )  # fmt: skip


def parcel_register(ctx: KioskContext, lobby: str | None = None) -> list[dict[str, Any]]:
    """The 邮件签收登记表: every item logged (of one lobby's desk with the items tied to none,
    or of every lobby), oldest first, with how it left: collected (by whom, masked; kiosk or
    desk; the ID's last 4 as ``****1234``; an override's reason) or returned to sender (by
    whom, when, why)."""
    with ctx.database().read() as session:
        rows = session.execute(
            select(Parcel, Unit.code, Release)
            .join(Unit, Unit.id == Parcel.unit_id)
            .join(Release, Release.id == Parcel.release_id, isouter=True)
            .where(*in_lobby(Parcel.lobby, lobby))
            .order_by(Parcel.checked_in_at, Parcel.id)
        ).all()
    out = []
    for p, code, rel in rows:
        out.append(
            {
                "id": p.id,
                "lobby": p.lobby,
                "checked_in": ctx.local_time(p.checked_in_at),
                "tracking": p.tracking_number,
                "carrier": p.carrier,
                "unit": code,
                "recipient": mask_name(p.recipient_name) if p.recipient_name else "",
                "shelf": p.shelf,
                "flags": " ".join(flags(p)),
                "status": p.status,
                "released": ctx.local_time(p.released_at) if p.released_at else "",
                "picker": mask_name(rel.picker_name) if rel is not None else "",
                "picker_kind": rel.picker_kind if rel is not None else "",
                "via": rel.via if rel is not None else "",
                "staff": rel.staff if rel is not None else "",
                "id_checked": masked_last4(rel.id_last4) if rel is not None else "",
                "override": mask_text(rel.override_reason) if rel is not None else "",
                "returned": ctx.local_time(p.returned_at) if p.returned_at else "",
                "returned_by": p.returned_by,
                "return_reason": mask_text(p.return_reason),
            }
        )
    return out
