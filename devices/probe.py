"""Probing configured devices: is the printer ready, does the reader's port open and answer.

Used by ``kiosk devices probe`` and ``kiosk doctor``; every probe is bounded by short
timeouts and never raises for a device problem (the problem is the result).
"""

from __future__ import annotations

import termios
from dataclasses import asdict, dataclass, field
from typing import Any

from devices.urls import DeviceURL, DeviceURLError, as_device_url


@dataclass(frozen=True)
class ProbeResult:
    """One device's probe: ``ok`` and a one-line ``detail``; ``status`` for printers."""

    name: str
    url: str
    kind: str
    ok: bool
    detail: str
    status: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)


def probe_device(name: str, url: DeviceURL | str, timeout: float = 0.3) -> ProbeResult:
    """Probe one device (printer status; card reader port open, PN532 firmware answer)."""
    raw = url.url if isinstance(url, DeviceURL) else url
    try:
        dev = as_device_url(url, name)
    except DeviceURLError as exc:
        return ProbeResult(name, str(raw), "?", False, str(exc))
    if dev.kind == "printer":
        from devices.printer import open_printer

        printer = open_printer(dev, timeout=timeout, connect_timeout=max(timeout, 1.0))
        extra: dict[str, Any] = {"transport": printer.transport.description}
        try:
            status = printer.status()
            profile = printer.profile
            if profile is not None:
                extra["profile"] = profile.to_dict()
                extra["qr"] = printer.qr_mode
        finally:
            printer.close()
        detail = status.reason
        if profile is not None:
            detail = f"{detail} [{profile.summary()}]" if detail else profile.summary()
        return ProbeResult(
            name, dev.url, "printer", status.ready, detail, status=status.to_dict(), extra=extra
        )
    return _probe_reader(dev, timeout)


def _probe_reader(dev: DeviceURL, timeout: float) -> ProbeResult:
    if dev.scheme == "keyboard":
        return ProbeResult(dev.name, dev.url, "card", True, "keyboard wedge: keys come from the UI")
    if dev.scheme == "pcsc":
        from devices.cards.pcsc import probe_pcsc

        ok, detail, extra = probe_pcsc(dev)
        return ProbeResult(dev.name, dev.url, "card", ok, detail, extra=extra)
    import serial

    from devices.cards import pn532
    from devices.cards.reader import PROTOCOLS

    proto = PROTOCOLS[dev.protocol]
    if dev.scheme == "sim":
        from devices.sim import ensure_sim

        path = ensure_sim(dev)
    else:
        path = dev.path
    baudrate = int(dev.options.get("baudrate", proto.baudrate))
    try:
        with serial.Serial(path, baudrate, timeout=timeout) as port:
            if dev.protocol != "pn532":
                return ProbeResult(
                    dev.name, dev.url, "card", True, f"{path} opens at {baudrate} baud"
                )
            port.reset_input_buffer()
            port.write(pn532.WAKEUP + pn532.get_firmware_version())
            answer = port.read(6 + 13)
    except (serial.SerialException, OSError, ValueError, termios.error) as exc:
        return ProbeResult(dev.name, dev.url, "card", False, f"cannot open {path}: {exc}")
    for frame in pn532.parse_frames(answer).items:
        if frame.kind == "data" and frame.command == 0x03 and len(frame.data) >= 5:
            ic, ver, rev = frame.data[1:4]
            return ProbeResult(
                dev.name,
                dev.url,
                "card",
                True,
                f"PN5{ic:02X} firmware {ver}.{rev} on {path}",
                extra={"ic": ic, "version": f"{ver}.{rev}"},
            )
    return ProbeResult(
        dev.name, dev.url, "card", False, f"no PN532 answer on {path} (wiring, baud rate?)"
    )


def probe_all(devices: dict[str, str], timeout: float = 0.3) -> list[ProbeResult]:
    """Probe every ``name -> URL`` in order."""
    return [probe_device(name, url, timeout) for name, url in devices.items()]
