"""Our own ESC/POS encoder.

Why not python-escpos for this: its Chinese output is broken (whole strings encoded without
``FS &``, ``¥`` and Chinese punctuation print as ``?``, upstream #678), so text is encoded here:
ASCII runs as they are, everything else inside ``FS &`` ... ``FS .`` as GB18030 two-byte codes.
"""

from __future__ import annotations

from typing import Literal

from devices.printer.receipt import (
    PAPER_DOTS,
    QR,
    REPRINT_BANNER,
    Barcode,
    Cut,
    Feed,
    Receipt,
    Row,
    Rule,
    Table,
    Text,
    Title,
    columns_for,
    layout_row,
    layout_table,
    layout_text,
    layout_title,
)
from devices.printer.text import normalize_text
from devices.qr import QRCode

ESC = b"\x1b"
GS = b"\x1d"
FS = b"\x1c"
DLE = b"\x10"
INIT = ESC + b"@"
CHINESE_ON = FS + b"&"
CHINESE_OFF = FS + b"."
LF = b"\n"
ALIGN = {"left": ESC + b"a\x00", "center": ESC + b"a\x01", "right": ESC + b"a\x02"}
BOLD_ON, BOLD_OFF = ESC + b"E\x01", ESC + b"E\x00"
# ESC ! sets font A and size for ASCII, FS ! the same for Chinese characters.
DOUBLE_ON = ESC + b"!\x30" + FS + b"!\x0c"
DOUBLE_OFF = ESC + b"!\x00" + FS + b"!\x00"
CUT_FULL = GS + b"VA\x03"  # feed 3 dots' worth past the cutter, then cut
CUT_PARTIAL = GS + b"VB\x03"
_BARCODE_M = {"CODE128": 73, "CODE39": 69}


def encode_text(text: str) -> bytes:
    """Encode a line for the printer: ASCII as is, other text as GB18030 inside ``FS &``/``FS .``.

    ``¥`` becomes ``￥`` (A3 A4); characters outside GB18030's two-byte set (emoji, rare
    ideographs) print as ``?`` because receipt printer fonts only cover the two-byte codes.
    """
    out = bytearray()
    chinese = False
    for ch in normalize_text(text):
        if ch.isascii():
            if chinese:
                out += CHINESE_OFF
                chinese = False
            out += ch.encode("ascii")
            continue
        try:
            code = ch.encode("gb18030")
        except UnicodeEncodeError:
            code = b""
        if len(code) != 2:
            if chinese:
                out += CHINESE_OFF
                chinese = False
            out += b"?"
            continue
        if not chinese:
            out += CHINESE_ON
            chinese = True
        out += code
    if chinese:
        out += CHINESE_OFF
    return bytes(out)


def _lines(lines: list[str]) -> bytes:
    return b"".join(encode_text(line) + LF for line in lines)


def _barcode(block: Barcode) -> bytes:
    data = block.data.encode("ascii")
    if block.symbology == "CODE128":
        data = b"{B" + data  # select code set B, the printable-ASCII set
    return (
        ALIGN["center"]
        + GS + b"h" + bytes([block.height])
        + GS + b"w\x02"
        + GS + b"H\x02"  # human-readable text below the bars
        + GS + b"k" + bytes([_BARCODE_M[block.symbology], len(data)]) + data
        + LF
        + ALIGN["left"]
    )  # fmt: skip


def render_escpos(
    receipt: Receipt,
    paper_mm: int = 80,
    qr_mode: Literal["native", "image"] = "native",
    *,
    max_dots: int | None = None,
    cutter: bool = True,
) -> bytes:
    """Encode ``receipt`` for a 58 or 80 mm ESC/POS printer.

    Text is laid out here (CJK characters take two of the 32 / 48 columns) so the printout
    matches :func:`devices.printer.receipt.render_text`. QR codes use ``GS ( k`` natively or a
    ``GS v 0`` raster image with ``qr_mode="image"`` (for printers without native QR).
    A printer profile narrows the raster to its printable width (``max_dots``) and, for a
    model without a cutter (``cutter=False``), turns cuts into a feed to the tear bar.
    """
    width = columns_for(paper_mm)
    dots = PAPER_DOTS[paper_mm] if max_dots is None else min(max_dots, PAPER_DOTS[paper_mm])
    out = bytearray(INIT)
    if receipt.reprint:
        out += ALIGN["center"] + BOLD_ON + encode_text(REPRINT_BANNER) + LF + BOLD_OFF
        out += ALIGN["left"]
    for block in receipt.blocks:
        if isinstance(block, Title):
            out += ALIGN["center"] + BOLD_ON + DOUBLE_ON
            out += _lines([t.strip() for t in layout_title(block.text, width)])
            out += DOUBLE_OFF + BOLD_OFF + ALIGN["left"]
        elif isinstance(block, Text):
            lines = _lines(layout_text(block, width))
            out += BOLD_ON + lines + BOLD_OFF if block.bold else lines
        elif isinstance(block, Row):
            out += _lines(layout_row(block, width))
        elif isinstance(block, Table):
            out += _lines(layout_table(block, width))
        elif isinstance(block, Rule):
            out += _lines(
                [normalize_text(block.char) * width if block.char.isascii() else "-" * width]
            )
        elif isinstance(block, QR):
            code = QRCode(block.payload, block.ec)
            out += ALIGN["center"]
            if qr_mode == "image":
                out += code.to_escpos_raster(block.module_size, dots)
            else:
                out += code.to_escpos_native(block.module_size)
            out += LF + ALIGN["left"]
        elif isinstance(block, Barcode):
            out += _barcode(block)
        elif isinstance(block, Feed):
            out += ESC + b"d" + bytes([block.lines])
        elif isinstance(block, Cut):
            if not cutter:
                out += ESC + b"d\x04"  # no cutter: feed past the tear bar
            else:
                out += CUT_PARTIAL if block.partial else CUT_FULL
    return bytes(out)
