"""Notices (000 "拟写发布通知/提示"), headless.

Procedure: the customer assistant (butler) drafts a notice; nothing is posted, sent or handed
out before the project manager approved it (审批、签阅); approval gives it the estate's uniform
number (统一文号, ``阳光花园通〔2026〕012号``: estate short name, year, a sequence per year with no
gaps) and its date; it is published in the project centre's name to the lobbies it concerns (all,
or a list); the issue register (发文登记) records date, number, title, content and department;
expired notices come down (by their date: :func:`current` no longer lists them, no job runs);
a notice to households is signed for -- at the kiosk, the card tap of someone of the household
records it read, once per household.

Race-prone steps are conditional updates (approve only a draft, publish only an approved
notice); the number is unique per year, so two approvals at once cannot share one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kiosk import audit
from kiosk.clock import as_utc
from kiosk.db.models import Building, Unit
from kiosk.errors import Refused
from kiosk.export import csv_text
from kiosk.households import household_done, household_has, household_of
from kiosk.identity import Actor, require_role
from kiosk.lobby import require_lobbies
from kiosk.writes import change_once
from plugins.notices.models import Notice, NoticeRead

STATUSES = ("draft", "approved", "published", "withdrawn")

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

    from kiosk.context import KioskContext

DRAFT_ROLES = ("butler",)  # the customer assistant drafts; the manager holds every role
APPROVE_ROLES = ("manager",)  # 须经项目经理审批
TITLE_MAX = 200
BODY_MAX = 4000


@dataclass(frozen=True)
class NoticeView:
    """A notice as screens, the CLI and the register show it (times UTC)."""

    id: int
    number: str
    title: str
    body: str
    department: str
    lobbies: tuple[str, ...]
    households: bool
    status: str
    drafted_by: str
    approved_by: str
    approved_at: dt.datetime | None
    published_at: dt.datetime | None
    expires_at: dt.datetime | None
    read: int = 0


def _view(n: Notice, read: int = 0) -> NoticeView:
    return NoticeView(
        id=n.id, number=n.number, title=n.title, body=n.body, department=n.department,
        lobbies=_lobbies(n.lobbies), households=n.households, status=n.status,
        drafted_by=n.drafted_by, approved_by=n.approved_by, approved_at=n.approved_at,
        published_at=n.published_at, expires_at=n.expires_at, read=read,
    )  # fmt: skip


def _lobbies(text: str) -> tuple[str, ...]:
    return tuple(x for x in text.split(",") if x)


def short_name(ctx: KioskContext) -> str:
    """The estate's short name in notice numbers: ``[plugins.notices] short_name``, else the
    estate's name."""
    return str(ctx.settings.plugin("notices").get("short_name") or ctx.settings.estate.name)


def number_of(short: str, year: int, seq: int) -> str:
    """The uniform number (统一文号): ``阳光花园通〔2026〕012号``."""
    return f"{short}通〔{year}〕{seq:03d}号"


def default_department(ctx: KioskContext) -> str:
    """Notices go out in the project centre's name (一律以项目中心名义发文):
    ``[plugins.notices] department``, else 项目中心."""
    return str(ctx.settings.plugin("notices").get("department") or "项目中心")


def end_of_day(ctx: KioskContext, day: dt.date) -> dt.datetime:
    """The notice expiring on ``day`` (the estate's date) comes down at midnight after it."""
    local = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=ctx.zone)
    return local.astimezone(dt.UTC)


def _notice(session: Session, notice_id: int) -> Notice:
    row = session.get(Notice, notice_id)
    if row is None:
        raise Refused("notices.unknown", "There is no notice {id}.", id=notice_id)
    return row


# -- drafting, approval, publication ---------------------------------------------------------


def draft(
    ctx: KioskContext, actor: Actor, *, title: str, body: str = "", lobbies: tuple[str, ...] = (),
    households: bool = False, expires_on: dt.date | None = None, department: str = "",
) -> int:  # fmt: skip
    """Draft a notice (butler): nothing is shown until the manager approved and it is
    published. ``lobbies`` empty: every lobby."""
    require_role(actor, "draft a notice", *DRAFT_ROLES)
    title, body = title.strip(), body.strip()
    if not title or len(title) > TITLE_MAX:
        raise Refused("notices.title", "A notice needs a title of at most {max} characters.",
                      max=TITLE_MAX)  # fmt: skip
    if len(body) > BODY_MAX:
        raise Refused("notices.body", "A notice's text has at most {max} characters.",
                      max=BODY_MAX)  # fmt: skip
    if expires_on is not None and expires_on < ctx.today():
        raise Refused("notices.expired", "The notice would expire before it is shown.")
    clean = tuple(dict.fromkeys(x.strip().upper() for x in lobbies if x.strip()))
    with ctx.database().write() as session:
        require_lobbies(session, clean)
        row = Notice(
            title=title, body=body, department=department.strip()[:100] or default_department(ctx),
            lobbies=",".join(clean), households=households, status="draft",
            drafted_by=actor.name or actor.label, drafted_at=ctx.clock.now(),
            expires_at=None if expires_on is None else end_of_day(ctx, expires_on),
        )  # fmt: skip
        session.add(row)
        session.flush()
        audit.record_for(ctx, session, actor, "notice.drafted", f"notice:{row.id}",
                         {"title": title, "lobbies": row.lobbies, "households": households})  # fmt: skip
        return row.id


def approve(ctx: KioskContext, actor: Actor, notice_id: int) -> NoticeView:
    """The manager approves a draft: it gets the next number of the year and its date."""
    require_role(actor, "approve a notice", *APPROVE_ROLES)
    for attempt in range(5):
        try:
            with ctx.database().write() as session:
                return _approve(ctx, session, actor, notice_id)
        except IntegrityError:
            # Another kiosk numbered a notice at the same moment: take the next number.
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _approve(ctx: KioskContext, session: Session, actor: Actor, notice_id: int) -> NoticeView:
    row = _notice(session, notice_id)
    if row.status != "draft":
        raise Refused("notices.not_draft", "Notice {id} is {status}: only a draft is approved.",
                      id=notice_id, status=row.status)  # fmt: skip
    now = ctx.clock.now()
    year = as_utc(now).astimezone(ctx.zone).year
    seq = (session.scalar(select(func.max(Notice.seq)).where(Notice.year == year)) or 0) + 1
    number = number_of(short_name(ctx), year, seq)
    change_once(
        session,
        update(Notice).where(Notice.id == notice_id, Notice.status == "draft")
        .values(status="approved", year=year, seq=seq, number=number,
                approved_by=actor.name or actor.label, approved_at=now),
        Refused("notices.not_draft", "Notice {id} is {status}: only a draft is approved.",
                id=notice_id, status="approved"),
    )  # fmt: skip
    session.flush()
    audit.record_for(ctx, session, actor, "notice.approved", f"notice:{notice_id}",
                     {"number": number})  # fmt: skip
    session.refresh(row)
    return _view(row)


def publish(ctx: KioskContext, actor: Actor, notice_id: int) -> NoticeView:
    """Post an approved notice to its lobbies (butler): the kiosks show it from now on."""
    require_role(actor, "publish a notice", *DRAFT_ROLES)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        row = _notice(session, notice_id)
        if row.status != "approved":
            raise Refused("notices.not_approved",
                          "Notice {id} is {status}: only an approved notice is published.",
                          id=notice_id, status=row.status)  # fmt: skip
        if row.expires_at is not None and as_utc(row.expires_at) <= now:
            raise Refused("notices.expired", "The notice would expire before it is shown.")
        change_once(
            session,
            update(Notice).where(Notice.id == notice_id, Notice.status == "approved")
            .values(status="published", published_at=now),
            Refused("notices.not_approved",
                    "Notice {id} is {status}: only an approved notice is published.",
                    id=notice_id, status="published"),
        )  # fmt: skip
        audit.record_for(ctx, session, actor, "notice.published", f"notice:{notice_id}",
                         {"number": row.number, "lobbies": row.lobbies})  # fmt: skip
        session.refresh(row)
        return _view(row)


def withdraw(ctx: KioskContext, actor: Actor, notice_id: int) -> None:
    """Take a published notice down before its date (butler); it stays in the register."""
    require_role(actor, "withdraw a notice", *DRAFT_ROLES)
    with ctx.database().write() as session:
        row = _notice(session, notice_id)
        change_once(
            session,
            update(Notice).where(Notice.id == notice_id, Notice.status == "published")
            .values(status="withdrawn", withdrawn_at=ctx.clock.now()),
            Refused("notices.not_published", "Notice {id} is not on show.", id=notice_id),
        )  # fmt: skip
        audit.record_for(ctx, session, actor, "notice.withdrawn", f"notice:{notice_id}",
                         {"number": row.number})  # fmt: skip


# -- what the kiosks show --------------------------------------------------------------------


def _shown(now: dt.datetime) -> list[ColumnElement[bool]]:
    """Conditions of a notice on show at ``now``: published, not yet expired."""
    return [
        Notice.status == "published",
        (Notice.expires_at.is_(None)) | (Notice.expires_at > now),
    ]


def current(ctx: KioskContext, lobby: str | None = None) -> list[NoticeView]:
    """The notices on show now in ``lobby`` (None: in any lobby), newest first. An expired
    notice is not listed: it comes down by its date, with no job to run."""
    now = ctx.clock.now()
    with ctx.database().read() as session:
        rows = session.scalars(
            select(Notice)
            .where(*_shown(now))
            .order_by(Notice.published_at.desc(), Notice.id.desc())
        ).all()
        return [
            _view(n) for n in rows if lobby is None or not n.lobbies or lobby in _lobbies(n.lobbies)
        ]


def notice(ctx: KioskContext, notice_id: int) -> NoticeView:
    """One notice with how many households have read it."""
    with ctx.database().read() as session:
        row = _notice(session, notice_id)
        read = session.scalar(
            select(func.count()).select_from(NoticeRead).where(NoticeRead.notice_id == notice_id)
        )
        return _view(row, int(read or 0))


def notices(ctx: KioskContext, status: str | None = None, limit: int = 50) -> list[NoticeView]:
    """Notices for the desk, newest first, each with its read count."""
    if status and status not in STATUSES:
        raise Refused("notices.status", "There is no notice status {status}: one of {known}.",
                      status=status, known=", ".join(STATUSES))  # fmt: skip
    with ctx.database().read() as session:
        q = select(Notice).order_by(Notice.drafted_at.desc(), Notice.id.desc()).limit(limit)
        if status:
            q = q.where(Notice.status == status)
        rows = session.scalars(q).all()
        counts: dict[int, int] = {
            nid: n
            for nid, n in session.execute(
                select(NoticeRead.notice_id, func.count())
                .where(NoticeRead.notice_id.in_([n.id for n in rows]))
                .group_by(NoticeRead.notice_id)
            )
        }
        return [_view(n, int(counts.get(n.id, 0))) for n in rows]


# -- households sign for it -------------------------------------------------------------------


def has_read(ctx: KioskContext, actor: Actor | None, notice_id: int) -> bool:
    """Whether the household of ``actor`` has read the notice."""
    return household_done(ctx, actor, NoticeRead, notice_id=notice_id)


def mark_read(ctx: KioskContext, actor: Actor, notice_id: int) -> bool:
    """The resident identified by card (or unit + PIN) has read a notice addressed to
    households: recorded once for the household. True when recorded now, False when the
    household had already read it."""
    unit_id = household_of(actor, "notices")
    now = ctx.clock.now()
    try:
        with ctx.database().write() as session:
            row = _notice(session, notice_id)
            shown = session.scalar(select(Notice.id).where(Notice.id == notice_id, *_shown(now)))
            if shown is None:
                raise Refused("notices.not_shown", "This notice is no longer on show.")
            if not row.households:
                raise Refused("notices.no_signing", "This notice needs no signature.")
            if household_has(session, NoticeRead, unit_id, notice_id=notice_id):
                return False
            session.add(NoticeRead(notice_id=notice_id, unit_id=unit_id, resident_id=actor.id,
                                   read_at=now, kiosk=ctx.kiosk_id))  # fmt: skip
            session.flush()
            audit.record_for(ctx, session, actor, "notice.read", f"notice:{notice_id}",
                             {"unit_id": unit_id})  # fmt: skip
            return True
    except IntegrityError:
        return False  # another member of the household signed at another kiosk just now


@dataclass(frozen=True)
class ReadCount:
    """How many of the households a notice concerns have read it."""

    notice_id: int
    number: str
    read: int
    households: int
    unread_units: tuple[str, ...]


def read_count(ctx: KioskContext, notice_id: int) -> ReadCount:
    """Households that read a notice, of the households of its lobbies, and those still to
    sign (to hand it over in person: 如单独向某个客户发文送到客户手中, 并请客户签收)."""
    with ctx.database().read() as session:
        row = _notice(session, notice_id)
        q = select(Unit.id, Unit.code).join(Building, Building.id == Unit.building_id)
        if row.lobbies:
            q = q.where(Building.lobby.in_(_lobbies(row.lobbies)))
        units = session.execute(q.order_by(Unit.code)).all()
        read = set(
            session.scalars(select(NoticeRead.unit_id).where(NoticeRead.notice_id == notice_id))
        )
        return ReadCount(
            notice_id, row.number, len(read), len(units),
            tuple(code for uid, code in units if uid not in read),
        )  # fmt: skip


# -- the issue register (发文登记) -------------------------------------------------------------

REGISTER_HEADER = [
    "发文日期",
    "编号",
    "标题",
    "内容",
    "发文部门",
    "范围",
    "到期",
    "状态",
    "已读户数",
]


def register_csv(ctx: KioskContext, actor: Actor, year: int | None = None) -> str:
    """The issue register as CSV: date, number, title, content, department (every numbered
    notice of ``year``, by number). Cells a spreadsheet would run are made text."""
    require_role(actor, "read the issue register", *DRAFT_ROLES)
    year = year or ctx.today().year
    with ctx.database().read() as session:
        rows = session.scalars(select(Notice).where(Notice.year == year).order_by(Notice.seq)).all()
        counts: dict[int, int] = {
            nid: n
            for nid, n in session.execute(
                select(NoticeRead.notice_id, func.count()).group_by(NoticeRead.notice_id)
            )
        }
        lines = []
        for n in rows:
            issued = (
                as_utc(n.approved_at).astimezone(ctx.zone).date().isoformat()
                if n.approved_at
                else ""
            )
            expires = (
                (as_utc(n.expires_at) - dt.timedelta(seconds=1)).astimezone(ctx.zone).date().isoformat()
                if n.expires_at else ""
            )  # fmt: skip
            lines.append([issued, n.number, n.title, n.body, n.department, n.lobbies or "*",
                          expires, n.status, counts.get(n.id, 0) if n.households else ""])  # fmt: skip
    with ctx.database().write() as session:
        audit.record_for(ctx, session, actor, "notice.register", f"year:{year}",
                         {"lines": len(rows)})  # fmt: skip
    return csv_text(REGISTER_HEADER, lines)
