"""CSV / formula injection: what people type reaches the office's spreadsheet as text.

Every CSV export is filled through the real services with names, purposes, plates and notes
that a spreadsheet would run as formulas (``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``,
``@SUM(...)``, ``-2+3``), and must write them with OWASP's leading ``'``.

Decision on negative amounts (see kiosk/export.py): a cell that is only a signed amount
(``-12.50``, ``-￥1,234.50``) is a number to a spreadsheet and holds nothing it could run, so it
is written unchanged (sums over refunds keep working); every other cell starting with
``= + - @``, a tab or a carriage return is prefixed.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest

from kiosk.context import KioskContext
from kiosk.export import FORMULA_PREFIXES, csv_dict_writer, csv_writer, safe_cell
from plugins.parking import service as parking
from plugins.umbrellas import service as umbrellas
from plugins.visitors import service as visitors
from tests.conftest import now_env
from tests.core.test_cli import kiosk
from tests.core.test_pii_exports import resident
from tests.core.test_retention import BUTLER
from tests.plugins.parking.parking_helpers import CASHIER, resident_of

HYPERLINK = '=HYPERLINK("http://x","y")'
DDE = "+cmd|' /C calc'!A0"
AT_SUM = "@SUM(1+1)*cmd|' /C calc'!A0"
MINUS = "-2+3+cmd|' /C calc'!A0"
AMOUNT = re.compile(r"[+-]?[￥¥$]?\d[\d,]*(?:\.\d+)?")
ROOT = Path(__file__).resolve().parents[2]


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]


def assert_no_formula(text: str) -> None:
    """No cell of the CSV would be run by a spreadsheet."""
    for cell in cells(text):
        if cell.startswith(FORMULA_PREFIXES):
            assert AMOUNT.fullmatch(cell), f"cell {cell!r} would run as a formula"


# -- the helper -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [HYPERLINK, DDE, AT_SUM, MINUS, "-", "+86 139****5678", "\t=1+1", "\r=1+1", "=1+1\n"],
)
def test_text_a_spreadsheet_would_run_gets_a_quote(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value", ["-12.50", "-￥1,234.50", "+5", "-3", "0.00", "张伟", "A=1", "1-101", ""]
)
def test_amounts_and_plain_text_are_written_as_they_are(value: str) -> None:
    assert safe_cell(value) == value


def test_numbers_are_numbers() -> None:
    assert [safe_cell(v) for v in (-5, -1.5, Decimal("-2.50"), None)] == [
        -5, -1.5, Decimal("-2.50"), None,
    ]  # fmt: skip


def test_both_writers_neutralise_every_cell() -> None:
    out = io.StringIO()
    writer = csv_writer(out, lineterminator="\n")
    writer.writerow([HYPERLINK, -12, "-12.50"])
    writer.writerows([[DDE]])
    dict_writer = csv_dict_writer(out, ["a", "b"], lineterminator="\n")
    dict_writer.writerow({"a": AT_SUM, "b": "ok"})
    dict_writer.writerows([{"a": MINUS, "b": "-￥3.00"}])
    assert cells(out.getvalue()) == [
        "'" + HYPERLINK, "-12", "-12.50", "'" + DDE, "'" + AT_SUM, "ok", "'" + MINUS, "-￥3.00",
    ]  # fmt: skip


def test_no_export_writes_csv_around_the_helper() -> None:
    """Every CSV writer in the kiosk and its plugins goes through kiosk.export."""
    offenders = []
    for path in [*ROOT.glob("kiosk/**/*.py"), *ROOT.glob("plugins/**/*.py")]:
        if path.name == "export.py" and path.parent.name == "kiosk":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"csv\.(writer|DictWriter)\(", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], offenders


# -- each export, filled through the services -------------------------------------------------


def test_visitor_register_neutralises_names_and_purposes(ctx: KioskContext) -> None:
    """来访人员登记表: the visitor types their own name and purpose at the kiosk."""
    visitors.register_walkup(
        ctx, name=HYPERLINK, phone="13912345678", unit_code="1-101", purpose=DDE
    )
    visitors.register_walkup(
        ctx, name="Eve", phone="13912345679", unit_code="1-101", purpose=AT_SUM
    )
    text = visitors.daily_log_csv(ctx, ctx.clock.now().date())
    assert_no_formula(text)
    found = cells(text)
    assert "'" + DDE in found and "'" + AT_SUM in found
    assert any(c.startswith("'=") for c in found)  # the name, masked, still starts with '='


def test_umbrella_loan_register_neutralises_conditions(ctx: KioskContext) -> None:
    umbrellas.note_condition(ctx, BUTLER, "U001", MINUS)  # the butler typed it; the loan carries it
    umbrellas.lend(ctx, resident(ctx, "3-1205", "王小明"), "U001")
    text = umbrellas.loan_register_csv(ctx, BUTLER)
    assert_no_formula(text)
    assert "'" + MINUS in cells(text)


def test_parking_records_neutralise_car_models(ctx: KioskContext) -> None:
    """月租办理记录: the car model is typed at the desk from what the owner says."""
    parking.open_rental(
        ctx, CASHIER, unit="3-1205", resident_id=resident_of(ctx, "3-1205").id,
        plate="粤B88888", car_model=HYPERLINK, licence_no="440305198807071234",
        identity_checked=True, months=1, method="cash",
    )  # fmt: skip
    text = parking.records_csv(ctx, CASHIER)
    assert_no_formula(text)
    assert "'" + HYPERLINK in cells(text)


def test_cli_reports_neutralise_parcels_and_repairs(ctx: KioskContext) -> None:
    from plugins.parcels import service as parcels

    ctx.clock.advance(days=-4)
    parcels.check_in(
        ctx, BUTLER, tracking="SF1000000000077", unit_code="3-1205", recipient="王小明",
        shelf=AT_SUM[:8],
    )  # fmt: skip
    ctx.clock.advance(days=4)
    url = ctx.database().engine.url.render_as_string(hide_password=False)
    ctx.database().dispose()
    env = {"KIOSK_DATABASE_URL": url, **now_env(ctx)}  # the commands see the fixture's clock
    month = ctx.today().strftime("%Y-%m")
    result = kiosk("report", "parcels", "--aging", "--csv", env=env)
    assert result.returncode == 0, result.stderr
    assert_no_formula(result.stdout)
    assert "'" + AT_SUM[:8] in cells(result.stdout)
    result = kiosk("report", "repairs", "--month", month, "--csv", env=env)
    assert result.returncode == 0, result.stderr
    assert_no_formula(result.stdout)
