"""Device URLs: one string per device in the config names the transport and its options.

Accepted forms::

    sim://printer                          simulated printer (in-process, on a pty)
    sim://printer?paper=58                 ... with 58 mm paper
    serial:///dev/ttyUSB0?baudrate=19200   printer on a serial / USB-serial port
    tcp://10.0.0.5:9100                    network printer (raw port 9100)
    file:///var/spool/kiosk/receipt.bin    append the ESC/POS bytes to a file
    sim://card?protocol=rdm6300            simulated card reader
    serial:///dev/ttyUSB1?protocol=pn532   card reader on a serial port
    keyboard://                            keyboard-wedge card reader (keys come from the UI)
    usb://04b8:0e15?profile=TM-T20II       USB receipt printer (pyusb, via python-escpos)
    pcsc://?reader=ACS%20ACR122U           PC/SC desk reader (pyscard); no reader = the first
    tcp://10.0.0.5:9100?profile=POS-5890   any printer URL can name a python-escpos profile

The kind ('printer' or 'card') follows from the URL: ``sim://printer`` / ``sim://card``, a
``protocol`` option or the ``keyboard`` / ``pcsc`` scheme mean a card reader, everything else
(``usb`` included) a printer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar, overload
from urllib.parse import parse_qsl, urlsplit

SCHEMES = ("sim", "serial", "tcp", "file", "keyboard", "usb", "pcsc")
PROTOCOLS = ("rdm6300", "pn532", "rc5xx", "wiegand", "wedge")
PAPER_WIDTHS = (58, 80)
QR_MODES = ("native", "image")
BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)

DeviceKind = Literal["printer", "card"]
T = TypeVar("T")

# Which options each kind understands; anything else is a typo worth reporting at startup.
_PRINTER_OPTIONS = {"paper", "baudrate", "timeout", "qr", "profile"}
_CARD_OPTIONS = {"protocol", "baudrate", "debounce"}
_USB_OPTIONS = {"paper", "timeout", "qr", "profile", "interface"}
_PCSC_OPTIONS = {"reader", "debounce"}
_USB_ID = re.compile(r"([0-9a-fA-F]{4}):([0-9a-fA-F]{4})")


class DeviceURLError(ValueError):
    """A device URL that cannot be used; the message names the device and what is expected."""


class _Option(Generic[T]):
    """A read-only typed attribute of :class:`DeviceURL` for one query option: ``convert`` of
    the option's string, or of ``default`` when the URL does not give it."""

    def __init__(self, key: str, default: str, convert: Callable[[str], T], doc: str) -> None:
        self.key, self.default, self.convert, self.__doc__ = key, default, convert, doc

    @overload
    def __get__(self, url: None, owner: type[DeviceURL]) -> _Option[T]: ...
    @overload
    def __get__(self, url: DeviceURL, owner: type[DeviceURL]) -> T: ...
    def __get__(self, url: DeviceURL | None, owner: type[DeviceURL]) -> T | _Option[T]:
        if url is None:
            return self
        return self.convert(url.options.get(self.key, self.default))


@dataclass(frozen=True)
class DeviceURL:
    """A parsed device URL.

    ``path`` is the serial device or file path, ``host``/``port`` the network address; the
    ``options`` dict holds the validated query options as strings (see the ``paper``,
    ``baudrate``, ``protocol`` ... properties for typed access).
    """

    name: str
    url: str
    scheme: str
    kind: DeviceKind
    path: str = ""
    host: str = ""
    port: int = 0
    options: dict[str, str] = field(default_factory=dict)

    # Typed options (see :class:`_Option`): the value given, else the default.
    paper_mm = _Option("paper", "80", int, "Paper width in mm (58 or 80; 80 when not given).")
    baudrate = _Option("baudrate", "9600", int, "Serial speed (9600 when not given).")
    timeout = _Option(
        "timeout", "0.3", float, "Status/answer timeout in seconds (0.3 when not given)."
    )
    qr_mode = _Option(
        "qr", "native", str, "'native' (GS ( k, default) or 'image' (raster) QR codes."
    )
    profile = _Option(
        "profile", "", str, "python-escpos printer profile name ('' = none: our defaults)."
    )
    usb_interface = _Option(
        "interface",
        "0",
        int,
        "USB interface number whose bulk endpoints carry the printer data (0 by default).",
    )
    reader = _Option("reader", "", str, "PC/SC reader name ('' = the first reader present).")
    debounce = _Option(
        "debounce", "1.0", float, "Seconds a held card counts as one tap (1.0 when not given)."
    )

    @property
    def protocol(self) -> str:
        """Card reader frame protocol ('wedge' for keyboard://, rdm6300 by default)."""
        if self.scheme == "keyboard":
            return "wedge"
        if self.scheme == "pcsc":
            return "pcsc"
        return self.options.get("protocol", "rdm6300")

    @property
    def usb_ids(self) -> tuple[int, int]:
        """(vendor, product) of a ``usb://VID:PID`` URL."""
        vid, _, pid = self.host.partition(":")
        return int(vid, 16), int(pid, 16)


def _fail(name: str, what: str) -> DeviceURLError:
    return DeviceURLError(f"device {name!r}: {what}")


def _check_options(name: str, kind: DeviceKind, options: dict[str, str], scheme: str = "") -> None:
    allowed = {"usb": _USB_OPTIONS, "pcsc": _PCSC_OPTIONS}.get(
        scheme, _PRINTER_OPTIONS if kind == "printer" else _CARD_OPTIONS
    )
    what = f"a {scheme}:// {kind}" if scheme in ("usb", "pcsc") else f"a {kind}"
    for key in options:
        if key not in allowed:
            raise _fail(
                name, f"unknown option {key!r} for {what} (expected {', '.join(sorted(allowed))})"
            )
    if "profile" in options:
        from devices.printer.profiles import ProfileError, check_profile_name

        try:
            check_profile_name(options["profile"])
        except ProfileError as exc:
            raise _fail(name, str(exc)) from None
    if "interface" in options and not (
        options["interface"].isdigit() and 0 <= int(options["interface"]) <= 255
    ):
        raise _fail(name, f"interface={options['interface']!r} (expected a number 0..255)")
    if "reader" in options and not options["reader"].strip():
        raise _fail(name, "reader= is empty (expected a PC/SC reader name, or leave it out)")
    if "paper" in options and options["paper"] not in {str(w) for w in PAPER_WIDTHS}:
        raise _fail(name, f"paper={options['paper']!r} (expected 58 or 80)")
    if "baudrate" in options and options["baudrate"] not in {str(b) for b in BAUDRATES}:
        raise _fail(
            name,
            f"baudrate={options['baudrate']!r} (expected one of {', '.join(map(str, BAUDRATES))})",
        )
    if "protocol" in options and options["protocol"] not in PROTOCOLS:
        raise _fail(
            name, f"protocol={options['protocol']!r} (expected one of {', '.join(PROTOCOLS)})"
        )
    if "qr" in options and options["qr"] not in QR_MODES:
        raise _fail(name, f"qr={options['qr']!r} (expected native or image)")
    for key, low, high in (("timeout", 0.01, 30.0), ("debounce", 0.0, 60.0)):
        if key in options:
            try:
                value = float(options[key])
            except ValueError:
                value = float("nan")
            if not low <= value <= high:
                raise _fail(
                    name, f"{key}={options[key]!r} (expected seconds between {low} and {high})"
                )


def _shown(url: str, limit: int = 80) -> str:
    """``url`` quoted for a one-line message (long ones cut)."""
    return repr(url if len(url) <= limit else url[:limit] + "...")


def parse_device_url(name: str, url: str) -> DeviceURL:
    """Parse and validate one configured device URL.

    Raises :class:`DeviceURLError` naming the device and what was expected, and only that:
    whatever the string, a bad URL is one line of error, never a traceback.
    """
    if not isinstance(url, str) or "://" not in url:
        shown = _shown(url) if isinstance(url, str) else repr(url)
        raise _fail(name, f"{shown} is not a device URL (expected e.g. sim://printer)")
    if any(ch < " " or ch == "\x7f" for ch in url):
        raise _fail(name, f"{_shown(url)} contains control characters")
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
    except ValueError as exc:  # 'Invalid IPv6 URL', bad characters under NFKC ...
        raise _fail(name, f"malformed URL {_shown(url)} ({exc})") from None
    if scheme not in SCHEMES:
        raise _fail(name, f"unknown scheme {scheme!r} (expected {', '.join(SCHEMES)})")
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        raise _fail(name, f"malformed options {parts.query!r} (expected key=value&...)") from exc
    options = {k.lower(): v for k, v in pairs}

    kind: DeviceKind
    path = host = ""
    port = 0
    if scheme == "keyboard":
        kind = "card"
    elif scheme == "pcsc":
        kind = "card"
        if parts.netloc or parts.path not in ("", "/") or parts.fragment:
            raise _fail(name, f"{_shown(url)} has more than options (expected pcsc://?reader=NAME)")
    elif scheme == "usb":
        kind = "printer"
        ids = _USB_ID.fullmatch(parts.netloc)
        if ids is None or parts.path not in ("", "/") or parts.fragment:
            raise _fail(
                name, f"{_shown(url)} is not usb://VID:PID (expected e.g. usb://04b8:0e15, "
                "four hex digits each, as lsusb shows them)"
            )  # fmt: skip
        host = f"{ids.group(1).lower()}:{ids.group(2).lower()}"
        if host.startswith("0000:") or host.endswith(":0000"):
            raise _fail(name, f"{_shown(url)}: vendor and product ids cannot be 0000")
    elif scheme == "sim":
        target = (parts.netloc or parts.path.strip("/")).lower()
        if target not in ("printer", "card"):
            raise _fail(name, f"sim target {target!r} (expected sim://printer or sim://card)")
        kind = "printer" if target == "printer" else "card"
        path = target
    elif scheme == "tcp":
        kind = "printer"
        try:
            host, port = parts.hostname or "", parts.port or 9100
        except ValueError:  # not a number, out of 0..65535, '[foo]' that is no IPv6 address
            raise _fail(
                name, f"bad host or port in {_shown(url)} (expected tcp://HOST:PORT)"
            ) from None
        if not host:
            raise _fail(name, f"no host in {_shown(url)} (expected tcp://HOST:9100)")
        if parts.port == 0:
            raise _fail(name, f"port 0 in {_shown(url)} (expected 1..65535, e.g. 9100)")
        if parts.username is not None or parts.path not in ("", "/") or parts.fragment:
            raise _fail(name, f"{_shown(url)} has more than a host and port (expected "
                        "tcp://HOST:PORT)")  # fmt: skip
    else:  # serial, file
        path = parts.path
        if parts.netloc:  # serial://dev/ttyUSB0 (two slashes) is a common slip; say so
            raise _fail(name, f"{_shown(url)} has a host part (expected {scheme}:///absolute/path)")
        if not path.startswith("/"):
            raise _fail(name, f"{_shown(url)} needs an absolute path (expected {scheme}:///path)")
        kind = "card" if scheme == "serial" and "protocol" in options else "printer"

    _check_options(name, kind, options, scheme)
    return DeviceURL(
        name=name,
        url=url,
        scheme=scheme,
        kind=kind,
        path=path,
        host=host,
        port=port,
        options=options,
    )


def as_device_url(url: DeviceURL | str, name: str) -> DeviceURL:
    """Return ``url`` parsed (strings are parsed with ``name`` as the device name)."""
    return url if isinstance(url, DeviceURL) else parse_device_url(name, url)
