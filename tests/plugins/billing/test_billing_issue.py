"""The month's bills told to the households: once per bill, with what is owed and a link to
pay it; a bill paid or told before is not sent again."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kiosk.db.models import Notification
from kiosk.errors import PermissionDenied
from kiosk.notify_messages import render
from plugins.billing import service
from plugins.billing.models import Bill
from tests.plugins.billing.conftest import BUTLER, CASHIER
from tests.plugins.demo_people import cli_with, config_for


def _told(ctx) -> list[Notification]:  # type: ignore[no-untyped-def]
    with ctx.database().read() as s:
        return list(
            s.scalars(
                select(Notification)
                .where(Notification.template == "bill.issued")
                .order_by(Notification.id)
            )
        )


def _bill_of(ctx, unit: str, period: str) -> int:  # type: ignore[no-untyped-def]
    from kiosk.db.models import Unit

    with ctx.database().read() as s:
        return s.scalars(
            select(Bill.id).join(Unit, Unit.id == Bill.unit_id)
            .where(Unit.code == unit, Bill.period == period)
        ).one()  # fmt: skip


def test_the_cashier_issues_the_month_and_each_household_is_told_once(ctx) -> None:
    period = service.current_period(ctx)
    with pytest.raises(PermissionDenied):
        service.issue_bills(ctx, BUTLER, period)
    first = service.issue_bills(ctx, CASHIER, period)
    sent = _told(ctx)
    assert first.issued == len(sent) >= 2 and first.already == 0
    with ctx.database().read() as s:
        bills = {b.id: b for b in s.scalars(select(Bill).where(Bill.period == period))}
    for note in sent:
        bill = bills[note.payload["bill"]]
        assert bill.issued_at is not None and note.unit_id == bill.unit_id
        assert note.payload["due"] == bill.due_date.isoformat()
    assert first.total_fen == sum(bills[n.payload["bill"]].balance_fen for n in sent)
    # In the household's language: the amount, the month and the due date, no codes.
    title, body = render(sent[0].template, sent[0].payload, "zh_CN")
    assert sent[0].payload["unit"] in title and "￥" in body and period in body
    assert sent[0].payload["due"] in body and "bill.issued" not in title + body

    again = service.issue_bills(ctx, CASHIER, period)
    assert (again.issued, again.already) == (0, first.issued) and len(_told(ctx)) == len(sent)


def test_a_bill_charged_later_is_told_at_the_next_issue_and_a_paid_one_never(ctx) -> None:
    period = "2031-01"
    service.add_charge(ctx, CASHIER, "1-101", "other", 5000, "储物间租金", period=period)
    service.record_desk_payment(ctx, CASHIER, _bill_of(ctx, "1-101", period), 5000)
    assert service.issue_bills(ctx, CASHIER, period).issued == 0  # nothing owed: not sent
    service.add_charge(ctx, CASHIER, "2-803", "other", 8800, "储物间租金", period=period)
    r = service.issue_bills(ctx, CASHIER, period)
    assert (r.issued, r.total_fen) == (1, 8800)
    (note,) = [n for n in _told(ctx) if n.payload["period"] == period]
    assert note.payload["bill"] == _bill_of(ctx, "2-803", period)
    assert note.payload["amount"] == "￥88.00" and note.payload["unit"] == "2-803"


def test_kiosk_billing_issue_at_the_desk(ctx, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from plugins.billing.cli import register

    period = service.current_period(ctx)
    args = ["billing", "issue", "--period", period, "--json", "-c", config_for(ctx, tmp_path)]
    app = cli_with("billing", register)
    out = CliRunner().invoke(app, [*args, "--staff", "S001", "--pin", "2580"])
    assert out.exit_code == 1 and "cashier" in out.output
    out = CliRunner().invoke(app, [*args, "--staff", "S002", "--pin", "1357"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["issued"] == len(_told(ctx)) >= 2
    out = CliRunner().invoke(app, ["billing", "issue", "--period", "2026-13", *args[4:],
                                   "--staff", "S002", "--pin", "1357"])  # fmt: skip
    assert out.exit_code == 1 and "Traceback" not in out.output
