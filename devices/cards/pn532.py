"""PN532 NFC controller over HSU (UART, 115200 8N1).

Normal information frame: ``00 00 FF LEN LCS TFI data... DCS 00`` with ``LEN`` counting TFI +
data, ``LCS = -LEN``, ``DCS = -(TFI + sum(data))`` (mod 256); TFI is ``D4`` host->PN532 and
``D5`` PN532->host. ACK is ``00 00 FF 00 FF 00``, NACK ``00 00 FF FF 00 00``. The host polls
with InListPassiveTarget ``D4 4A 01 00`` (one target, 106 kbps type A); the answer
``D5 4B NbTg [Tg SENS_RES(2) SEL_RES NFCIDLength NFCID...]`` carries the UID.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.cards.common import ParseResult, Step, scan_frames, uid_bytes, uid_hex

PREAMBLE = b"\x00\x00\xff"
ACK = b"\x00\x00\xff\x00\xff\x00"
NACK = b"\x00\x00\xff\xff\x00\x00"
HOST, PN532 = 0xD4, 0xD5
GET_FIRMWARE_VERSION = 0x02
SAM_CONFIGURATION = 0x14
IN_LIST_PASSIVE_TARGET = 0x4A
# Wakes the PN532 from power-down on HSU: a long preamble of 0x55 then zeros.
WAKEUP = b"\x55\x55" + b"\x00" * 14


@dataclass(frozen=True)
class Frame:
    """One parsed frame: ``kind`` 'ack', 'nack' or 'data' (then ``tfi`` and ``data``)."""

    kind: str
    tfi: int = 0
    data: bytes = b""

    @property
    def command(self) -> int | None:
        """The command code (first data byte) of a data frame."""
        return self.data[0] if self.kind == "data" and self.data else None


def build_frame(tfi: int, data: bytes) -> bytes:
    """A normal information frame carrying ``tfi`` + ``data`` (at most 254 bytes)."""
    length = len(data) + 1
    if length > 255:
        raise ValueError("PN532 normal frame payload too long (max 254 bytes)")
    dcs = (-(tfi + sum(data))) & 0xFF
    return PREAMBLE + bytes([length, (-length) & 0xFF, tfi]) + data + bytes([dcs, 0x00])


def command(code: int, params: bytes = b"") -> bytes:
    """A host command frame (TFI ``D4``)."""
    return build_frame(HOST, bytes([code]) + params)


def response(code: int, params: bytes = b"") -> bytes:
    """A PN532 response frame (TFI ``D5``, code = command + 1)."""
    return build_frame(PN532, bytes([code]) + params)


def get_firmware_version() -> bytes:
    """``00 00 FF 02 FE D4 02 2A 00``."""
    return command(GET_FIRMWARE_VERSION)


def sam_configuration() -> bytes:
    """SAMConfiguration normal mode (no SAM), needed once after power-up."""
    return command(SAM_CONFIGURATION, b"\x01\x14\x01")


def in_list_passive_target() -> bytes:
    """The polling command ``D4 4A 01 00``."""
    return command(IN_LIST_PASSIVE_TARGET, b"\x01\x00")


def target_response(uid: str | None) -> bytes:
    """The ``D5 4B`` answer to polling: one ISO 14443A target with ``uid``, or none."""
    if uid is None:
        return response(IN_LIST_PASSIVE_TARGET + 1, b"\x00")
    data = uid_bytes(uid)
    sens_res = b"\x00\x04" if len(data) == 4 else b"\x00\x44"
    return response(
        IN_LIST_PASSIVE_TARGET + 1, b"\x01\x01" + sens_res + b"\x08" + bytes([len(data)]) + data
    )


def firmware_response(ic: int = 0x32, ver: int = 1, rev: int = 6, support: int = 7) -> bytes:
    """The ``D5 03`` answer to GetFirmwareVersion."""
    return response(GET_FIRMWARE_VERSION + 1, bytes([ic, ver, rev, support]))


def target_uid(frame: Frame) -> str | None:
    """The UID in a ``D5 4B`` polling answer (the first target), or None."""
    d = frame.data
    if frame.kind != "data" or frame.tfi != PN532 or len(d) < 2 or d[0] != 0x4B or d[1] < 1:
        return None
    # d: 4B NbTg Tg SENS_RES(2) SEL_RES NFCIDLength NFCID1...
    if len(d) < 7:
        return None
    uid_len = d[6]
    if uid_len == 0 or len(d) < 7 + uid_len:
        return None
    return uid_hex(d[7 : 7 + uid_len])


def parse_frames(buf: bytes) -> ParseResult[Frame]:
    """Frames in ``buf``; bytes before a preamble (e.g. wakeup 0x55s) are dropped and counted
    (zeros are legal padding before a preamble)."""
    return scan_frames(buf, PREAMBLE, _read_frame, padding=b"\x00")


def _read_frame(buf: bytes, i: int) -> Step[Frame]:
    """The frame at the preamble at ``i`` (see :func:`devices.cards.common.scan_frames`)."""
    n = len(buf)
    if n - i < 6:
        return None
    length, lcs = buf[i + 3], buf[i + 4]
    short = {(0x00, 0xFF): "ack", (0xFF, 0x00): "nack"}.get((length, lcs))
    if short is not None:
        good = buf[i + 5] == 0x00
        return (Frame(short) if good else None), not good, i + 6
    if (length + lcs) & 0xFF or length == 0:
        return None, True, i + 3  # bad length checksum (also extended frames, never asked for)
    end = i + 5 + length + 2
    if n < end:
        return None
    body = buf[i + 5 : i + 5 + length]
    dcs = buf[i + 5 + length]
    if (sum(body) + dcs) & 0xFF or buf[end - 1] != 0x00:
        return None, True, i + 3
    return Frame("data", body[0], bytes(body[1:])), False, end


def parse(buf: bytes) -> ParseResult[str]:
    """UIDs from the polling answers in ``buf`` (other frames are consumed silently)."""
    result = parse_frames(buf)
    uids = [u for u in (target_uid(f) for f in result.items) if u is not None]
    return ParseResult(uids, result.rest, result.dropped)
