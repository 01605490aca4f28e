"""Device URLs: every documented form parses; mistakes name the device and what is expected."""

from __future__ import annotations

import pytest

from devices.urls import DeviceURLError, parse_device_url


@pytest.mark.parametrize(
    ("url", "scheme", "kind", "attrs"),
    [
        ("sim://printer", "sim", "printer", {"paper_mm": 80}),
        ("sim://printer?paper=58", "sim", "printer", {"paper_mm": 58}),
        ("serial:///dev/ttyUSB0?baudrate=19200", "serial", "printer", {"path": "/dev/ttyUSB0", "baudrate": 19200}),
        ("tcp://10.0.0.5:9100", "tcp", "printer", {"host": "10.0.0.5", "port": 9100}),
        ("tcp://printer.lobby", "tcp", "printer", {"host": "printer.lobby", "port": 9100}),
        ("file:///var/spool/kiosk/receipts.bin", "file", "printer", {"path": "/var/spool/kiosk/receipts.bin"}),
        ("sim://card?protocol=rdm6300", "sim", "card", {"protocol": "rdm6300"}),
        ("serial:///dev/ttyUSB1?protocol=pn532", "serial", "card", {"protocol": "pn532", "path": "/dev/ttyUSB1"}),
        ("keyboard://", "keyboard", "card", {"protocol": "wedge"}),
    ],
)  # fmt: skip
def test_documented_url_forms_parse(url: str, scheme: str, kind: str, attrs: dict) -> None:
    dev = parse_device_url("dev", url)
    assert (dev.scheme, dev.kind, dev.name) == (scheme, kind, "dev")
    for key, value in attrs.items():
        assert getattr(dev, key) == value


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://x", "unknown scheme 'ftp' (expected sim, serial, tcp, file, keyboard)"),
        ("sim://printer?paper=57", "paper='57' (expected 58 or 80)"),
        ("serial:///dev/ttyUSB0?baudrate=fast", "baudrate='fast'"),
        ("serial:///dev/ttyUSB1?protocol=mifare", "protocol='mifare'"),
        ("sim://toaster", "sim target 'toaster'"),
        ("tcp://:9100", "no host"),
        ("serial://dev/ttyUSB0", "has a host part"),
        ("sim://printer?colour=red", "unknown option 'colour'"),
        ("printer", "is not a device URL"),
        ("sim://card?protocol=pn532&debounce=x", "debounce='x'"),
    ],
)
def test_bad_urls_name_the_device_and_what_is_expected(url: str, fragment: str) -> None:
    with pytest.raises(DeviceURLError) as err:
        parse_device_url("printer", url)
    assert str(err.value).startswith("device 'printer': ")
    assert fragment in str(err.value)
