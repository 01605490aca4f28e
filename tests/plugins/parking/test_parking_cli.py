"""``kiosk parking card`` and ``kiosk report parking`` over the demo estate, both databases."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from kiosk.context import KioskContext
from kiosk.pii import find_unmasked
from tests.plugins.parking.parking_helpers import open_cash
from tests.plugins.parking.test_parking_fees import cli


def config_for(ctx: KioskContext, tmp_path: Path) -> str:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[database]\nurl = "{ctx.settings.database_url}"\n', "utf-8")
    return str(path)


def test_card_command_shows_holder_plate_validity_and_chain(ctx: KioskContext, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = config_for(ctx, tmp_path)
    out = CliRunner().invoke(cli(), ["parking", "card", "0000043777", "--json", "-c", cfg])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["validity"]["plate"] == "粤B12345" and data["validity"]["unit_code"] == "1-1001"
    assert data["validity"]["holder"].endswith("*") and len(data["chain"]) == 1
    out = CliRunner().invoke(cli(), ["parking", "card", "3C00A1B2C3", "-c", cfg])
    assert out.exit_code == 1 and "not a parking card" in out.output
    out = CliRunner().invoke(cli(), ["parking", "card", "FFFF0000FF", "-c", cfg])
    assert out.exit_code == 1 and "not known" in out.output


def test_weekly_report_csv_is_masked_and_needs_staff(ctx: KioskContext, tmp_path) -> None:  # type: ignore[no-untyped-def]
    open_cash(ctx, plate="粤B99999")
    cfg = config_for(ctx, tmp_path)
    args = ["report", "parking", "--week", "--csv", "-c", cfg]
    out = CliRunner().invoke(cli(), [*args, "--staff", "S002", "--pin", "1357"])
    assert out.exit_code == 0, out.output
    rows = list(csv.reader(io.StringIO(out.output)))
    assert rows[0][:5] == ["办理日期", "车主", "电话", "车型", "车牌"]
    mine = next(r for r in rows if r[4] == "粤B99999")
    assert mine[8] == "有效" and mine[9] == "是"
    assert find_unmasked(out.output) == []
    out = CliRunner().invoke(cli(), [*args, "--staff", "S002", "--pin", "0000"])
    assert out.exit_code == 1 and "Wrong PIN" in out.output


def test_the_weekly_report_shows_an_unpaid_new_rental_as_payment_pending(
    ctx: KioskContext, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from plugins.parking import service
    from tests.plugins.parking.parking_helpers import CASHIER, resident_of

    service.open_rental(
        ctx,
        CASHIER,
        unit="3-1205",
        resident_id=resident_of(ctx, "3-1205").id,
        plate="粤B66666",
        car_model="大众 朗逸",
        licence_no="440301199001011234",
        identity_checked=True,
        method="bill",
    )
    cfg = config_for(ctx, tmp_path)
    login = ["--staff", "S002", "--pin", "1357", "-c", cfg]
    out = CliRunner().invoke(cli(), ["report", "parking", "--week", *login])
    assert out.exit_code == 0, out.output
    (line,) = [ln for ln in out.output.splitlines() if "粤B66666" in ln]
    assert line.endswith("payment pending") and "expired" not in line
    out = CliRunner().invoke(cli(), ["report", "parking", "--week", "--csv", *login])
    (row,) = [r for r in csv.reader(io.StringIO(out.output)) if r[4] == "粤B66666"]
    assert row[8] == "待缴费"
