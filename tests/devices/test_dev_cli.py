"""``kiosk devices ...`` / ``kiosk receipt ...``: output, JSON and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import kiosk.cli_devices as cli
from devices.printer import Receipt, render_escpos

runner = CliRunner()
app = typer.Typer()
app.add_typer(cli.devices_app, name="devices")
app.add_typer(cli.receipt_app, name="receipt")


@pytest.fixture
def slip_file(tmp_path: Path) -> Path:
    path = tmp_path / "slip.bin"
    receipt = Receipt().title("取件凭条").row("取件码", "8F3K2").qr("https://k.example/8F3K2").cut()
    path.write_bytes(render_escpos(receipt, 58))
    return path


def test_receipt_decode_prints_text_and_qr(slip_file: Path) -> None:
    result = runner.invoke(app, ["receipt", "decode", str(slip_file)])
    assert result.exit_code == 0, result.output
    assert "取件凭条" in result.stdout and "[QR] https://k.example/8F3K2" in result.stdout


def test_receipt_decode_json_and_png(slip_file: Path, tmp_path: Path) -> None:
    import zxingcpp
    from PIL import Image

    png = tmp_path / "slip.png"
    result = runner.invoke(app, ["receipt", "decode", str(slip_file), "--png", str(png), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["qr_codes"] == ["https://k.example/8F3K2"] and data["cuts"] == 1
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(png))] == data["qr_codes"]


def test_decoding_a_missing_or_empty_file_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["receipt", "decode", str(tmp_path / "nope.bin")])
    assert result.exit_code == 1 and "cannot read" in result.stderr
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["devices", "decode", str(empty)])
    assert result.exit_code == 1 and "no printable" in result.stderr


def test_usage_errors_exit_2() -> None:
    assert runner.invoke(app, ["receipt", "decode"]).exit_code == 2
    assert runner.invoke(app, ["devices", "probe", "--timeout", "soon"]).exit_code == 2


def test_list_and_probe_configured_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    devices = {"printer": "sim://printer?paper=58", "card": "sim://card?protocol=pn532"}
    monkeypatch.setattr(cli, "device_urls_from_config", lambda config=None: devices)
    result = runner.invoke(app, ["devices", "list", "--json"])
    assert result.exit_code == 0
    assert [d["kind"] for d in json.loads(result.stdout)["devices"]] == ["printer", "card"]
    result = runner.invoke(app, ["devices", "probe", "--json"])
    assert result.exit_code == 0, result.output
    probed = {d["name"]: d for d in json.loads(result.stdout)["devices"]}
    assert probed["printer"]["ok"] and probed["printer"]["status"]["ready"]
    assert probed["card"]["ok"] and "firmware" in probed["card"]["detail"]


def test_probe_reports_a_faulted_printer_with_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    from devices.sim import ensure_sim, get_sim

    monkeypatch.setattr(cli, "device_urls_from_config", lambda config=None: {"p": "sim://printer"})
    ensure_sim("p", "sim://printer")
    get_sim("p").set_fault("paper_out")  # type: ignore[attr-defined]
    result = runner.invoke(app, ["devices", "probe", "p"])
    assert result.exit_code == 1
    assert "paper out" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    result = runner.invoke(app, ["devices", "probe", "nosuch"])
    assert result.exit_code == 1 and "no device 'nosuch'" in result.stderr


def test_an_invalid_configured_url_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "device_urls_from_config", lambda config=None: {"p": "ftp://x"})
    result = runner.invoke(app, ["devices", "list"])
    assert result.exit_code == 1 and "unknown scheme 'ftp'" in result.stderr


def test_device_urls_come_from_the_kiosk_config(tmp_path: Path) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text('[devices]\nprinter = "sim://printer"\n', encoding="utf-8")
    assert cli.device_urls_from_config(config) == {"printer": "sim://printer"}


def test_the_sim_console_taps_and_shows_what_was_printed() -> None:
    import io

    from devices.printer import open_printer
    from devices.sim.console import run_console, start_sims

    sims = start_sims(["p1"], {"c1": "rdm6300"})
    try:
        printer = open_printer(f"serial://{sims['p1'].path}", name="p1")
        printer.send(render_escpos(Receipt().text("你好"), 58))
        out = io.StringIO()
        run_console(sims, io.StringIO("\nfault p1 paper_out\nshow p1\nbogus\nquit\n"), out)
        assert "c1: tap" in out.getvalue() and "  | 你好" in out.getvalue()
        assert not printer.status().ready
    finally:
        for s in sims.values():
            s.stop()


@pytest.mark.parametrize("url", ["tcp://[foo]:9100", "tcp://[::1:9100", "tcp://10.0.0.5:70000"])
def test_a_malformed_url_in_the_config_is_one_line_exit_1(tmp_path: Path, url: str) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[devices]\nprinter = "{url}"\n', encoding="utf-8")
    result = runner.invoke(app, ["devices", "list", "--config", str(config)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and url in lines[0] and "Traceback" not in result.output


def test_decode_does_not_pass_terminal_escapes_through(tmp_path: Path) -> None:
    payload = "\x1b]0;pwned\x07\x1b[2J\u009b31m"  # set title, clear screen, C1 CSI
    body = b"1P0" + payload.encode()
    qr = b"\x1d(k" + bytes([len(body), 0]) + body + b"\x1d(k\x03\x001Q0"
    barcode = b"\x1dkI\x06{B\x1b[2J"
    path = tmp_path / "evil.bin"
    path.write_bytes(b"\x1b@" + qr + barcode)
    result = runner.invoke(app, ["receipt", "decode", str(path)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\u009b" not in result.stdout
    assert "[QR] \\x1b]0;pwned\\x07\\x1b[2J\\x9b31m" in result.stdout
    assert "[barcode] ?[2J" in result.stdout


def test_receipt_decode_of_a_hostile_file_is_bounded(tmp_path: Path) -> None:
    import tracemalloc

    from PIL import Image

    from devices.receipt_decode import MAX_PNG_DOTS

    # A raster row 524,280 dots wide (the printer skips its 64 KB), then 300 KB of "feed 255".
    evil = tmp_path / "evil.bin"
    evil.write_bytes(b"\x1dv0\x00\xff\xff\x01\x00" + b"x" * 0xFFFF + b"\x1bd\xff" * 100_000)
    png = tmp_path / "evil.png"
    tracemalloc.start()
    try:
        result = runner.invoke(app, ["receipt", "decode", str(evil), "--png", str(png), "--json"])
        used = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.stdout)["warnings"]
    assert any("dots wide" in w for w in warnings)
    assert any("longer than a roll" in w for w in warnings)
    with Image.open(png) as image:
        assert image.size[1] <= MAX_PNG_DOTS + 32
    assert used < 64 * 2**20

    result = runner.invoke(app, ["receipt", "decode", str(evil)])
    assert result.exit_code == 0
    assert result.stderr.startswith("kiosk: warning: the printout is longer than a roll")
