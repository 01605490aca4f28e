"""ESC/POS byte stream -> what the printer would print: text lines, QR codes, images, cuts.

Used by tests (a receipt sent to a ``file://`` or simulated printer decodes back to the same
Chinese text and QR payload), by ``kiosk receipt decode`` and by the desk's print preview.
Commands we don't know are skipped by their documented lengths where possible and listed in
``warnings``; the decoder never raises on arbitrary bytes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from devices.printer.receipt import REPRINT_BANNER
from devices.printer.text import char_width, text_width

if TYPE_CHECKING:
    from PIL import Image, ImageFont

_EC_NAMES = {48: "L", 49: "M", 50: "Q", 51: "H"}
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


class _Decoder:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.out = DecodedReceipt(size=len(data))
        self.chinese = False
        self.align = "left"
        self.double = False
        self.bold = False
        self.line = ""
        self.line_double = False
        self.line_bold = False
        self.line_align = "left"
        self.qr_module = 3
        self.qr_ec = "L"
        self.qr_data: str | None = None

    # -- helpers -------------------------------------------------------------------------------

    def warn(self, message: str) -> None:
        if len(self.out.warnings) < 50:
            self.out.warnings.append(message)

    def flush_line(self) -> None:
        text = self.line.rstrip()
        self.out.lines.append(text)
        self.out.items.append(
            ("text", TextLine(text, self.line_align, self.line_double, self.line_bold))
        )
        self.line = ""
        self.line_double = self.double
        self.line_bold = self.bold

    def add_char(self, ch: str) -> None:
        if not self.line:
            self.line_align = self.align
            self.line_double = self.double
            self.line_bold = self.bold
        self.line += ch
        self.line_double = self.line_double or self.double

    def flush_pending(self) -> None:
        if self.line:
            self.flush_line()

    # -- main loop -----------------------------------------------------------------------------

    def run(self) -> DecodedReceipt:
        d = self.data
        i = 0
        n = len(d)
        while i < n:
            b = d[i]
            if b == 0x0A:
                self.flush_line()
                i += 1
            elif b == 0x1B:
                i = self.esc(i)
            elif b == 0x1D:
                i = self.gs(i)
            elif b == 0x1C:
                i = self.fs(i)
            elif b == 0x10:
                i = self.dle(i)
            elif b == 0x09:
                self.add_char(" " * (8 - text_width(self.line) % 8))
                i += 1
            elif b < 0x20 or b == 0x7F:
                i += 1  # CR and other controls: nothing printed
            elif b < 0x80:
                self.add_char(chr(b))
                i += 1
            elif self.chinese and 0x81 <= b <= 0xFE and i + 1 < n and d[i + 1] >= 0x40:
                try:
                    self.add_char(d[i : i + 2].decode("gb18030"))
                except UnicodeDecodeError:
                    self.add_char("?")
                i += 2
            else:
                # Outside Chinese mode high bytes select the code page's glyphs (PC437 default).
                self.add_char(bytes([b]).decode("cp437"))
                i += 1
        self.flush_pending()
        return self.out

    def esc(self, i: int) -> int:
        d = self.data
        if i + 1 >= len(d):
            return len(d)
        c = d[i + 1]
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
                self.flush_line()
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
        elif c not in _ESC_FIXED:
            self.warn(f"unknown ESC 0x{c:02X} at {i}")
            return i + 2
        return i + _ESC_FIXED.get(c, 2)

    def fs(self, i: int) -> int:
        d = self.data
        if i + 1 >= len(d):
            return len(d)
        c = d[i + 1]
        if c == ord("&"):
            self.chinese = True
        elif c == ord("."):
            self.chinese = False
        elif c == ord("2"):  # user-defined Chinese character: c1 c2 + 72 bytes
            return i + 76
        elif c not in _FS_FIXED:
            self.warn(f"unknown FS 0x{c:02X} at {i}")
            return i + 2
        return i + _FS_FIXED.get(c, 2)

    def dle(self, i: int) -> int:
        d = self.data
        if i + 1 >= len(d):
            return len(d)
        c = d[i + 1]
        if c == 0x04:
            self.out.status_queries += 1
            return i + 3
        if c == 0x05:
            return i + 3
        if c == 0x14:
            return i + 5
        return i + 1  # a lone DLE is not a command

    def gs(self, i: int) -> int:
        d = self.data
        n = len(d)
        if i + 1 >= n:
            return n
        c = d[i + 1]
        if c == ord("V"):
            self.flush_pending()
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
        if c not in _GS_FIXED:
            self.warn(f"unknown GS 0x{c:02X} at {i}")
            return i + 2
        return i + _GS_FIXED[c]

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
        text = raw.decode("ascii", "replace")
        if m == 73 and len(text) >= 2 and text[0] == "{":
            text = text[2:]  # code set selection ({A {B {C)
        self.flush_pending()
        self.out.barcodes.append(text)
        self.out.items.append(("barcode", text))
        return nxt

    def raster(self, i: int) -> int:
        d = self.data
        n = len(d)
        if i + 7 >= n:
            return n
        wb = d[i + 4] | d[i + 5] << 8
        height = d[i + 6] | d[i + 7] << 8
        start = i + 8
        data = d[start : start + wb * height]
        if len(data) < wb * height:
            self.warn(f"raster image at {i} truncated")
            data = data + bytes(wb * height - len(data))
        self.flush_pending()
        if wb and height:
            image = RasterImage(wb * 8, height, data, self.align)
            self.out.images.append(image)
            self.out.items.append(("image", image))
        return start + wb * height

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


def to_png(decoded: DecodedReceipt, paper_mm: int | None = None, margin: int = 16) -> Image.Image:
    """A preview image of the printout (white paper, black print; mode 'L').

    Text uses a CJK font when one is installed; QR codes are drawn as real modules (from the
    payload, module size and EC level in the stream), so scanners decode the PNG.
    """
    from PIL import Image, ImageDraw

    from devices.qr import QRCode

    if paper_mm is None:
        widest = max([text_width(line) for line in decoded.lines] + [0])
        widest_img = max([img.width for img in decoded.images] + [0])
        paper_mm = 80 if widest > 32 or widest_img > 384 else 58
    dots = 576 if paper_mm == 80 else 384

    blocks: list[tuple[int, Any]] = []  # (height, payload)
    for kind, item in decoded.items:
        if kind == "text":
            blocks.append((58 if item.double else 30, item))
        elif kind == "qr":
            matrix = QRCode(item.payload, item.ec).matrix
            scale = max(2, min(item.module_size, dots // len(matrix)))
            blocks.append((len(matrix) * scale + 8, (matrix, scale)))
        elif kind == "image":
            blocks.append((item.height + 8, item))
        elif kind == "barcode":
            blocks.append((70, f"barcode:{item}"))
        elif kind == "cut":
            blocks.append((20, "cut"))
    height = sum(h for h, _ in blocks) + 2 * margin
    img = Image.new("L", (dots + 2 * margin, max(height, 2 * margin + 1)), 255)
    draw = ImageDraw.Draw(img)
    y = margin
    for h, payload in blocks:
        if isinstance(payload, TextLine):
            cell = CELL * (2 if payload.double else 1)
            font = _font(48 if payload.double else 24)
            width = text_width(payload.text) * cell
            x0 = margin + {"center": (dots - width) // 2, "right": dots - width}.get(
                payload.align, 0
            )
            col = 0
            for ch in payload.text:
                if ch != " ":
                    draw.text((x0 + col * cell, y), ch, fill=0, font=font)
                col += char_width(ch)
        elif isinstance(payload, tuple):
            matrix, scale = payload
            x0 = margin + (dots - len(matrix) * scale) // 2
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
            raster = Image.new("L", (payload.width, payload.height), 255)
            raster.putdata(
                [
                    0 if payload.pixel(x, yy) else 255
                    for yy in range(payload.height)
                    for x in range(payload.width)
                ]
            )
            img.paste(raster, (max(margin, x0), y))
        elif payload == "cut":
            for x in range(margin, margin + dots, 12):
                draw.line((x, y + 10, x + 6, y + 10), fill=0)
        elif isinstance(payload, str) and payload.startswith("barcode:"):
            data = payload[len("barcode:") :]
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
