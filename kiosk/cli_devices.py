"""``kiosk devices ...`` and ``kiosk receipt ...``: typer sub-apps mounted by :mod:`kiosk.cli`.

Exit codes: 0 success, 1 refused / invalid input (one-line reason on stderr), 2 usage error.
``--json`` prints one JSON document on stdout. Heavy imports stay inside the commands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from kiosk.commands import ConfigOpt, JsonOpt
from kiosk.commands import fail as _fail

devices_app = typer.Typer(help="Printers and card readers: list, probe, decode, simulate.")
receipt_app = typer.Typer(help="Receipts: decode an ESC/POS byte stream.")


def _emit(data: Any, as_json: bool, text: str) -> None:
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif text:
        typer.echo(text)


def device_urls_from_config(config: Path | None = None) -> dict[str, str]:
    """Configured devices (name -> URL) from ``kiosk.config``; ``{}`` when it can't be imported.

    Config errors propagate (the command reports them as one line, exit 1).
    """
    try:
        from kiosk.config import load_settings
    except ImportError:
        return {}
    settings = load_settings(config)
    return dict(getattr(settings, "devices", {}) or {})


def _devices_or_fail(config: Path | None) -> dict[str, str]:
    try:
        return device_urls_from_config(config)
    except Exception as exc:  # ConfigError and friends: one line, not a traceback
        _fail(f"bad config: {exc}")


@devices_app.command("list")
def list_devices(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """List the configured devices with their kind and transport."""
    from devices.urls import DeviceURLError, parse_device_url

    rows = []
    for name, url in _devices_or_fail(config).items():
        try:
            dev = parse_device_url(name, url)
            rows.append({"name": name, "url": url, "kind": dev.kind, "scheme": dev.scheme,
                         "transport": _transport(dev), "profile": dev.profile,
                         "reader": dev.reader if dev.scheme == "pcsc" else "",
                         "valid": True, "error": ""})  # fmt: skip
        except DeviceURLError as exc:
            rows.append({"name": name, "url": url, "kind": "?", "scheme": "?", "transport": "?",
                         "profile": "", "reader": "", "valid": False,
                         "error": str(exc)})  # fmt: skip

    def line(r: dict[str, Any]) -> str:
        extra = "".join(
            f"  {key}={r[key]}"
            for key in ("transport", "profile", "reader")
            if r[key] and r["valid"]
        )
        return f"{r['name']:12} {r['kind']:8} {r['url']}{extra}" + (
            f"  !! {r['error']}" if r["error"] else ""
        )

    text = "\n".join(line(r) for r in rows)
    _emit({"devices": rows}, as_json, text or "no devices configured")
    bad = [r for r in rows if not r["valid"]]
    if bad:
        _fail(str(bad[0]["error"]))


def _transport(dev: Any) -> str:
    """How the kiosk reaches the device, in a few words (no I/O)."""
    if dev.scheme == "usb":
        vendor, product = dev.usb_ids
        return f"usb {vendor:04x}:{product:04x} (pyusb)"
    if dev.scheme == "pcsc":
        return "pcsc (pyscard)"
    if dev.scheme == "tcp":
        return f"tcp {dev.host}:{dev.port}"
    if dev.scheme == "serial":
        return f"serial {dev.path}"
    return dev.scheme


@devices_app.command("profiles")
def profiles(as_json: JsonOpt = False) -> None:
    """Printer profiles known to python-escpos (use one with ``?profile=NAME``)."""
    from devices.printer.profiles import load_profile, profile_names

    found = [load_profile(name) for name in profile_names()]
    _emit(
        {"profiles": [p.to_dict() for p in found]},
        as_json,
        "\n".join(p.summary() for p in found) or "python-escpos is not installed",
    )


@devices_app.command("probe")
def probe(
    name: Annotated[str | None, typer.Argument(help="Only this device.")] = None,
    config: ConfigOpt = None,
    timeout: Annotated[float, typer.Option(help="Answer timeout in seconds.")] = 0.3,
    as_json: JsonOpt = False,
) -> None:
    """Ask each printer for its status and check each card reader's port; exit 1 if any fails."""
    from devices.probe import probe_all

    devices = _devices_or_fail(config)
    if name is not None:
        if name not in devices:
            known = ", ".join(devices) or "none configured"
            _fail(f"no device {name!r} (known: {known})")
        devices = {name: devices[name]}
    results = probe_all(devices, timeout)
    text = "\n".join(
        f"{r.name:12} {r.kind:8} {'ok ' if r.ok else 'FAIL'} {r.detail}"
        + (f"  ({r.extra['transport']})" if r.extra.get("transport") else "")
        for r in results
    )
    _emit({"devices": [r.to_dict() for r in results]}, as_json, text or "no devices configured")
    failed = [r for r in results if not r.ok]
    if failed:
        _fail(f"{len(failed)} of {len(results)} devices not ready: "
              + "; ".join(f"{r.name} ({r.detail})" for r in failed))  # fmt: skip


def _decode_file(file: Path) -> Any:
    from devices.receipt_decode import decode_escpos

    try:
        data = file.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror or exc}")
    decoded = decode_escpos(data)
    if decoded.empty:
        _fail(f"{file}: no printable ESC/POS content ({len(data)} bytes)")
    return decoded


def _printable(text: str) -> str:
    """``text`` for the terminal: control characters (ESC sequences in a QR payload) escaped."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _decode_command(file: Path, png: Path | None, as_json: bool) -> None:
    decoded = _decode_file(file)
    if png is not None:
        from devices.receipt_decode import to_png

        try:
            to_png(decoded).save(png, format="PNG")
        except OSError as exc:
            _fail(f"cannot write {png}: {exc.strerror or exc}")
    data = decoded.to_dict()
    if png is not None:
        data["png"] = str(png)
    lines = [*decoded.lines, *(f"[QR] {_printable(q)}" for q in decoded.qr_codes)]
    lines += [f"[barcode] {b}" for b in decoded.barcodes]
    lines += [f"[image {i.width}x{i.height}]" for i in decoded.images]
    _emit(data, as_json, "\n".join(lines))
    if not as_json:  # say when the stream was cut off at the end of a roll
        for warning in decoded.warnings:
            if "longer than a roll" in warning:
                typer.echo(f"kiosk: warning: {warning}", err=True)


FileArg = Annotated[Path, typer.Argument(help="ESC/POS byte stream (e.g. a file:// printer).")]
PngOpt = Annotated[Path | None, typer.Option("--png", help="Also write a PNG preview here.")]


@devices_app.command("decode")
def devices_decode(file: FileArg, png: PngOpt = None, as_json: JsonOpt = False) -> None:
    """Decode an ESC/POS byte stream to text (same as ``kiosk receipt decode``)."""
    _decode_command(file, png, as_json)


@receipt_app.command("decode")
def receipt_decode(file: FileArg, png: PngOpt = None, as_json: JsonOpt = False) -> None:
    """Decode an ESC/POS byte stream: text lines, QR payloads, cuts; optional PNG preview."""
    _decode_command(file, png, as_json)


@receipt_app.command("last")
def receipt_last(
    png: PngOpt = None,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Where simulated printers keep slips (default var/receipts)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The latest slip a simulated printer printed (kept by ``kiosk demo``): text and QR."""
    import os

    from devices.sim.printer import RECEIPTS_ENV

    where = directory or Path(os.environ.get(RECEIPTS_ENV) or "var/receipts")
    slips = sorted(p for p in where.glob("*.bin") if p.stem.isdigit())
    if not slips:
        _fail(f"no slips in {where} (simulated printers keep them while `kiosk demo` runs)")
    if not as_json:
        typer.echo(f"{slips[-1]}:")
    _decode_command(slips[-1], png, as_json)


@devices_app.command("sim")
def sim(
    printer: Annotated[
        list[str] | None, typer.Option("--printer", help="Simulated printer name (repeatable).")
    ] = None,
    card: Annotated[
        list[str] | None,
        typer.Option(
            "--card",
            help="Simulated reader NAME=PROTOCOL or PROTOCOL (rdm6300, pn532, rc5xx, "
            "wiegand, wedge; repeatable).",
        ),
    ] = None,
) -> None:
    """Run simulators on ptys and print their serial URLs; Enter taps a card, `quit` stops."""
    from devices.sim.console import run_console, start_sims
    from devices.urls import PROTOCOLS

    cards: dict[str, str] = {}
    for i, spec in enumerate(card or (["card=rdm6300"] if not printer else [])):
        name, _, protocol = spec.rpartition("=")
        if protocol not in PROTOCOLS:
            _fail(f"--card {spec!r}: unknown protocol (expected {', '.join(PROTOCOLS)})")
        cards[name or (f"card{i + 1}" if i else "card")] = protocol
    printers = printer if printer is not None else (["printer"] if not card else [])
    sims = start_sims(printers, cards)
    try:
        run_console(sims, sys.stdin, sys.stdout)
    finally:
        for s in sims.values():
            s.stop()
