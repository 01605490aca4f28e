"""Umbrella lending as the procedure (000 "雨伞") and the circulation rules describe it."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from umbrellas_helpers import BUTLER, ENGINEER, resident

from kiosk.context import KioskContext
from kiosk.db.models import AuditEvent, DeskAlert, PrintJob
from kiosk.errors import Refused
from kiosk.identity import Actor
from plugins.umbrellas import service
from plugins.umbrellas.models import Umbrella, UmbrellaLoan
from plugins.umbrellas.service import CirculationRules, late_fee


def _state(ctx: KioskContext, tag: str) -> str:
    with ctx.database().read() as s:
        return s.scalar(select(Umbrella.state).where(Umbrella.tag == tag))


def _alerts(ctx: KioskContext, kind: str) -> list[str]:
    with ctx.database().read() as s:
        return list(s.scalars(select(DeskAlert.message).where(DeskAlert.kind == kind)))


def test_an_owner_borrows_an_umbrella_and_its_condition_is_in_the_register(ctx) -> None:
    service.note_condition(ctx, BUTLER, "U001", "intact, new cover")
    loan = service.lend(ctx, resident(ctx, "张伟"), "u001")
    assert loan.tag == "U001" and loan.unit_code == "1-101"
    assert loan.due_at - loan.lent_at == dt.timedelta(hours=72)
    assert _state(ctx, "U001") == "lent"
    register = list(csv.DictReader(io.StringIO(service.loan_register_csv(ctx, BUTLER))))
    assert register[0]["umbrella"] == "U001" and register[0]["condition_out"] == "intact, new cover"
    assert register[0]["borrower"] != "张伟"  # masked
    with ctx.database().read() as s:
        assert s.scalar(select(func.count()).where(AuditEvent.action == "umbrella.lent")) == 1
        assert s.scalar(select(func.count()).where(PrintJob.kind == "umbrella_loan")) == 1


def test_a_tenant_of_the_unit_may_borrow_but_someone_unknown_is_sent_to_the_desk(ctx) -> None:
    assert service.lend(ctx, resident(ctx, "Emily Wang"), "U002").unit_code == "3-1205"
    for stranger in (Actor("kiosk"), ENGINEER, Actor("resident", 99999, "nobody")):
        with pytest.raises(Refused) as exc:
            service.lend(ctx, stranger, "U003")
        assert exc.value.code == "umbrellas.not_resident" and "desk" in str(exc.value)
    assert _state(ctx, "U003") == "available"


def test_a_household_cannot_borrow_more_than_the_limit(ctx) -> None:
    wang = resident(ctx, "王小明")
    service.lend(ctx, wang, "U001")
    service.lend(ctx, resident(ctx, "Emily Wang"), "U002")
    with pytest.raises(Refused) as exc:
        service.lend(ctx, wang, "U003")
    assert exc.value.code == "umbrellas.limit"


def test_an_umbrella_that_is_out_cannot_be_lent_again(ctx) -> None:
    service.lend(ctx, resident(ctx, "张伟"), "U001")
    with pytest.raises(Refused) as exc:
        service.lend(ctx, resident(ctx, "刘芳"), "U001")
    assert exc.value.code == "umbrellas.not_available"


def test_an_overdue_household_is_refused_with_the_reason(ctx) -> None:
    zhang = resident(ctx, "张伟")
    service.lend(ctx, zhang, "U001")
    ctx.clock.advance(hours=73)
    with pytest.raises(Refused) as exc:
        service.lend(ctx, zhang, "U002")
    assert exc.value.code == "umbrellas.overdue" and "overdue" in str(exc.value)


def test_returning_late_costs_a_fee_per_day_within_the_grace_and_cap(ctx) -> None:
    zhang = resident(ctx, "张伟")
    service.lend(ctx, zhang, "U001")
    ctx.clock.advance(hours=72 + 24 * 3 + 1)  # 3 days and an hour late: 4 started days
    back = service.return_umbrella(ctx, zhang, "U001", "intact")
    assert back.late_fee_fen == 800 and back.compensation_fen == 0
    assert _state(ctx, "U001") == "available"
    with pytest.raises(Refused) as exc:  # owing blocks new loans
        service.lend(ctx, zhang, "U002")
    assert exc.value.code == "umbrellas.owing" and "8.00" in str(exc.value)


def test_returning_within_the_grace_period_is_free(ctx) -> None:
    zhang = resident(ctx, "张伟")
    service.lend(ctx, zhang, "U001")
    ctx.clock.advance(hours=72 + 23)
    assert service.return_umbrella(ctx, zhang, "U001").owed_fen == 0
    service.lend(ctx, zhang, "U002")


def test_an_umbrella_can_be_returned_at_another_kiosk_of_the_estate(ctx) -> None:
    import dataclasses

    service.lend(ctx, resident(ctx, "张伟"), "U001")
    other = KioskContext(
        settings=dataclasses.replace(ctx.settings, kiosk_id="kiosk-B", lobby="B"),
        clock=ctx.clock, db=ctx.db, plugins=ctx.plugins,
    )  # fmt: skip
    service.return_umbrella(other, Actor("kiosk"), "U001")
    with ctx.database().read() as s:
        loan = s.scalars(select(UmbrellaLoan)).one()
        assert loan.returned_kiosk == "kiosk-B"
        assert s.scalar(select(Umbrella.lobby).where(Umbrella.tag == "U001")) == "B"


def test_a_damaged_umbrella_is_charged_at_its_original_price_once_the_butler_confirms(ctx) -> None:
    from plugins.billing.models import BillLine

    zhang = resident(ctx, "张伟")
    service.lend(ctx, zhang, "U001")
    back = service.return_umbrella(ctx, zhang, "U001", "damaged")
    assert back.compensation_fen == 6800 and _state(ctx, "U001") == "damaged"
    assert _alerts(ctx, "umbrella_charge")
    assert service.pending_charges(ctx)[0]["compensation_fen"] == 6800
    with pytest.raises(Refused):
        service.confirm_charge(ctx, zhang, back.loan_id)  # only the butler
    assert service.confirm_charge(ctx, BUTLER, back.loan_id) == "billed"
    with ctx.database().read() as s:
        line = s.scalars(
            select(BillLine).where(BillLine.source_ref == f"umbrella_loan:{back.loan_id}")
        ).one()
        assert (line.kind, line.amount_fen) == ("umbrella", 6800)
    with pytest.raises(Refused) as exc:  # the bill is not paid yet
        service.lend(ctx, zhang, "U002")
    assert exc.value.code == "umbrellas.owing"
    with pytest.raises(Refused):  # confirmed once only
        service.confirm_charge(ctx, BUTLER, back.loan_id)


def test_without_billing_a_lost_umbrella_becomes_a_desk_item(ctx) -> None:
    from kiosk.plugins import load_plugins

    no_billing = KioskContext(settings=ctx.settings, clock=ctx.clock, db=ctx.db,
                              plugins=load_plugins(("billing",)))  # fmt: skip
    zhang = resident(ctx, "张伟")
    service.lend(no_billing, zhang, "U005")
    back = service.return_umbrella(no_billing, zhang, "U005", "lost")
    assert back.compensation_fen == 4500 and _state(ctx, "U005") == "lost"
    assert service.confirm_charge(no_billing, BUTLER, back.loan_id) == "desk"
    assert any("4.50" in m or "45.00" in m for m in _alerts(ctx, "umbrella_collect"))
    with pytest.raises(Refused):
        service.lend(no_billing, zhang, "U001")
    service.mark_paid_at_desk(no_billing, BUTLER, back.loan_id)
    service.lend(no_billing, zhang, "U001")


def test_handing_back_an_umbrella_that_is_not_lent_alerts_the_desk_and_changes_nothing(
    ctx,
) -> None:
    with pytest.raises(Refused) as exc:
        service.return_umbrella(ctx, Actor("kiosk"), "U003")
    assert exc.value.code == "umbrellas.not_lent"
    assert _state(ctx, "U003") == "available"
    assert any("U003" in m for m in _alerts(ctx, "umbrella_not_lent"))
    with ctx.database().read() as s:
        assert s.scalar(select(func.count()).select_from(UmbrellaLoan)) == 0


def test_the_desk_sees_stock_overdue_loans_and_reminds_once_a_day(ctx) -> None:
    service.lend(ctx, resident(ctx, "张伟"), "U001")
    service.lend(ctx, resident(ctx, "刘芳"), "U002")
    ctx.clock.advance(hours=80)
    assert service.stock(ctx)["A"]["overdue"] == 2 and service.stock(ctx)["A"]["available"] == 4
    late = service.overdue_loans(ctx)
    assert [r.tag for r in late] == ["U001", "U002"] and late[0].borrower != "张伟"
    assert len(service.send_reminders(ctx)) == 2
    assert service.send_reminders(ctx) == []
    assert _state(ctx, "U001") == "overdue"
    ctx.clock.advance(days=1)
    assert len(service.send_reminders(ctx)) == 2
    back = service.return_umbrella(ctx, resident(ctx, "张伟"), "U001")
    assert back.late_fee_fen > 0 and _state(ctx, "U001") == "available"


def test_stock_is_kept_by_the_butler(ctx) -> None:
    service.add_umbrella(ctx, BUTLER, tag="u100", kind="short", price_fen=3900)
    with pytest.raises(Refused):
        service.add_umbrella(ctx, BUTLER, tag="U100", kind="short", price_fen=3900)
    with pytest.raises(Refused):
        service.add_umbrella(ctx, BUTLER, tag="U101", kind="golf", price_fen=3900)
    with pytest.raises(Refused):
        service.add_umbrella(ctx, BUTLER, tag="U101", kind="long", price_fen=0)
    with pytest.raises(Refused):
        service.add_umbrella(ctx, resident(ctx, "张伟"), tag="U101", kind="long", price_fen=10)
    service.retire(ctx, BUTLER, "U100")
    assert _state(ctx, "U100") == "retired"


RULES = CirculationRules()
DUE = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


@given(st.integers(min_value=-10_000, max_value=100_000))
def test_the_late_fee_grows_by_day_never_passes_the_cap_and_is_free_in_grace(minutes) -> None:
    fee = late_fee(RULES, DUE, DUE + dt.timedelta(minutes=minutes))
    assert 0 <= fee <= RULES.late_fee_cap_fen and fee % RULES.late_fee_per_day_fen == 0
    if minutes <= RULES.grace_hours * 60:
        assert fee == 0
    assert fee <= late_fee(RULES, DUE, DUE + dt.timedelta(minutes=minutes + 1440))


def test_the_loan_slip_names_the_condition_in_the_residents_language(ctx) -> None:
    """A 借伞 slip in Chinese says 完好, not the stored code ``intact``; a butler's own note is
    printed as written."""
    from kiosk.i18n import language, set_language

    before = language()
    set_language("zh_CN")
    try:
        loan = service.lend(ctx, resident(ctx, "张伟"), "U002")
        rows = {
            b.get("key"): b.get("value")
            for b in service.lending_slip(ctx, loan).to_dict()["blocks"]
        }
        assert "intact" not in rows.values() and rows["借出状况"] == "完好"
        service.note_condition(ctx, BUTLER, "U003", "伞骨略弯")
        noted = service.lend(ctx, resident(ctx, "Emily Wang"), "U003")
        assert service.lending_slip(ctx, noted).to_dict()["blocks"][3]["value"] == "伞骨略弯"
    finally:
        set_language(before)
