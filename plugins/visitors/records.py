"""The visitor log (来访人员登记表: :func:`daily_log`, :func:`daily_log_csv`), the block list
(:func:`block`, :func:`unblock`, :func:`block_list`) and the retention purge (:func:`purge_in`, :func:`purge_pii`)
of the visitors plugin; re-exported by :mod:`plugins.visitors.service`."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import TYPE_CHECKING, TypedDict

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from kiosk import audit
from kiosk.db import retention
from kiosk.db.models import Unit
from kiosk.errors import Refused
from kiosk.export import csv_dict_writer
from kiosk.hookspecs import PurgeCount
from kiosk.identity import Actor, require_role
from kiosk.lobby import desk_lobby, in_lobby
from kiosk.pii import mask_id_number, mask_name, mask_phone
from kiosk.writes import change_once
from plugins.visitors.models import BlockEntry, Invite, Visit

if TYPE_CHECKING:
    from kiosk.context import KioskContext


DESK_ROLES = ("butler", "security")
ANONYMOUS = retention.ANONYMOUS


# -- 来访人员登记表 -----------------------------------------------------------------------------

LOG_COLUMNS = (
    "日期",
    "访客姓名",
    "联系电话",
    "来访单元",
    "来访事由",
    "人数",
    "进入时间",
    "离开时间",
    "审批",
    "证件核验",
    "大堂",
)


def daily_log(
    ctx: KioskContext, day: dt.date | None = None, lobby: str | None = None
) -> list[dict[str, str]]:
    """The day's visits (estate's local day) as rows of 来访人员登记表, PII masked, with the
    lobby (大堂) last: of one lobby (with visits tied to none), or of every lobby (None)."""
    day = day or ctx.today()
    start = dt.datetime.combine(day, dt.time(0), ctx.zone).astimezone(dt.UTC)
    end = start + dt.timedelta(days=1)
    with ctx.database().read() as session:
        rows = session.execute(
            select(Visit, Unit.code)
            .join(Unit, Unit.id == Visit.unit_id)
            .where(Visit.created_at >= start, Visit.created_at < end, *in_lobby(Visit.lobby, lobby))
            .order_by(Visit.created_at, Visit.id)
        ).all()
    decisions = {"approved": "同意", "declined": "拒绝", "timed_out": "超时", "pending": "待定"}
    out = []
    for v, code in rows:
        entered = v.decided_at if v.status == "approved" else None
        out.append(
            dict(
                zip(
                    LOG_COLUMNS,
                    (
                        day.isoformat(),
                        mask_name(v.name),
                        mask_phone(v.phone),
                        code,
                        v.purpose,
                        str(v.party_size),
                        ctx.local_time(entered)[-5:] if entered else "",
                        ctx.local_time(v.signed_out_at)[-5:] if v.signed_out_at else "",
                        decisions.get(v.status, v.status),
                        "是" if v.id_checked else "否",
                        v.lobby,
                    ),
                    strict=True,
                )
            )
        )
    return out


def desk_register(ctx: KioskContext, actor: Actor) -> str:
    """Today's 来访人员登记表 of the desk's lobby, for the desk's *Registers*."""
    require_role(actor, "read the visitor log", "butler", "security", "manager")
    return daily_log_csv(ctx, None, desk_lobby(ctx, actor))


def daily_log_csv(ctx: KioskContext, day: dt.date | None = None, lobby: str | None = None) -> str:
    """来访人员登记表 as CSV (UTF-8 with BOM so spreadsheet programs read the Chinese)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv_dict_writer(out, LOG_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(daily_log(ctx, day, lobby))
    return out.getvalue()


# -- block list, retention ------------------------------------------------------------------------


def block(
    ctx: KioskContext,
    actor: Actor,
    *,
    name: str = "",
    phone: str = "",
    id_number: str = "",
    reason: str = "",
) -> int:
    """Put someone on the block list (their visits then wait for the desk, silently)."""
    require_role(actor, "visitor.block", *DESK_ROLES)
    phone = re.sub(r"[\s-]", "", phone)
    if not (name.strip() or phone or id_number.strip()):
        raise Refused("visitors.block_empty", "Give a name, phone or ID number to block.")
    now = ctx.clock.now()
    with ctx.database().write() as session:
        entry = BlockEntry(
            name=" ".join(name.split()),
            phone=phone,
            id_number=id_number.strip().upper(),
            reason=reason.strip()[:200],
            created_by=actor.label,
            created_at=now,
        )
        session.add(entry)
        session.flush()
        audit.record_for(ctx, session, actor, "visitor.blocked", f"visitor_block:{entry.id}",
                         {"name": mask_name(entry.name), "phone": phone,
                          "id_number": entry.id_number, "reason": entry.reason})  # fmt: skip
        return entry.id


def unblock(ctx: KioskContext, actor: Actor, entry_id: int) -> None:
    require_role(actor, "visitor.block", *DESK_ROLES)
    with ctx.database().write() as session:
        change_once(
            session,
            update(BlockEntry)
            .where(BlockEntry.id == entry_id, BlockEntry.active.is_(True))
            .values(active=False),
            Refused("visitors.block_unknown", "No such block-list entry."),
        )
        audit.record_for(
            ctx, session, actor.label, "visitor.unblocked", f"visitor_block:{entry_id}"
        )


class BlockListEntry(TypedDict):
    """One active block-list entry as the desk shows it (name, phone and ID number masked)."""

    id: int
    name: str
    phone: str
    id_number: str
    reason: str
    since: str
    by: str


def block_list(ctx: KioskContext, actor: Actor) -> list[BlockListEntry]:
    """The active block list for the desk, newest first: name, phone and ID number masked."""
    require_role(actor, "visitor.block", *DESK_ROLES)
    with ctx.database().read() as session:
        rows = session.scalars(
            select(BlockEntry).where(BlockEntry.active.is_(True)).order_by(BlockEntry.id.desc())
        ).all()
        return [
            {
                "id": e.id,
                "name": mask_name(e.name) if e.name else "",
                "phone": mask_phone(e.phone) if e.phone else "",
                "id_number": mask_id_number(e.id_number) if e.id_number else "",
                "reason": e.reason,
                "since": ctx.local_time(e.created_at),
                "by": e.created_by,
            }
            for e in rows
        ]


def purge_in(
    session: Session, ctx: KioskContext, now: dt.datetime, dry_run: bool = False
) -> list[PurgeCount]:
    """Anonymise visits and invites closed more than ``retention.visitor_days`` ago, inside
    ``session`` (hook ``kiosk_purge``): the name becomes 已匿名, phone and ID number are erased;
    unit, purpose, party size and times stay for the statistics.

    Closed means: signed out (or the pass revoked), declined or timed out; an invite used,
    revoked or past its window. A visit nobody signed out counts as ended when its pass
    expired (else when it was decided or registered) before the cutoff: a visitor "inside"
    for longer than the retention is a forgotten sign-out, not a visit. A recent pending visit
    or a visitor inside on a valid pass is never touched.
    """
    days = ctx.settings.retention.visitor_days
    before = retention.cutoff(now, days)
    visit_ended = or_(
        and_(
            Visit.status == "approved",
            func.coalesce(Visit.signed_out_at, Visit.revoked_at) < before,
        ),
        and_(Visit.status.in_(("declined", "timed_out")), Visit.decided_at < before),
        # Nobody signed the visitor out (or the host never answered): a pass that expired,
        # or a registration, older than the retention is no visit in progress.
        and_(
            Visit.signed_out_at.is_(None),
            Visit.revoked_at.is_(None),
            func.coalesce(Visit.valid_until, Visit.decided_at, Visit.created_at) < before,
        ),
    )
    visits = retention.anonymise(
        session,
        Visit,
        [Visit.anonymised_at.is_(None), visit_ended],
        {"name": ANONYMOUS, "phone": "", "id_number": "", "anonymised_at": now},
        dry_run,
    )
    invites = retention.anonymise(
        session,
        Invite,
        [
            Invite.anonymised_at.is_(None),
            func.coalesce(Invite.used_at, Invite.revoked_at, Invite.valid_until) < before,
        ],
        {"visitor_name": ANONYMOUS, "visitor_phone": "", "anonymised_at": now},
        dry_run,
    )
    return retention.counted("visitors", before, days, visitor_visit=visits, visitor_invite=invites)


# Its part of ``kiosk purge`` on its own (``kiosk visitors purge``), audited with the counts.
purge_pii = retention.one_plugin_purge(
    purge_in, ("visits", "invites"), "visitor.pii_purged", "visitor_visit"
)
