"""A simulated printer keeps each slip it prints (ESC/POS bytes and a PNG preview) when
KIOSK_RECEIPTS_DIR is set (``kiosk demo`` sets it); ``kiosk receipt last`` shows the latest."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import kiosk.cli_devices as cli
from devices.printer import Receipt, render_escpos
from devices.sim.printer import RECEIPTS_ENV, PrinterModel

runner = CliRunner()
app = typer.Typer()
app.add_typer(cli.receipt_app, name="receipt")


def slip(text: str) -> bytes:
    return render_escpos(Receipt().title(text).qr(f"https://k.example/{text}").cut(), 58)


def test_each_slip_is_kept_at_its_cut_and_receipt_last_shows_the_latest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    monkeypatch.setenv(RECEIPTS_ENV, str(tmp_path))
    printer = PrinterModel()
    first, second = slip("FIRST"), slip("SECOND")
    printer.handle(first[:10])  # bytes arrive in pieces: nothing kept before the cut
    assert not list(tmp_path.glob("*.bin"))
    printer.handle(first[10:])
    printer.handle(second)
    kept = sorted(tmp_path.glob("*.bin"))
    assert [p.name for p in kept] == ["000001.bin", "000002.bin"]
    assert kept[0].read_bytes() == first and kept[1].read_bytes() == second
    assert Image.open(kept[1].with_suffix(".png")).size[1] > 0

    png = tmp_path / "out.png"
    result = runner.invoke(app, ["receipt", "last", "--png", str(png)])
    assert result.exit_code == 0, result.output
    assert "SECOND" in result.stdout and "[QR] https://k.example/SECOND" in result.stdout
    assert "FIRST" not in result.stdout and png.stat().st_size > 0


def test_without_the_setting_nothing_is_kept_and_receipt_last_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(RECEIPTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    PrinterModel().handle(slip("X"))
    assert not list(tmp_path.rglob("*.bin"))
    result = runner.invoke(app, ["receipt", "last"])
    assert result.exit_code == 1 and "no slips" in result.stderr
