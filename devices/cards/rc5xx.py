"""The "AA BB" serial protocol of the common MFRC522 / RC5xx reader modules (13.56 MHz).

Frame: ``AA BB`` + LEN (2 bytes, little endian) + node (2) + function (2) + data + checksum,
LEN counting node + function + data + checksum, checksum = XOR of node, function and data
bytes. Inside the frame (after the header) every ``AA`` is followed by a stuffed ``00`` which
is not counted in LEN. Example: ``AA BB 06 00 00 00 01 01 03 03``.

Readers in auto-read mode send the anticollision answer on their own when a card arrives:
function ``0x0202`` with data ``status(00) + UID``; that is the frame :func:`parse` turns into
a tap.
"""

from __future__ import annotations

from dataclasses import dataclass

from devices.cards.common import ParseResult, Step, scan_frames, uid_bytes, uid_hex, xor

HEADER = b"\xaa\xbb"
FUNC_ANTICOLL = 0x0202
STATUS_OK = 0x00


@dataclass(frozen=True)
class Frame:
    """A parsed frame (node and function as little-endian 16-bit numbers)."""

    node: int
    function: int
    data: bytes


def build_frame(node: int, function: int, data: bytes = b"") -> bytes:
    """An ``AA BB`` frame, with 0xAA stuffing."""
    body = node.to_bytes(2, "little") + function.to_bytes(2, "little") + data
    body += bytes([xor(body)])
    raw = len(body).to_bytes(2, "little") + body
    return HEADER + raw.replace(b"\xaa", b"\xaa\x00")


def build_uid_frame(uid: str, node: int = 0) -> bytes:
    """The auto-read anticollision answer carrying ``uid``."""
    return build_frame(node, FUNC_ANTICOLL, bytes([STATUS_OK]) + uid_bytes(uid))


def parse_frames(buf: bytes) -> ParseResult[Frame]:
    """Frames in ``buf`` (see :mod:`devices.cards.common`)."""
    return scan_frames(buf, HEADER, _read_frame)


def _read_frame(buf: bytes, i: int) -> Step[Frame]:
    """The frame at the header at ``i``: unstuffed after the header until LEN is known and
    satisfied (see :func:`devices.cards.common.scan_frames`)."""
    n = len(buf)
    k = i + 2
    raw = bytearray()
    need: int | None = None
    while k < n:
        b = buf[k]
        if b == 0xAA:
            if k + 1 >= n:
                break  # the stuffing byte hasn't arrived yet
            if buf[k + 1] != 0x00:
                return None, True, i + 2  # an unstuffed AA: a new frame starts here
            k += 2
        else:
            k += 1
        raw.append(b)
        if need is None and len(raw) == 2:
            need = int.from_bytes(raw, "little")
            if need < 5 or need > 512:
                return None, True, i + 2
        if need is not None and len(raw) == 2 + need:
            break
    if need is None or len(raw) < 2 + need:
        return None
    body = bytes(raw[2:])
    if xor(body[:-1]) != body[-1]:
        return None, True, k
    frame = Frame(
        int.from_bytes(body[0:2], "little"), int.from_bytes(body[2:4], "little"), body[4:-1]
    )
    return frame, False, k


def parse(buf: bytes) -> ParseResult[str]:
    """UIDs from anticollision answers with status OK (other frames are consumed silently)."""
    result = parse_frames(buf)
    uids = [
        uid_hex(f.data[1:])
        for f in result.items
        if f.function == FUNC_ANTICOLL and len(f.data) >= 5 and f.data[0] == STATUS_OK
    ]
    return ParseResult(uids, result.rest, result.dropped)
