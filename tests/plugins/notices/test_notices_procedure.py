"""Notices as the procedure (000 "拟写发布通知/提示") describes them: drafted by the butler,
approved by the project manager before anyone sees them, numbered without gaps per year,
published to the lobbies they concern, down by their date, signed for once per household,
and kept in the issue register (发文登记)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from kiosk.context import KioskContext
from kiosk.db.models import AuditEvent
from kiosk.errors import PermissionDenied, Refused
from plugins.notices import service
from tests.plugins.demo_people import BUTLER, CASHIER, MANAGER, resident


def _published(ctx: KioskContext, title: str = "停水通知", **kw) -> service.NoticeView:  # type: ignore[no-untyped-def]
    notice_id = service.draft(ctx, BUTLER, title=title, body="周五停水", **kw)
    service.approve(ctx, MANAGER, notice_id)
    return service.publish(ctx, BUTLER, notice_id)


def test_a_draft_is_shown_nowhere_until_the_manager_approved_and_it_is_published(ctx) -> None:
    before = {n.id for n in service.current(ctx)}
    notice_id = service.draft(ctx, BUTLER, title="电梯年检", body="周六电梯年检")
    assert {n.id for n in service.current(ctx)} == before
    with pytest.raises(Refused, match="only an approved notice is published"):
        service.publish(ctx, BUTLER, notice_id)
    with pytest.raises(PermissionDenied):
        service.approve(ctx, BUTLER, notice_id)  # the butler drafts; the manager approves
    approved = service.approve(ctx, MANAGER, notice_id)
    assert approved.status == "approved" and approved.approved_by == "周经理"
    assert notice_id not in {n.id for n in service.current(ctx)}
    service.publish(ctx, BUTLER, notice_id)
    assert notice_id in {n.id for n in service.current(ctx)}


def test_numbers_run_per_year_without_gaps_and_a_draft_never_approved_takes_none(ctx) -> None:
    year = ctx.today().year
    first = _published(ctx, "一")
    service.draft(ctx, BUTLER, title="never approved")
    second = _published(ctx, "二")
    seq = int(first.number.split("〕")[1].removesuffix("号"))
    assert first.number == f"阳光花园通〔{year}〕{seq:03d}号"
    assert second.number == f"阳光花园通〔{year}〕{seq + 1:03d}号"
    with pytest.raises(Refused, match="only a draft is approved"):
        service.approve(ctx, MANAGER, first.id)  # a second approval would take another number


def test_the_number_of_a_new_year_starts_again_at_001(ctx) -> None:
    _published(ctx, "old year")
    now = ctx.clock.now().astimezone(ctx.zone)
    new_year = dt.datetime(now.year + 1, 1, 1, 9, tzinfo=ctx.zone)
    ctx.clock.advance(seconds=(new_year - now).total_seconds())
    assert _published(ctx, "new year").number == f"阳光花园通〔{now.year + 1}〕001号"


def test_a_notice_goes_only_to_the_lobbies_it_concerns(ctx) -> None:
    only_b = _published(ctx, "B座", lobbies=("b",))
    assert only_b.lobbies == ("B",)
    assert only_b.id in {n.id for n in service.current(ctx, "B")}
    assert only_b.id not in {n.id for n in service.current(ctx, "A")}
    everywhere = _published(ctx, "全体")
    assert everywhere.id in {n.id for n in service.current(ctx, "A")}
    with pytest.raises(Refused, match="There is no lobby Z"):
        service.draft(ctx, BUTLER, title="x", lobbies=("Z",))


def test_an_expired_notice_comes_down_by_itself_on_its_date(ctx) -> None:
    last_day = ctx.today() + dt.timedelta(days=2)
    notice = _published(ctx, "三天", expires_on=last_day)
    ctx.clock.advance(days=2)
    assert notice.id in {n.id for n in service.current(ctx)}  # still its last day
    end = service.end_of_day(ctx, last_day)
    ctx.clock.advance(seconds=(end - ctx.clock.now()).total_seconds())
    assert notice.id not in {n.id for n in service.current(ctx)}  # midnight: down, no job ran
    with pytest.raises(Refused, match="would expire before it is shown"):
        service.draft(ctx, BUTLER, title="late", expires_on=ctx.today() - dt.timedelta(days=1))


def test_a_household_signs_for_a_notice_once_whoever_of_it_taps(ctx) -> None:
    notice = _published(ctx, "入户检查", households=True)
    wang, emily = resident(ctx, "王小明"), resident(ctx, "Emily Wang")  # both of 3-1205
    assert service.mark_read(ctx, wang, notice.id) is True
    assert service.mark_read(ctx, emily, notice.id) is False
    assert service.has_read(ctx, emily, notice.id)
    count = service.read_count(ctx, notice.id)
    assert count.read == 1 and count.households > 100 and "3-1205" not in count.unread_units
    with pytest.raises(Refused, match="Tap your card first"):
        service.mark_read(ctx, BUTLER, notice.id)


def test_a_notice_to_everyone_needs_no_signature_and_a_withdrawn_one_none_either(ctx) -> None:
    plain = _published(ctx, "绿化")
    with pytest.raises(Refused, match="needs no signature"):
        service.mark_read(ctx, resident(ctx, "张伟"), plain.id)
    signed = _published(ctx, "签收", households=True)
    service.withdraw(ctx, BUTLER, signed.id)
    assert signed.id not in {n.id for n in service.current(ctx)}
    with pytest.raises(Refused, match="no longer on show"):
        service.mark_read(ctx, resident(ctx, "张伟"), signed.id)


def test_the_issue_register_lists_date_number_title_content_department_formula_safe(ctx) -> None:
    first = _published(ctx, '=HYPERLINK("http://x")', households=True)
    service.mark_read(ctx, resident(ctx, "刘芳"), first.id)
    with pytest.raises(PermissionDenied):
        service.register_csv(ctx, CASHIER)
    rows = list(csv.reader(io.StringIO(service.register_csv(ctx, BUTLER))))
    assert rows[0] == service.REGISTER_HEADER
    line = next(r for r in rows if r[1] == first.number)
    assert line[0] == ctx.today().isoformat() and line[4] == "项目中心"
    assert line[2].startswith("'=")  # a spreadsheet shows it, never runs it
    assert line[-1] == "1"
    with ctx.database().read() as s:
        actions = set(
            s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("notice.%")))
        )
    assert {"notice.drafted", "notice.approved", "notice.published", "notice.read"} <= actions


def test_the_household_file_says_which_notices_the_unit_signed_and_which_to_hand_over(
    ctx, english
) -> None:
    from plugins.notices.household import household_section

    signed = _published(ctx, "入户检查", households=True)
    service.mark_read(ctx, resident(ctx, "刘芳"), signed.id)
    lines = household_section(ctx, "2-803").lines
    assert any(signed.number in line and "signed 2026" in line for line in lines)
    assert any(line.endswith("not signed yet") for line in household_section(ctx, "1-101").lines)
