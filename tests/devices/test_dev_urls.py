"""Device URLs: every documented form parses; mistakes name the device and what is expected."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.urls import SCHEMES, DeviceURLError, parse_device_url


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
        ("ftp://x", "unknown scheme 'ftp' (expected sim, serial, tcp, file, keyboard, usb, pcsc)"),
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


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("tcp://[foo]:9100", "malformed URL 'tcp://[foo]:9100'"),
        ("tcp://[::1:9100", "malformed URL 'tcp://[::1:9100' (Invalid IPv6 URL)"),
        ("tcp://printer]:9100", "malformed URL"),
        ("tcp://10.0.0.5:65536", "bad host or port in 'tcp://10.0.0.5:65536'"),
        ("tcp://10.0.0.5:-1", "bad host or port in 'tcp://10.0.0.5:-1'"),
        ("tcp://10.0.0.5:99999999999999999999", "bad host or port"),
        ("tcp://10.0.0.5:0", "port 0 in 'tcp://10.0.0.5:0'"),
        ("tcp://admin@10.0.0.5:9100", "has more than a host and port"),
        ("tcp://10.0.0.5:9100/queue", "has more than a host and port"),
        ("tcp://ｈ℀:9100", "malformed URL"),
        ("gopher://printer", "unknown scheme 'gopher'"),
        ("://printer", "unknown scheme ''"),
        ("serial:///dev/ttyUSB0\x00", "contains control characters"),
        ("serial:///dev/ttyUSB0?baudrate=９６００", "baudrate='９６００'"),
        ("sim://printer?timeout=1e999", "timeout='1e999'"),
    ],
)
def test_malformed_urls_are_one_line_naming_the_url(url: str, fragment: str) -> None:
    with pytest.raises(DeviceURLError) as err:
        parse_device_url("printer", url)
    message = str(err.value)
    assert message.startswith("device 'printer': ") and fragment in message
    assert "\n" not in message
    assert err.value.__cause__ is None or isinstance(err.value.__cause__, ValueError)


def test_an_ipv6_printer_address_still_parses() -> None:
    dev = parse_device_url("printer", "tcp://[fe80::1]:9100")
    assert (dev.host, dev.port) == ("fe80::1", 9100)


_URL_ALPHABET = st.sampled_from(list("[]:/?&=@#%.-_ ") + ["://", "tcp", "sim", "serial", "file"])
_URLS = st.one_of(
    st.text(),
    st.builds(
        "".join,
        st.lists(st.one_of(_URL_ALPHABET, st.text(max_size=3), st.integers().map(str))),
    ),
    st.builds(lambda scheme, rest: f"{scheme}://{rest}", st.sampled_from(SCHEMES), st.text()),
)


@settings(max_examples=400, deadline=None)
@given(_URLS)
def test_any_string_parses_or_raises_only_the_url_error(url: str) -> None:
    try:
        dev = parse_device_url("printer", url)
    except DeviceURLError as exc:
        assert str(exc).startswith("device 'printer': ")
    else:
        assert dev.scheme in SCHEMES and dev.kind in ("printer", "card")
        assert 0 <= dev.port <= 65535
