"""ESC/POS byte stream -> what the printer would print: text lines, QR codes, images, cuts.

Used by tests (a receipt sent to a ``file://`` or simulated printer decodes back to the same
Chinese text and QR payload), by ``kiosk receipt decode`` and by the desk's print preview.
Commands we don't know are skipped by their documented lengths where possible and listed in
``warnings``; the decoder never raises on arbitrary bytes.

The input may come from anywhere (``kiosk receipt decode FILE``), so what it may cost is bounded
by the input and by the paper, never by the numbers written in it: a raster image holds only
the rows the input carries and is at most :data:`MAX_DOTS` wide, the decoded printout is at
most :data:`MAX_PAPER_DOTS` long (one roll; decoding stops there with a warning), lines are
built in linear time, and the PNG preview is at most :data:`MAX_PNG_DOTS` long.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from devices.printer.receipt import PAPER_DOTS, REPRINT_BANNER
from devices.printer.text import char_width

if TYPE_CHECKING:
    from PIL import Image, ImageFont

_EC_NAMES = {48: "L", 49: "M", 50: "Q", 51: "H"}
# The widest paper (80 mm) in dots: a raster image wider than this cannot be printed.
MAX_DOTS = max(PAPER_DOTS.values())
# One 80 m roll at 8 dots per mm: the decoded printout never grows longer than this.
MAX_PAPER_DOTS = 640_000
# The PNG preview shows at most 2 m of paper (a 608 x 16,000 grey image is under 10 MB).
MAX_PNG_DOTS = 16_000
# Heights (dots) the preview gives each kind of item; the decoder spends its paper with them.
LINE_DOTS, DOUBLE_LINE_DOTS, BARCODE_DOTS, CUT_DOTS, GAP_DOTS = 30, 58, 70, 20, 8
_MIN_QR_DOTS = 29 * 2 + GAP_DOTS  # version 1 with its quiet zone, 2 dots per module
_MAX_WARNINGS = 50
_UNPRINTABLE = {c: "?" for c in [*range(0x20), 0x7F, 0xFFFD]}
# Runs of bytes decoded in one go (a long line costs one string, not one per byte).
_ASCII_RUN = re.compile(rb"[\x09\x20-\x7e]+")
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
# (bounded: the regex engine keeps state for every repetition of a group)
_GB_PAIRS = re.compile(rb"(?:[\x81-\xfe][\x40-\xff]){1,4096}")
# Lengths of fixed-size commands: total bytes including the prefix and command byte.
_ESC_FIXED = {
    ord(c): n
    for c, n in {
        "@": 2, "!": 3, "E": 3, "G": 3, "-": 3, "a": 3, "d": 3, "J": 3, "M": 3, "t": 3, "R": 3,
        "V": 3, "{": 3, "r": 3, "2": 2, "3": 3, " ": 3, "$": 4, "\\": 4, "p": 5, "i": 2, "m": 2,
        "L": 2, "S": 2, "T": 3, "W": 10, "=": 3, "%": 3, "?": 3, "<": 2, "U": 3, "e": 3, "K": 3,
    }.items()
}  # fmt: skip
_GS_FIXED = {
    ord(c): n
    for c, n in {
        "!": 3, "B": 3, "H": 3, "L": 4, "W": 4, "b": 3, "f": 3, "h": 3, "w": 3, "a": 3, "r": 3,
        "I": 3, "$": 4, "\\": 4, "P": 4, "/": 3, "^": 5, ":": 2, "T": 3, "E": 3,
    }.items()
}  # fmt: skip
_FS_FIXED = {
    ord(c): n for c, n in {"&": 2, ".": 2, "!": 3, "-": 3, "W": 3, "C": 3, "S": 4, "p": 4}.items()
}


@dataclass(frozen=True)
class TextLine:
    """One printed text line with the attributes it was printed with."""

    text: str
    align: str = "left"
    double: bool = False
    bold: bool = False


@dataclass(frozen=True)
class QRItem:
    """A printed native QR code: payload, module size (dots) and EC level."""

    payload: str
    module_size: int = 3
    ec: str = "L"


@dataclass(frozen=True)
class RasterImage:
    """A ``GS v 0`` raster image: ``rows`` of bits (True = black)."""

    width: int
    height: int
    data: bytes
    align: str = "left"

    def pixel(self, x: int, y: int) -> bool:
        """Whether dot (x, y) is black."""
        wb = (self.width + 7) // 8
        return bool(self.data[y * wb + (x >> 3)] & (0x80 >> (x & 7)))


ItemKind = Literal["text", "qr", "image", "barcode", "cut"]


@dataclass
class DecodedReceipt:
    """Everything decoded, plus ``items`` in print order for previews."""

    lines: list[str] = field(default_factory=list)
    qr_codes: list[str] = field(default_factory=list)
    barcodes: list[str] = field(default_factory=list)
    images: list[RasterImage] = field(default_factory=list)
    cuts: int = 0
    status_queries: int = 0
    size: int = 0
    warnings: list[str] = field(default_factory=list)
    items: list[tuple[ItemKind, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The text lines joined with newlines."""
        return "\n".join(self.lines)

    @property
    def reprint(self) -> bool:
        """Whether the 补打 / REPRINT banner was printed."""
        return any(REPRINT_BANNER in line for line in self.lines)

    @property
    def empty(self) -> bool:
        """True when nothing printable was found."""
        return not self.items

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary."""
        return {
            "bytes": self.size,
            "lines": self.lines,
            "qr_codes": self.qr_codes,
            "barcodes": self.barcodes,
            "images": [{"width": i.width, "height": i.height} for i in self.images],
            "cuts": self.cuts,
            "reprint": self.reprint,
            "status_queries": self.status_queries,
            "warnings": self.warnings,
        }


class _CharWidths(dict[str, int]):
    """:func:`char_width` per character, remembered (the decoder meets at most the ~24,000
    two-byte GB18030 characters and the 256 code page glyphs)."""

    def __missing__(self, ch: str) -> int:
        width = self[ch] = char_width(ch)
        return width


_CHAR_WIDTHS = _CharWidths()


def _width(text: str) -> int:
    """Columns ``text`` takes (as :func:`text_width`, in linear time with a small constant)."""
    return len(text) if text.isascii() else sum(map(_CHAR_WIDTHS.__getitem__, text))


def _wider_than(text: str, columns: int) -> bool:
    """Whether ``text`` takes more than ``columns`` columns (stops as soon as it does)."""
    if text.isascii() or len(text) <= columns // 2:
        return len(text) > columns
    used = 0
    for ch in text:
        used += _CHAR_WIDTHS[ch]
        if used > columns:
            return True
    return False


class _Line:
    """The text line being printed, built in linear time: pieces are kept in a list and joined
    once (single characters are compacted every :attr:`_BATCH` pieces)."""

    _BATCH = 1024

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.tail: list[str] = []
        self.width = 0

    def __bool__(self) -> bool:
        return bool(self.parts or self.tail)

    def add(self, text: str) -> None:
        self.tail.append(text)
        self.width += _width(text)
        if len(self.tail) >= self._BATCH:
            self.parts.append("".join(self.tail))
            self.tail = []

    def take(self) -> str:
        text = "".join([*self.parts, *self.tail])
        self.parts, self.tail, self.width = [], [], 0
        return text


class _PaperOut(Exception):
    """The decoded printout used up a roll of paper: decoding stops."""


class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.out = DecodedReceipt(size=len(data))
        self.chinese = False
        self.align = "left"
        self.double = False
        self.bold = False
        self.line = _Line()
        self.line_double = False
        self.line_bold = False
        self.line_align = "left"
        self.qr_module = 3
        self.qr_ec = "L"
        self.qr_data: str | None = None
        self.paper_used = 0
        # The command introduced by each prefix byte, called with the byte after the prefix.
        self.commands = {0x1B: self.esc, 0x1D: self.gs, 0x1C: self.fs, 0x10: self.dle}

    # -- helpers -------------------------------------------------------------------------------

    def warn(self, message: str) -> None:
        if len(self.out.warnings) < _MAX_WARNINGS:
            self.out.warnings.append(message)

    def fixed_end(self, prefix: str, lengths: dict[int, int], i: int, c: int) -> int:
        """Where the fixed-size command ``c`` at ``i`` ends (by ``lengths``); an unknown one
        is warned about and taken as two bytes."""
        if c not in lengths:
            self.warn(f"unknown {prefix} 0x{c:02X} at {i}")
            return i + 2
        return i + lengths[c]

    def spend(self, dots: int, at: int = -1) -> None:
        """Use ``dots`` of paper for the next item; raises :class:`_PaperOut` past a roll."""
        if self.paper_used + dots > MAX_PAPER_DOTS:
            self.warn(f"the printout is longer than a roll ({MAX_PAPER_DOTS} dots); "
                      f"the rest is not decoded")  # fmt: skip
            raise _PaperOut
        self.paper_used += dots

    def flush_line(self) -> None:
        self.spend(DOUBLE_LINE_DOTS if self.line_double else LINE_DOTS)
        text = self.line.take().rstrip()
        self.out.lines.append(text)
        self.out.items.append(
            ("text", TextLine(text, self.line_align, self.line_double, self.line_bold))
        )
        self.line_double = self.double
        self.line_bold = self.bold

    def add_char(self, ch: str) -> None:
        if not self.line:
            self.line_align = self.align
            self.line_double = self.double
            self.line_bold = self.bold
        self.line.add(ch)
        self.line_double = self.line_double or self.double

    def flush_pending(self) -> None:
        if self.line:
            self.flush_line()

    # -- main loop -----------------------------------------------------------------------------

    def run(self) -> DecodedReceipt:
        try:
            self.loop()
            self.flush_pending()
        except _PaperOut:
            pass
        return self.out

    def loop(self) -> None:
        d = self.data
        i = 0
        n = len(d)
        while i < n:
            b = d[i]
            if b == 0x0A:
                self.flush_line()
                i += 1
            elif b in self.commands:
                i = n if i + 1 >= n else self.commands[b](i, d[i + 1])
            elif b == 0x09 or 0x20 <= b < 0x7F:
                run = _ASCII_RUN.match(d, i)
                assert run is not None
                text = run.group().decode("ascii")
                if "\t" in text:  # tab stops every 8 columns, counted from the line's start
                    lead = self.line.width % 8
                    text = (" " * lead + text).expandtabs(8)[lead:]
                self.add_char(text)
                i = run.end()
            elif b < 0x80:
                i += 1  # CR and other controls: nothing printed
            elif self.chinese and (pairs := _GB_PAIRS.match(d, i)) is not None:
                raw = pairs.group()
                try:
                    self.add_char(raw.decode("gb18030"))
                except UnicodeDecodeError:  # one bad pair: decode them one by one
                    for k in range(0, len(raw), 2):
                        try:
                            self.add_char(raw[k : k + 2].decode("gb18030"))
                        except UnicodeDecodeError:
                            self.add_char("?")
                i = pairs.end()
            elif self.chinese:
                # A high byte that starts no two-byte character prints as its code page glyph.
                self.add_char(bytes([b]).decode("cp437"))
                i += 1
            else:
                # Outside Chinese mode high bytes select the code page's glyphs (PC437 default).
                run = _HIGH_RUN.match(d, i)
                assert run is not None
                self.add_char(run.group().decode("cp437"))
                i = run.end()

    def esc(self, i: int, c: int) -> int:
        d = self.data
        arg = d[i + 2] if i + 2 < len(d) else 0
        if c == ord("@"):
            self.chinese = False
            self.align, self.double, self.bold = "left", False, False
        elif c == ord("!"):
            self.double = bool(arg & 0x30)
        elif c == ord("E"):
            self.bold = bool(arg & 1)
        elif c == ord("a"):
            self.align = {0: "left", 1: "center", 2: "right", 48: "left", 49: "center"}.get(
                arg, "right" if arg == 50 else "left"
            )
            if not self.line:
                self.line_align = self.align
        elif c == ord("d"):
            self.flush_pending()
            for _ in range(arg):
                self.flush_line()  # stops at the end of the roll (spend)
        elif c == ord("*"):  # bit image: ESC * m nL nH d...
            if i + 4 >= len(d):
                return len(d)
            m, cols = d[i + 2], d[i + 3] | d[i + 4] << 8
            return i + 5 + cols * (3 if m in (32, 33) else 1)
        elif c == ord("c"):
            return i + 4
        elif c == ord("D"):  # tab stops, NUL-terminated
            end = d.find(b"\x00", i + 2)
            return len(d) if end < 0 else end + 1
        return self.fixed_end("ESC", _ESC_FIXED, i, c)

    def fs(self, i: int, c: int) -> int:
        if c == ord("&"):
            self.chinese = True
        elif c == ord("."):
            self.chinese = False
        elif c == ord("2"):  # user-defined Chinese character: c1 c2 + 72 bytes
            return i + 76
        return self.fixed_end("FS", _FS_FIXED, i, c)

    def dle(self, i: int, c: int) -> int:
        if c == 0x04:
            self.out.status_queries += 1
            return i + 3
        if c == 0x05:
            return i + 3
        if c == 0x14:
            return i + 5
        return i + 1  # a lone DLE is not a command

    def gs(self, i: int, c: int) -> int:
        d = self.data
        n = len(d)
        if c == ord("V"):
            self.flush_pending()
            self.spend(CUT_DOTS)
            self.out.cuts += 1
            self.out.items.append(("cut", None))
            m = d[i + 2] if i + 2 < n else 0
            return i + (4 if m in (65, 66, 97, 98, 103, 104) else 3)
        if c == ord("k"):
            return self.barcode(i)
        if c == ord("v"):
            return self.raster(i)
        if c == ord("("):
            if i + 4 >= n:
                return n
            fn_kind, size = d[i + 2], d[i + 3] | d[i + 4] << 8
            body = d[i + 5 : i + 5 + size]
            if fn_kind == ord("k"):
                self.qr(body)
            return i + 5 + size
        if c == ord("8"):  # GS 8 L p1..p4: 32-bit length
            if i + 6 >= n:
                return n
            size = int.from_bytes(d[i + 3 : i + 7], "little")
            return i + 7 + size
        if c == ord("*"):
            if i + 3 >= n:
                return n
            return i + 4 + d[i + 2] * d[i + 3] * 8
        if c == ord("!"):
            arg = d[i + 2] if i + 2 < n else 0
            self.double = bool(arg & 0x11)
        return self.fixed_end("GS", _GS_FIXED, i, c)

    def barcode(self, i: int) -> int:
        d = self.data
        n = len(d)
        if i + 2 >= n:
            return n
        m = d[i + 2]
        if m <= 6:
            end = d.find(b"\x00", i + 3)
            if end < 0:
                return n
            raw, nxt = d[i + 3 : end], end + 1
        else:
            if i + 3 >= n:
                return n
            size = d[i + 3]
            raw, nxt = d[i + 4 : i + 4 + size], i + 4 + size
        # Only printable ASCII is printed under a barcode (and shown by ``kiosk receipt decode``).
        text = raw.decode("ascii", "replace").translate(_UNPRINTABLE)
        if m == 73 and len(text) >= 2 and text[0] == "{":
            text = text[2:]  # code set selection ({A {B {C)
        self.flush_pending()
        self.spend(BARCODE_DOTS)
        self.out.barcodes.append(text)
        self.out.items.append(("barcode", text))
        return nxt

    def raster(self, i: int) -> int:
        """``GS v 0 m xL xH yL yH d...``: an image holds only the rows the input carries."""
        d = self.data
        n = len(d)
        if i + 7 >= n:
            return n
        wb = d[i + 4] | d[i + 5] << 8
        height = d[i + 6] | d[i + 7] << 8
        start = i + 8
        end = start + wb * height
        if not wb or not height:
            return end
        if wb * 8 > MAX_DOTS:
            self.warn(f"raster image at {i} is {wb * 8} dots wide (paper: at most {MAX_DOTS})")
            return end
        rows = min(height, (n - start) // wb)
        if rows < height:
            self.warn(f"raster image at {i} truncated ({rows} of {height} rows)")
        self.flush_pending()
        if rows:
            self.spend(rows + GAP_DOTS)
            image = RasterImage(wb * 8, rows, d[start : start + wb * rows], self.align)
            self.out.images.append(image)
            self.out.items.append(("image", image))
        return end

    def qr(self, body: bytes) -> None:
        if len(body) < 2 or body[0] != 49:
            return  # other 2-D symbols (PDF417 is cn 48): not previewed
        fn = body[1]
        if fn == 67 and len(body) >= 3:
            self.qr_module = max(1, min(16, body[2]))
        elif fn == 69 and len(body) >= 3:
            self.qr_ec = _EC_NAMES.get(body[2], "L")
        elif fn == 80:
            self.qr_data = body[3:].decode("utf-8", "replace")
        elif fn == 81:
            if self.qr_data is None:
                self.warn("QR print without stored data")
                return
            self.flush_pending()
            self.spend(_MIN_QR_DOTS)
            self.out.qr_codes.append(self.qr_data)
            self.out.items.append(("qr", QRItem(self.qr_data, self.qr_module, self.qr_ec)))


def decode_escpos(data: bytes) -> DecodedReceipt:
    """Decode an ESC/POS byte stream (never raises; oddities go to ``warnings``)."""
    return _Decoder(bytes(data)).run()


# ---------------------------------------------------------------------------------------------
# PNG preview

_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", os.path.expanduser("~/.fonts"))
_FONT_HINTS = ("NotoSansCJK", "NotoSerifCJK", "SourceHanSans", "wqy", "DroidSansFallback", "CJK")
CELL = 12  # font A: 12 x 24 dots per column


@lru_cache(maxsize=1)
def find_cjk_font() -> str | None:
    """Path of a CJK-capable font under the usual font folders, or None."""
    found: list[str] = []
    for root in _FONT_DIRS:
        for dirpath, _dirs, files in os.walk(root):
            for f in files:
                if f.lower().endswith((".ttc", ".otf", ".ttf")) and any(
                    h.lower() in f.lower() for h in _FONT_HINTS
                ):
                    found.append(os.path.join(dirpath, f))
    for hint in _FONT_HINTS:  # preference order
        for path in sorted(found):
            if hint.lower() in os.path.basename(path).lower() and "bold" not in path.lower():
                return path
    return found[0] if found else None


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    path = find_cjk_font()
    if path:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default()


def _raster_to_image(image: RasterImage) -> Image.Image:
    """The raster image as a grey PIL image (mode '1' bits are 1 = white, ESC/POS 1 = black)."""
    from PIL import Image

    inverted = image.data.translate(_INVERT)
    return Image.frombytes("1", (image.width, image.height), inverted).convert("L")


_INVERT = bytes(255 - b for b in range(256))


def to_png(decoded: DecodedReceipt, paper_mm: int | None = None, margin: int = 16) -> Image.Image:
    """A preview image of the printout (white paper, black print; mode 'L').

    Text uses a CJK font when one is installed; QR codes are drawn as real modules (from the
    payload, module size and EC level in the stream), so scanners decode the PNG. The image is
    at most the paper wide and :data:`MAX_PNG_DOTS` long: what follows is left out.
    """
    from PIL import Image, ImageDraw

    from devices.qr import QRCode

    if paper_mm is None:
        wide_text = any(_wider_than(line, 32) for line in decoded.lines)
        widest_img = max([img.width for img in decoded.images] + [0])
        paper_mm = 80 if wide_text or widest_img > 384 else 58
    dots = 576 if paper_mm == 80 else 384

    blocks: list[tuple[int, Any]] = []  # (height, payload)
    matrices: dict[tuple[str, str], list[list[bool]] | None] = {}
    total = 0
    for kind, item in decoded.items:
        block: tuple[int, Any]
        if kind == "text":
            block = (DOUBLE_LINE_DOTS if item.double else LINE_DOTS, item)
        elif kind == "qr":
            key = (item.payload, item.ec)
            if key not in matrices:
                try:
                    matrices[key] = QRCode(item.payload, item.ec).matrix
                except ValueError:  # more data than any QR symbol holds: not printable either
                    matrices[key] = None
            matrix = matrices[key]
            if matrix is None:
                block = (BARCODE_DOTS, "barcode:[QR too large]")
            else:
                scale = max(2, min(item.module_size, dots // len(matrix)))
                block = (len(matrix) * scale + GAP_DOTS, (matrix, scale))
        elif kind == "image":
            block = (item.height + GAP_DOTS, item)
        elif kind == "barcode":
            block = (BARCODE_DOTS, f"barcode:{item}")
        else:
            block = (CUT_DOTS, "cut")
        if total + block[0] > MAX_PNG_DOTS:
            break
        total += block[0]
        blocks.append(block)
    height = total + 2 * margin
    img = Image.new("L", (dots + 2 * margin, max(height, 2 * margin + 1)), 255)
    draw = ImageDraw.Draw(img)
    y = margin
    for h, payload in blocks:
        if isinstance(payload, TextLine):
            cell = CELL * (2 if payload.double else 1)
            font = _font(48 if payload.double else 24)
            if _wider_than(payload.text, dots // cell):
                x0 = margin  # a line wider than the paper starts at its left edge
            else:
                width = _width(payload.text) * cell
                x0 = margin + {"center": (dots - width) // 2, "right": dots - width}.get(
                    payload.align, 0
                )
            col = 0
            for ch in payload.text:
                if x0 + col * cell >= margin + dots:
                    break  # past the edge of the paper
                if ch != " ":
                    draw.text((x0 + col * cell, y), ch, fill=0, font=font)
                col += char_width(ch)
        elif isinstance(payload, tuple):
            matrix, scale = payload
            x0 = margin + max(0, (dots - len(matrix) * scale) // 2)
            for r, row in enumerate(matrix):
                for c, dark in enumerate(row):
                    if dark:
                        draw.rectangle(
                            (
                                x0 + c * scale,
                                y + r * scale,
                                x0 + (c + 1) * scale - 1,
                                y + (r + 1) * scale - 1,
                            ),
                            fill=0,
                        )
        elif isinstance(payload, RasterImage):
            x0 = margin + {
                "center": (dots - payload.width) // 2,
                "right": dots - payload.width,
            }.get(payload.align, 0)
            img.paste(_raster_to_image(payload), (max(margin, x0), y))
        elif payload == "cut":
            for x in range(margin, margin + dots, 12):
                draw.line((x, y + 10, x + 6, y + 10), fill=0)
        elif isinstance(payload, str) and payload.startswith("barcode:"):
            data = payload[len("barcode:") :][: dots // 20]  # what fits on the paper
            for k, code in enumerate(data.encode("ascii", "replace")):
                x = margin + dots // 2 - len(data) * 10 + k * 20
                for bit in range(8):
                    if code >> bit & 1:
                        draw.rectangle((x + bit * 2, y, x + bit * 2 + 1, y + 40), fill=0)
            draw.text(
                (margin + (dots - len(data) * CELL) // 2, y + 44), data, fill=0, font=_font(20)
            )
        y += h
    return img
