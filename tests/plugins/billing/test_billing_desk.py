"""The desk's side: unit statements, daily reconciliation against each provider's statement,
and the CLI the office scripts use."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plugins.billing import service

KIOSK = [sys.executable, "-c", "from kiosk.cli import main; main()"]
TODAY = dt.date(2026, 11, 23)  # the FixedClock's day in Shanghai


def test_reconciliation_lists_what_differs_from_each_providers_statement(
    bctx, gateway, people
) -> None:
    me = people.resident(bctx, "3-1205")
    bills = service.open_bills(bctx, "3-1205")
    wx = service.create_payment_order(bctx, me, bills[0].id, "wechat-native")
    service.handle_notification(bctx, "wechat-native", *gateway.pay(wx.out_trade_no))
    # Paid at the provider, but the notice never arrived and nobody polled: theirs only.
    lost = service.create_payment_order(bctx, me, bills[1].id, "sim")
    gateway.pay(lost.out_trade_no)

    rec = service.reconcile(bctx, people.cashier, TODAY)

    assert rec.matched["wechat-native"] == 1
    assert [(m.provider, m.out_trade_no, m.problem) for m in rec.mismatches] == [
        ("sim", lost.out_trade_no, "payment on the provider's statement only")
    ]
    assert not rec.ok
    service.poll_order(bctx, lost.out_trade_no)
    assert service.reconcile(bctx, people.cashier, TODAY).ok


def test_a_refund_reconciles_as_a_refund_line(bctx, gateway, people) -> None:
    from sqlalchemy import select

    from plugins.billing.models import Payment

    bill = service.open_bills(bctx, "3-1205")[0]
    order = service.create_payment_order(
        bctx, people.resident(bctx, "3-1205"), bill.id, "alipay-precreate"
    )
    service.handle_notification(bctx, "alipay-precreate", *gateway.pay(order.out_trade_no))
    with bctx.database().read() as s:
        pid = s.scalar(select(Payment.id).where(Payment.bill_id == bill.id))
    service.refund_payment(bctx, people.manager, pid, 500, "duplicate charge")
    rec = service.reconcile(bctx, people.cashier, TODAY)
    assert rec.matched["alipay-precreate"] == 2 and rec.ok


def test_a_unit_statement_is_for_the_desk_or_the_units_own_resident(bctx, people) -> None:
    st = service.unit_statement(bctx, people.butler, "3-1205")
    assert [b.period for b in st.bills] == ["2026-10", "2026-11"]
    assert st.owed_fen == sum(b.balance_fen + b.late_fee_now_fen for b in st.bills)
    assert st.deposits[0]["kind"] == "parking_card"
    from kiosk.errors import Refused

    with pytest.raises(Refused):
        service.unit_statement(bctx, people.resident(bctx, "1-101"), "3-1205")


# -- the CLI ----------------------------------------------------------------------------------


def kiosk(*args: str, db: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    env["KIOSK_DATABASE_URL"] = db
    return subprocess.run([*KIOSK, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory: pytest.TempPathFactory, sqlite_templates) -> str:
    # The demo estate as `kiosk init --demo` makes it (the session's seeded template).
    target = tmp_path_factory.mktemp("billing-cli") / "demo.db"
    shutil.copyfile(sqlite_templates[True], target)
    return f"sqlite:///{target}"


def test_the_cashier_records_a_cash_payment_and_sees_it_on_the_statement(cli_db: str) -> None:
    paid = kiosk(
        "billing",
        "pay",
        "B202611-1-101",
        "100.00",
        "--staff",
        "S002",
        "--pin",
        "1357",
        "--json",
        db=cli_db,
    )
    assert paid.returncode == 0, paid.stderr
    receipt = json.loads(paid.stdout)["receipt_no"]
    st = kiosk(
        "billing", "statement", "1-101", "--staff", "S002", "--pin", "1357", "--json", db=cli_db
    )
    assert st.returncode == 0
    assert json.loads(st.stdout)["payments"][0]["receipt_no"] == receipt


def test_cli_refusals_are_one_line_with_exit_1(cli_db: str) -> None:
    butler = kiosk(
        "billing", "pay", "B202611-1-101", "1", "--staff", "S001", "--pin", "2580", db=cli_db
    )
    assert butler.returncode == 1 and butler.stderr.count("\n") == 1
    assert "cashier" in butler.stderr
    refund = kiosk(
        "billing",
        "refund",
        "SK0",
        "1",
        "--reason",
        "x",
        "--staff",
        "S002",
        "--pin",
        "1357",
        db=cli_db,
    )
    assert refund.returncode == 1
    assert refund.stderr == "kiosk: There is no payment SK0.\n"
    no_bill = kiosk(
        "billing", "pay", " B190001-9-999 ", "1", "--staff", "S002", "--pin", "1357", db=cli_db
    )
    assert no_bill.returncode == 1
    assert no_bill.stderr == "kiosk: There is no bill  B190001-9-999 .\n"
    bad_day = kiosk("report", "billing", "--day", "yesterday", db=cli_db)
    assert bad_day.returncode == 2
    assert bad_day.stderr == "kiosk: --day 'yesterday' is not a date (YYYY-MM-DD)\n"


def test_report_billing_json_and_providers_never_print_secrets(cli_db: str) -> None:
    rep = kiosk("report", "billing", "--day", "2026-11-23", "--json", db=cli_db)
    assert rep.returncode in (0, 1), rep.stderr
    assert json.loads(rep.stdout)["day"] == "2026-11-23"
    prov = kiosk("billing", "providers", "--json", db=cli_db)
    assert json.loads(prov.stdout)["sim"]["secret"] == "***"


def test_csv_import_from_the_command_line(cli_db: str, tmp_path: Path) -> None:
    f = tmp_path / "dec.csv"
    f.write_text("unit,kind,description,amount\n2-803,utilities,电费,88.10\n", encoding="utf-8")
    ok = kiosk(
        "billing",
        "import",
        str(f),
        "--period",
        "2026-12",
        "--staff",
        "S002",
        "--pin",
        "1357",
        db=cli_db,
    )
    assert ok.returncode == 0, ok.stderr
    again = kiosk(
        "billing",
        "import",
        str(f),
        "--period",
        "2026-12",
        "--staff",
        "S002",
        "--pin",
        "1357",
        db=cli_db,
    )
    assert again.returncode == 1 and "imported already" in again.stderr


def test_money_flagged_and_refunded_still_reconciles(bctx, gateway, people) -> None:
    bill = service.open_bills(bctx, "3-1205")[0]
    order = service.create_payment_order(bctx, people.resident(bctx, "3-1205"), bill.id, "sim")
    service.handle_notification(bctx, "sim", *gateway.pay(order.out_trade_no, amount_fen=700))
    service.refund_flagged_order(bctx, people.manager, order.out_trade_no, "wrong amount")
    rec = service.reconcile(bctx, people.cashier, TODAY)
    assert rec.ok, rec.mismatches
    assert rec.totals_fen["sim"] == 0  # 7.00 in, 7.00 back


def test_charges_credit_notes_and_deposits_from_the_command_line(cli_db: str) -> None:
    s1 = ("--staff", "S001", "--pin", "2580")  # butler
    s2 = ("--staff", "S002", "--pin", "1357")  # cashier
    s5 = ("--staff", "S005", "--pin", "1470")  # manager
    ok = kiosk("billing", "charge", "2-803", "repair", "80", "换水龙头 tap", *s1, db=cli_db)
    assert ok.returncode == 0, ok.stderr
    st = json.loads(kiosk("billing", "statement", "2-803", *s2, "--json", db=cli_db).stdout)
    bill = next(b for b in st["bills"] if any(ln["kind"] == "repair" for ln in b["lines"]))
    refused = kiosk("billing", "credit", bill["number"], "10", "--reason", "x", *s2, db=cli_db)
    assert refused.returncode == 1 and "manager" in refused.stderr
    credited = kiosk(
        "billing", "credit", bill["number"], "10", "--reason", "goodwill", *s5, db=cli_db
    )
    assert credited.returncode == 0, credited.stderr
    taken = kiosk(
        "billing", "deposit", "take", "2-803", "parking_card", "100", *s2, "--json", db=cli_db
    )
    receipt = json.loads(taken.stdout)["receipt_no"]
    back = kiosk(
        "billing", "deposit", "refund", receipt, "--reason", "card returned", *s5, db=cli_db
    )
    assert back.returncode == 0, back.stderr
    again = kiosk("billing", "deposit", "refund", receipt, "--reason", "again", *s5, db=cli_db)
    assert again.returncode == 1
    bad = kiosk("billing", "charge", "2-803", "repair", "abc", "x", *s1, db=cli_db)
    assert bad.returncode == 1 and "not an amount" in bad.stderr


def test_the_cashier_takes_cash_for_all_arrears_from_the_command_line(cli_db: str) -> None:
    cashier = ("--staff", "S002", "--pin", "1357")
    st = json.loads(kiosk("billing", "statement", "3-1205", *cashier, "--json", db=cli_db).stdout)
    open_bills = [b for b in st["bills"] if b["balance_fen"] > 0]
    assert len(open_bills) > 1
    owed = st["owed_fen"]
    yuan = f"{owed // 100}.{owed % 100:02d}"

    paid = kiosk("billing", "pay-arrears", "3-1205", yuan, *cashier, "--json", db=cli_db)

    assert paid.returncode == 0, paid.stderr
    payments = json.loads(paid.stdout)
    assert len(payments) == len(open_bills)
    assert sum(p["amount_fen"] for p in payments) == owed
    again = kiosk("billing", "pay-arrears", "3-1205", yuan, *cashier, db=cli_db)
    assert again.returncode == 1 and again.stderr.count("\n") == 1
    assert "owes nothing" in again.stderr
