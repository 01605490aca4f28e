"""python-escpos where it helps (printer profiles, the USB transport), loaded lazily and
leaving the root logger alone; qrcode as the one QR library."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import kiosk.cli_devices as cli
from devices.printer import Receipt, open_printer
from devices.printer.adapter import UsbTransport
from devices.printer.status import dle_eot
from devices.qr import QRCode
from devices.urls import DeviceURLError, parse_device_url
from tests.conftest import missing

runner = CliRunner()
app = typer.Typer()
app.add_typer(cli.devices_app, name="devices")
app.add_typer(cli.receipt_app, name="receipt")
REPO = Path(__file__).resolve().parents[2]
PAYLOAD = "https://kiosk.example/p/8F3K2?estate=SG"


def slip() -> Receipt:
    return Receipt().title("包裹取件凭条").row("取件码", "8F3K2").qr(PAYLOAD).cut()


def test_a_profile_without_native_qr_prints_an_image_qr_that_scans(tmp_path: Path) -> None:
    out = tmp_path / "slip.bin"
    printer = open_printer(f"file://{out}?profile=POS-5890", name="p")
    assert printer.profile is not None and not printer.profile.native_qr
    assert printer.qr_mode == "image" and printer.paper_mm == 58  # 384 dots: a 58 mm model
    assert printer.print_receipt(slip()).confirmed
    data = out.read_bytes()
    assert b"\x1dv0" in data and b"\x1d(k" not in data  # raster, no GS ( k the model can't do
    assert b"\x1dV" not in data  # no cutter on this model: a feed, not a cut command
    png = tmp_path / "slip.png"
    result = runner.invoke(app, ["receipt", "decode", str(out), "--png", str(png), "--json"])
    assert result.exit_code == 0, result.output
    decoded = json.loads(result.stdout)
    assert any("取件码" in line for line in decoded["lines"])
    assert decoded["images"], "the QR is an image on this slip"
    if shutil.which("zbarimg") is None:
        missing("zbarimg (Debian package zbar-tools) not installed")
    scanned = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True, timeout=60
    )
    assert scanned.returncode == 0, scanned.stderr
    assert scanned.stdout.strip() == PAYLOAD


def test_a_profile_with_native_qr_keeps_gs_k_and_its_paper(tmp_path: Path) -> None:
    out = tmp_path / "slip.bin"
    printer = open_printer(f"file://{out}?profile=TM-T20II", name="p")
    assert printer.qr_mode == "native" and printer.paper_mm == 80
    printer.print_receipt(slip())
    data = out.read_bytes()
    assert b"\x1d(k" in data and b"\x1dv0" not in data and b"\x1dVB" in data
    # the URL's own options win over the profile
    forced = open_printer(f"file://{out}?profile=TM-T20II&qr=image&paper=58", name="p")
    assert forced.qr_mode == "image" and forced.paper_mm == 58


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("tcp://10.0.0.5:9100?profile=TM-T21", "unknown printer profile 'TM-T21'"),
        ("serial:///dev/ttyUSB0?profile=tm-t20ii", "did you mean 'TM-T20II'"),
        ("usb://04b8", "is not usb://VID:PID"),
        ("usb://04b8:0e1g", "is not usb://VID:PID"),
        ("usb://0000:0e15", "cannot be 0000"),
        ("usb://04b8:0e15?interface=x", "interface='x'"),
        ("usb://04b8:0e15?baudrate=9600", "unknown option 'baudrate' for a usb:// printer"),
    ],
)
def test_unknown_profiles_and_malformed_usb_urls_are_one_line(url: str, message: str) -> None:
    with pytest.raises(DeviceURLError) as err:
        parse_device_url("printer", url)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_devices_list_shows_transport_profile_and_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    devices = {
        "printer": "usb://04B8:0E15?profile=TM-T20II",
        "desk": "pcsc://?reader=ACS%20ACR122U",
    }
    monkeypatch.setattr(cli, "device_urls_from_config", lambda config=None: devices)
    result = runner.invoke(app, ["devices", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)["devices"]}
    assert rows["printer"]["transport"] == "usb 04b8:0e15 (pyusb)"
    assert rows["printer"]["profile"] == "TM-T20II"
    assert rows["desk"]["reader"] == "ACS ACR122U" and rows["desk"]["kind"] == "card"
    text = runner.invoke(app, ["devices", "list"]).stdout
    assert "profile=TM-T20II" in text and "reader=ACS ACR122U" in text
    monkeypatch.setattr(
        cli, "device_urls_from_config", lambda config=None: {"p": "tcp://h?profile=Nope"}
    )
    bad = runner.invoke(app, ["devices", "list"])
    assert bad.exit_code == 1
    assert bad.stderr.strip() == "kiosk: device 'p': unknown printer profile 'Nope' (see " \
        "`kiosk devices profiles`)"  # fmt: skip


def test_probe_shows_the_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "x.bin"
    monkeypatch.setattr(
        cli, "device_urls_from_config", lambda config=None: {"p": f"file://{out}?profile=TM-T20II"}
    )
    result = runner.invoke(app, ["devices", "probe", "--json"])
    assert result.exit_code == 0, result.output
    probed = json.loads(result.stdout)["devices"][0]
    assert probed["extra"]["profile"]["name"] == "TM-T20II"
    assert probed["extra"]["profile"]["native_qr"] is True
    assert probed["extra"]["transport"] == f"file {out}"


# -- USB: python-escpos' Usb opens the device, our status query uses the endpoints ----------


class FakeEndpoint:
    def __init__(self, address: int) -> None:
        self.bEndpointAddress = address
        self.bmAttributes = 0x02  # bulk


class _Backend:
    pass


class _Context:
    def dispose(self, device: Any, close_handle: bool = True) -> None:
        pass


class FakeUsbPrinter:
    """A USB printer-class device as pyusb shows it: bulk OUT 0x01, bulk IN 0x82."""

    backend = _Backend()
    _ctx = _Context()

    def __init__(self, stale: bytes = b"") -> None:
        self.received = bytearray()
        self.pending = bytearray(stale)
        self.answers = {1: 0x16, 2: 0x12, 3: 0x12, 4: 0x12}  # online, paper present

    def get_active_configuration(self) -> dict[tuple[int, int], list[FakeEndpoint]]:
        return {(0, 0): [FakeEndpoint(0x01), FakeEndpoint(0x82)]}

    def set_configuration(self) -> None:
        pass

    def reset(self) -> None:
        pass

    def is_kernel_driver_active(self, interface: int) -> bool:
        return False

    def write(self, endpoint: int, data: bytes, timeout: int | None = None) -> int:
        assert endpoint == 0x01
        self.received += bytes(data)
        for n, answer in self.answers.items():
            if bytes(data) == dle_eot(n):
                self.pending.append(answer)
        return len(data)

    def read(self, endpoint: int, size: int, timeout: int | None = None) -> Any:
        import usb.core

        assert endpoint == 0x82
        if not self.pending:
            raise usb.core.USBTimeoutError("timeout", 110, 110)
        out, self.pending[:] = bytes(self.pending[:size]), self.pending[size:]
        return bytearray(out)


def test_usb_printer_prints_and_answers_status_over_its_endpoints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import usb.core

    device = FakeUsbPrinter(stale=b"\x7f")  # a stale byte from an earlier query
    wanted: dict[str, Any] = {}

    def find(**kwargs: Any) -> FakeUsbPrinter:
        wanted.update(kwargs)
        return device

    monkeypatch.setattr(usb.core, "find", find)
    printer = open_printer("usb://04b8:0e15?profile=TM-T20II", name="usb")
    assert isinstance(printer.transport, UsbTransport)
    status = printer.status()
    assert wanted == {"idVendor": 0x04B8, "idProduct": 0x0E15}
    assert status.ready, status.reason  # the stale 0x7f was not taken as the answer
    result = printer.print_receipt(slip())
    assert result.confirmed and b"\x1d(k" in device.received  # TM-T20II: native QR
    device.answers[4] = 0x12 | 0x6C  # paper out (bits 2-3 and 5-6)
    out = printer.status()
    assert not out.ready and out.paper_out
    printer.close()


def test_an_unplugged_usb_printer_is_offline_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import usb.core

    monkeypatch.setattr(usb.core, "find", lambda **kwargs: None)
    status = open_printer("usb://04b8:0e15", name="usb").status()
    assert status.offline and not status.ready
    assert "USB printer 04b8:0e15 not found" in status.reason and "\n" not in status.reason


# -- lazy import, root logger, QR library ---------------------------------------------------


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
    )


def test_start_up_does_not_import_escpos_pyscard_or_pyusb() -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import kiosk.ui.lobby_app"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    modules = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert "kiosk.ui.lobby_app" in modules
    for heavy in ("escpos", "smartcard", "usb", "segno"):
        assert not any(m == heavy or m.startswith(heavy + ".") for m in modules), heavy


def test_using_escpos_leaves_the_root_logger_as_it_was(tmp_path: Path) -> None:
    result = _python(
        f"""
        import logging, json, sys
        root = logging.getLogger()
        root.setLevel(logging.ERROR)
        mine = logging.NullHandler()
        root.addHandler(mine)
        before = (list(root.handlers), root.level)
        import usb.core
        usb.core.find = lambda **kw: None
        from devices.printer import open_printer
        p = open_printer("usb://04b8:0e15?profile=TM-T20II", name="u")
        p.status()  # python-escpos' Usb.open logs through the root logger
        p.profile
        open_printer("file://{tmp_path}/x.bin?profile=POS-5890", name="f").print_receipt(
            __import__("devices.printer", fromlist=["Receipt"]).Receipt().qr("x"))
        assert "escpos" in sys.modules and "escpos.capabilities" in sys.modules
        print(json.dumps({{"same": (list(root.handlers), root.level) == before,
                           "handlers": [type(h).__name__ for h in root.handlers],
                           "level": root.level}}))
        """
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"same": True, "handlers": ["NullHandler"], "level": 40}
    assert "USB" not in result.stderr  # nothing logged through a handler escpos added


def test_escpos_capabilities_are_cached_in_the_kiosk_cache(tmp_path: Path) -> None:
    code = """
        import os
        from devices.printer.profiles import load_profile
        load_profile("TM-T20II")
        print(os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"])
        """
    env_home = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    env_home.pop("ESCPOS_CAPABILITIES_PICKLE_DIR", None)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env_home,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    cache = Path(result.stdout.strip())
    assert cache == tmp_path / "lobby-kiosk" / "escpos"
    assert list(cache.glob("*.capabilities.pickle"))


def test_qr_matrices_come_from_qrcode_and_scan() -> None:
    assert "segno" not in (REPO / "pyproject.toml").read_text()
    assert "qrcode" in (REPO / "pyproject.toml").read_text()
    code = QRCode("https://kiosk.example/p/8F3K2?estate=SG&t=1700000000")
    assert code.version == 4 and len(code.matrix) == 33 + 8  # version 4 + quiet zone
    import qrcode

    ref = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    ref.add_data(code.payload.encode())
    ref.make(fit=True)
    assert code.matrix == [[bool(v) for v in row] for row in ref.get_matrix()]
    rows = code.halfblock_rows()
    assert len(rows) == (len(code.matrix) + 1) // 2 and set("".join(rows)) <= set(" ▀▄█")
    with pytest.raises(ValueError, match="too long"):
        _ = QRCode("x" * 5000).matrix
