"""The printer adapter: one :class:`Printer` per configured URL, over serial, TCP, USB, file or
a sim.

Transports are written on pyserial and sockets directly rather than python-escpos' classes:
status needs "flush input, write 3 bytes, read exactly one byte within a short timeout", which
escpos' ``Serial``/``Network`` don't offer (they wait for the full timeout, read stale bytes,
and ``Network`` can block for a minute), and importing escpos costs 0.3 s and reconfigures the
root logger. Encoding is ours too (see :mod:`devices.printer.escpos`). python-escpos is used
for what it does well, loaded only when a printer needs it: its printer capability profiles
(:mod:`devices.printer.profiles`) and its USB transport (:class:`UsbTransport`).

"Confirmed" (``SendResult.confirmed``) means: every byte was written and drained to the wire,
and afterwards the printer answered ``DLE EOT 1`` (and 4) saying it is online with paper. A
real-time status answer is only produced by a powered, connected printer that has read our
bytes up to that point, so it proves delivery to the printer; it cannot prove ink on paper (a
jam after that moment is reported by the next status query). For ``file://`` it means the
bytes were appended and fsync'ed.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import termios
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from devices.printer.escpos import render_escpos
from devices.printer.profiles import PrinterProfile
from devices.printer.receipt import Receipt
from devices.printer.status import PrinterStatus, dle_eot, query_status
from devices.urls import DeviceURL, as_device_url

# termios.error (e.g. EIO from tcdrain on a vanished pty/USB port) is not an OSError.
PORT_ERRORS = (OSError, ValueError, termios.error)

CHUNK = 256


class PrinterError(Exception):
    """A job could not be delivered; ``bytes_sent`` says how far it got (0 = nothing sent)."""

    def __init__(self, message: str, bytes_sent: int = 0, status: PrinterStatus | None = None):
        super().__init__(message)
        self.bytes_sent = bytes_sent
        self.status = status


class PrinterNotReady(PrinterError):
    """The status check before a job said no (paper out, cover open, offline ...)."""


@dataclass(frozen=True)
class SendResult:
    """Outcome of :meth:`Printer.send`: see the module docstring for what confirmed means."""

    bytes_sent: int
    confirmed: bool
    status: PrinterStatus | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "bytes_sent": self.bytes_sent,
            "confirmed": self.confirmed,
            "status": self.status.to_dict() if self.status else None,
            "detail": self.detail,
        }


class Transport(Protocol):
    """Byte pipe to a printer. Methods raise OSError (incl. SerialException) on failure."""

    has_status: bool
    description: str

    def write(self, data: bytes) -> None: ...

    def drain(self) -> None: ...

    def ask(self, n: int, timeout: float) -> int | None: ...

    def close(self) -> None: ...

    def wire_seconds(self, size: int) -> float: ...


class SerialTransport:
    """A serial / USB-serial port (or a simulator's pty), opened lazily, reopened after errors."""

    has_status = True

    def __init__(self, path: str, baudrate: int = 9600, write_timeout: float = 30.0) -> None:
        self.path = path
        self.baudrate = baudrate
        self.write_timeout = write_timeout
        self.description = f"serial {path} @ {baudrate}"
        self._port: Any = None

    def _open(self) -> Any:
        if self._port is None:
            import serial

            self._port = serial.Serial(
                self.path, self.baudrate, timeout=0.5, write_timeout=self.write_timeout
            )
        return self._port

    def write(self, data: bytes) -> None:
        self._open().write(data)

    def drain(self) -> None:
        self._open().flush()

    def ask(self, n: int, timeout: float) -> int | None:
        port = self._open()
        port.reset_input_buffer()
        port.write(dle_eot(n))
        port.flush()
        port.timeout = timeout
        answer = port.read(1)
        return answer[0] if answer else None

    def wire_seconds(self, size: int) -> float:
        """Time ``size`` bytes take on the wire (10 bits a byte)."""
        return size * 10 / self.baudrate

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            with contextlib.suppress(OSError):
                port.close()


class TcpTransport:
    """A network printer's raw port (9100), with short connect and answer timeouts."""

    has_status = True

    def __init__(
        self, host: str, port: int, connect_timeout: float = 2.0, write_timeout: float = 30.0
    ) -> None:
        self.host, self.port = host, port
        self.connect_timeout = connect_timeout
        self.write_timeout = write_timeout
        self.description = f"tcp {host}:{port}"
        self._sock: socket.socket | None = None

    def _open(self) -> socket.socket:
        if self._sock is None:
            self._sock = socket.create_connection(
                (self.host, self.port), timeout=self.connect_timeout
            )
        return self._sock

    def write(self, data: bytes) -> None:
        sock = self._open()
        sock.settimeout(self.write_timeout)
        sock.sendall(data)

    def drain(self) -> None:
        pass  # sendall returned: the kernel has the bytes; the status answer confirms the rest

    def ask(self, n: int, timeout: float) -> int | None:
        sock = self._open()
        # Discard stale answers (e.g. from a previous query that timed out).
        while select.select([sock], [], [], 0)[0]:
            if not sock.recv(4096):
                raise ConnectionResetError("printer closed the connection")
        sock.settimeout(self.write_timeout)
        sock.sendall(dle_eot(n))
        sock.settimeout(timeout)
        try:
            answer = sock.recv(1)
        except TimeoutError:
            return None
        if not answer:
            raise ConnectionResetError("printer closed the connection")
        return answer[0]

    def wire_seconds(self, size: int) -> float:
        return 0.0

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


class FileTransport:
    """Append the ESC/POS bytes to a file (spool for another program, or tests)."""

    has_status = False

    def __init__(self, path: str) -> None:
        self.path = path
        self.description = f"file {path}"

    def write(self, data: bytes) -> None:
        with open(self.path, "ab") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    def drain(self) -> None:
        pass

    def ask(self, n: int, timeout: float) -> int | None:
        return None

    def wire_seconds(self, size: int) -> float:
        return 0.0

    def close(self) -> None:
        pass


class UsbTransport:
    """A USB receipt printer (printer class, bulk endpoints) through python-escpos' ``Usb``
    (pyusb): it finds the device by vendor/product id, detaches the kernel driver and sets the
    configuration. Writes and our status query go straight to the bulk endpoints of the
    configured interface: stale bytes are drained from the IN endpoint, ``DLE EOT n`` is
    written and the first byte read within the short timeout (python-escpos' own status
    reads wait the full timeout and take a stale byte as the answer).
    """

    has_status = True

    def __init__(
        self,
        vendor: int,
        product: int,
        interface: int = 0,
        profile: str = "",
        write_timeout: float = 30.0,
    ) -> None:
        self.vendor, self.product, self.interface = vendor, product, interface
        self.profile = profile
        self.write_timeout = write_timeout
        self.description = f"usb {vendor:04x}:{product:04x} interface {interface}"
        self._printer: Any = None
        self._out = 0x01
        self._in: int | None = None

    def _open(self) -> Any:
        if self._printer is not None:
            return self._printer.device
        from devices.printer.profiles import escpos_quietly, import_escpos

        printer_mod = import_escpos("printer")
        exceptions = import_escpos("exceptions")
        with escpos_quietly():
            printer = printer_mod.Usb(
                self.vendor,
                self.product,
                timeout=int(self.write_timeout * 1000),
                profile=self.profile or None,
            )
            try:
                printer.open()
            except exceptions.Error:  # DeviceNotFoundError: unplugged, no permission
                raise OSError(
                    f"USB printer {self.vendor:04x}:{self.product:04x} not found or not "
                    "accessible (unplugged, or no permission on the USB device)"
                ) from None
        device = printer.device
        if device is None:
            raise OSError(f"USB printer {self.vendor:04x}:{self.product:04x} not found")
        self._find_endpoints(device)
        printer.out_ep = self._out
        if self._in is not None:
            printer.in_ep = self._in
        self._printer = printer
        return device

    def _find_endpoints(self, device: Any) -> None:
        import usb.util

        try:
            intf = device.get_active_configuration()[(self.interface, 0)]
        except (KeyError, IndexError) as exc:
            raise OSError(f"USB printer has no interface {self.interface}") from exc
        out_ep = in_ep = None
        for ep in intf:
            direction = usb.util.endpoint_direction(ep.bEndpointAddress)
            bulk = usb.util.endpoint_type(ep.bmAttributes) == usb.util.ENDPOINT_TYPE_BULK
            if bulk and direction == usb.util.ENDPOINT_OUT and out_ep is None:
                out_ep = ep.bEndpointAddress
            elif bulk and direction == usb.util.ENDPOINT_IN and in_ep is None:
                in_ep = ep.bEndpointAddress
        if out_ep is None:
            raise OSError(f"USB interface {self.interface} has no bulk OUT endpoint")
        self._out, self._in = out_ep, in_ep
        self.has_status = in_ep is not None

    def write(self, data: bytes) -> None:
        self._open().write(self._out, data, int(self.write_timeout * 1000))

    def drain(self) -> None:
        pass  # the bulk write returned: the printer's USB side has the bytes

    def ask(self, n: int, timeout: float) -> int | None:
        import usb.core

        device = self._open()
        if self._in is None:
            return None
        for _ in range(16):  # discard stale answers (a previous query that timed out)
            try:
                if not device.read(self._in, 64, 1):
                    break
            except usb.core.USBTimeoutError:
                break
        device.write(self._out, dle_eot(n), int(self.write_timeout * 1000))
        try:
            answer = device.read(self._in, 64, max(1, int(timeout * 1000)))
        except usb.core.USBTimeoutError:
            return None
        return int(answer[0]) if len(answer) else None

    def wire_seconds(self, size: int) -> float:
        return 0.0

    def close(self) -> None:
        printer, self._printer = self._printer, None
        if printer is not None:
            from devices.printer.profiles import escpos_quietly

            with escpos_quietly(), contextlib.suppress(Exception):
                printer.close()


class Printer:
    """A receipt printer behind a URL. Thread-safe: one job or status query at a time."""

    def __init__(
        self,
        url: DeviceURL,
        transport: Transport,
        *,
        timeout: float | None = None,
        qr_mode: Literal["native", "image"] | None = None,
    ) -> None:
        self.url = url
        self.name = url.name
        self.timeout = url.timeout if timeout is None else timeout
        self._qr_mode: Literal["native", "image"] | None = qr_mode or (
            "image" if url.qr_mode == "image" else None
        )
        self.transport = transport
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Printer {self.name!r} {self.transport.description}>"

    @property
    def profile(self) -> PrinterProfile | None:
        """The python-escpos capability profile named by ``?profile=`` (loaded on first use:
        python-escpos is imported then, in the print worker, not at start-up)."""
        if not self.url.profile:
            return None
        from devices.printer.profiles import load_profile

        return load_profile(self.url.profile)

    @property
    def paper_mm(self) -> int:
        """58 or 80: the URL's ``paper=``, else the profile's width, else 80."""
        if "paper" in self.url.options:
            return self.url.paper_mm
        profile = self.profile
        return (profile.paper_mm if profile else None) or self.url.paper_mm

    @property
    def qr_mode(self) -> Literal["native", "image"]:
        """'image' when asked for, or when the profile says the model has no native QR."""
        if self._qr_mode is not None:
            return self._qr_mode
        profile = self.profile
        return "image" if profile is not None and not profile.native_qr else "native"

    def render(self, receipt: Receipt) -> bytes:
        """ESC/POS bytes of ``receipt`` for this printer (paper, QR mode, profile)."""
        profile = self.profile
        return render_escpos(
            receipt,
            self.paper_mm,
            self.qr_mode,
            max_dots=profile.width_dots if profile else None,
            cutter=profile.cut if profile else True,
        )

    def _fail(self, what: str, exc: BaseException) -> str:
        self.transport.close()  # reopen on the next call: the port may come back
        return f"printer {self.name!r} ({self.transport.description}): {what}: {exc}"

    def _status_locked(self) -> PrinterStatus:
        if not self.transport.has_status:
            return PrinterStatus(ready=True, reason="file output (no status channel)")
        try:
            return self._query()
        except PORT_ERRORS as exc:
            # ValueError: pyserial raises it for operations on a port closed underneath it.
            return PrinterStatus(ready=False, offline=True, reason=self._fail("not reachable", exc))

    def _query(self, first_wait: float = 0.0) -> PrinterStatus:
        waits = [first_wait]

        def ask(n: int) -> int | None:
            # The first answer after a job may wait behind bytes still in the USB-serial
            # adapter's FIFO (tcdrain returns when the driver, not the wire, is done).
            extra = waits.pop() if waits else 0.0
            return self.transport.ask(n, self.timeout + extra)

        return query_status(ask)

    def status(self) -> PrinterStatus:
        """Ask the printer (DLE EOT 1..4, short timeouts). Never raises: unreachable = offline."""
        with self._lock:
            return self._status_locked()

    def send(self, data: bytes, *, confirm: bool = True) -> SendResult:
        """Write ``data``; with ``confirm``, ask the status afterwards (see module docstring).

        Raises :class:`PrinterError` (with ``bytes_sent``) when the connection fails or is lost
        mid-job, e.g. the cable is pulled.
        """
        with self._lock:
            sent = 0
            try:
                for i in range(0, len(data), CHUNK):
                    chunk = data[i : i + CHUNK]
                    self.transport.write(chunk)
                    sent += len(chunk)
                self.transport.drain()
            except PORT_ERRORS as exc:
                what = (
                    "could not send"
                    if sent == 0
                    else f"connection lost after {sent} of {len(data)} bytes"
                )
                raise PrinterError(self._fail(what, exc), bytes_sent=sent) from exc
            if not self.transport.has_status:
                return SendResult(sent, True, None, "appended to file")
            if not confirm:
                return SendResult(sent, False, None, "sent, not confirmed")
            try:
                status = self._query(first_wait=self.transport.wire_seconds(sent))
            except PORT_ERRORS as exc:
                # Written into the OS buffers, but the link broke before the printer answered:
                # the job may be cut short on paper. Treat it as not printed.
                raise PrinterError(
                    self._fail(f"connection lost before the printer confirmed {sent} bytes", exc),
                    bytes_sent=sent,
                ) from exc
            if status.ready:
                return SendResult(sent, True, status, "sent and confirmed by DLE EOT")
            return SendResult(sent, False, status, f"sent, not confirmed: {status.reason}")

    def print_receipt(self, receipt: Receipt, *, check: bool = True) -> SendResult:
        """Check status, render for this printer's paper and QR mode, send, confirm.

        Raises :class:`PrinterNotReady` (nothing sent) when the check fails, and
        :class:`PrinterError` when the transfer fails.
        """
        data = self.render(receipt)
        if check:
            status = self.status()
            if not status.ready:
                raise PrinterNotReady(
                    f"printer {self.name!r} not ready: {status.reason}", status=status
                )
        return self.send(data)

    def close(self) -> None:
        """Release the port / connection."""
        with self._lock:
            self.transport.close()

    def __enter__(self) -> Printer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_printer(
    url: DeviceURL | str,
    *,
    name: str = "printer",
    timeout: float | None = None,
    connect_timeout: float = 2.0,
    write_timeout: float = 30.0,
) -> Printer:
    """A :class:`Printer` for ``url`` (``sim://printer`` starts an in-process simulator).

    Nothing is opened yet: the port is opened on first use, so a printer that is off at
    startup does not stop the kiosk.
    """
    dev = as_device_url(url, name)
    if dev.kind != "printer":
        raise ValueError(f"device {dev.name!r}: {dev.url} is a card reader, not a printer")
    transport: Transport
    if dev.scheme == "serial":
        transport = SerialTransport(dev.path, dev.baudrate, write_timeout)
    elif dev.scheme == "tcp":
        transport = TcpTransport(dev.host, dev.port, connect_timeout, write_timeout)
    elif dev.scheme == "file":
        transport = FileTransport(dev.path)
    elif dev.scheme == "usb":
        vendor, product = dev.usb_ids
        transport = UsbTransport(vendor, product, dev.usb_interface, dev.profile, write_timeout)
    elif dev.scheme == "sim":
        from devices.sim import ensure_sim

        transport = SerialTransport(ensure_sim(dev), dev.baudrate, write_timeout)
    else:
        raise ValueError(f"device {dev.name!r}: scheme {dev.scheme!r} is not a printer transport")
    return Printer(dev, transport, timeout=timeout)


def wait_ready(printer: Printer, timeout: float, interval: float = 0.05) -> PrinterStatus:
    """Poll :meth:`Printer.status` until ready or ``timeout`` seconds passed; the last status."""
    deadline = time.monotonic() + timeout
    status = printer.status()
    while not status.ready and time.monotonic() < deadline:
        time.sleep(interval)
        status = printer.status()
    return status
