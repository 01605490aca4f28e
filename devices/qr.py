"""One QR model for every output: terminal half-blocks, ESC/POS (native and raster), PNG.

The matrix comes from the ``qrcode`` library; the ESC/POS native form sends only the payload and lets the
printer draw the symbol (a few dozen bytes), the raster form sends the modules as an image
(kilobytes) for printers without ``GS ( k``.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import qrcode
import qrcode.constants
import qrcode.exceptions

if TYPE_CHECKING:
    from PIL import Image

QUIET_ZONE = 4
# Half-block rows are meant to be drawn with these explicit colours (named colours go through
# the terminal theme and come out grey, which scanners reject).
HALFBLOCK_FG = "#000000"
HALFBLOCK_BG = "#ffffff"
EC_LEVELS = ("L", "M", "Q", "H")
# GS ( k function 169 takes '0'..'3' for L, M, Q, H.
_EC_BYTE = {"L": 48, "M": 49, "Q": 50, "H": 51}
_EC_QRCODE = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}
_HALFBLOCK = {
    (False, False): " ",
    (True, False): "▀",
    (False, True): "▄",
    (True, True): "█",
}


def _gs_k(fn: int, payload: bytes) -> bytes:
    """One ``GS ( k`` command for the QR symbol (cn = 49); ``fn`` is the raw function byte."""
    size = len(payload) + 2
    return b"\x1d(k" + bytes([size & 0xFF, size >> 8, 49, fn]) + payload


def _make_matrix(payload: str, ec: str) -> tuple[int, list[list[bool]]]:
    """Version and module rows (with quiet zone) for ``payload`` at exactly level ``ec``.

    Exactly the level asked for: the printer's native QR uses the level we send, so the
    matrix shown on screen and the printed symbol stay the same size. The payload is encoded
    as UTF-8 bytes, as ``GS ( k`` receives it.
    """
    qr = qrcode.QRCode(version=None, error_correction=_EC_QRCODE[ec], border=QUIET_ZONE)
    qr.add_data(payload.encode("utf-8"), optimize=0)
    try:
        qr.make(fit=True)
    except (qrcode.exceptions.DataOverflowError, ValueError):  # ValueError: "version 41"
        raise ValueError(f"QR payload of {len(payload)} characters is too long") from None
    return int(qr.version), [[bool(v) for v in row] for row in qr.get_matrix()]


class QRCode:
    """A QR code for ``payload`` with error correction ``ec`` (L, M, Q or H)."""

    def __init__(self, payload: str, ec: str = "M") -> None:
        if ec not in EC_LEVELS:
            raise ValueError(f"QR error level {ec!r} (expected one of L, M, Q, H)")
        self.payload = payload
        self.ec = ec
        self._built: tuple[int, list[list[bool]]] | None = None

    def _build(self) -> tuple[int, list[list[bool]]]:
        # Built on first use: the native ESC/POS form needs only the payload.
        if self._built is None:
            self._built = _make_matrix(self.payload, self.ec)
        return self._built

    @property
    def version(self) -> int:
        """QR version (1..40)."""
        return self._build()[0]

    @property
    def matrix(self) -> list[list[bool]]:
        """Rows of modules (True = dark), including the 4-module quiet zone."""
        return [list(row) for row in self._build()[1]]

    def to_svg(self, scale: int = 5) -> str:
        """An inline ``<svg>`` (no XML declaration) for a web page: one path of dark modules
        on white, the quiet zone included."""
        m = self.matrix
        size = len(m) * scale
        dark = "".join(
            f"M{x * scale},{y * scale}h{scale}v{scale}h-{scale}z"
            for y, row in enumerate(m)
            for x, on in enumerate(row)
            if on
        )
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            f'viewBox="0 0 {size} {size}"><rect width="{size}" height="{size}" fill="#fff"/>'
            f'<path d="{dark}" fill="#000"/></svg>'
        )

    def halfblock_rows(self, quiet: int = QUIET_ZONE) -> list[str]:
        """Terminal rows, two module rows per text row.

        Each character is one of ``'▀'`` (top dark), ``'▄'`` (bottom dark), ``'█'`` (both)
        and ``' '`` (neither), so the whole block is drawn with ONE style: foreground
        :data:`HALFBLOCK_FG` (black) on background :data:`HALFBLOCK_BG` (white).
        An odd last module row is paired with a light row (it lies in the quiet zone).
        ``quiet`` narrows the light margin (at least 2 modules, which phone scanners read)
        where a small screen has no room for the standard 4.
        """
        if not 2 <= quiet <= QUIET_ZONE:
            raise ValueError(f"quiet zone of {quiet} modules (expected 2 to {QUIET_ZONE})")
        m = self.matrix
        if quiet < QUIET_ZONE:
            cut = QUIET_ZONE - quiet
            m = [row[cut:-cut] for row in m[cut:-cut]]
        if len(m) % 2:
            m = [*m, [False] * len(m[0])]
        return [
            "".join(_HALFBLOCK[(top, bottom)] for top, bottom in zip(m[i], m[i + 1], strict=True))
            for i in range(0, len(m), 2)
        ]

    def to_escpos_native(self, module_size: int = 6) -> bytes:
        """``GS ( k`` commands: model 2 (fn 165), module size (167), EC level (169),
        store the payload (180) and print it (181)."""
        if not 1 <= module_size <= 16:
            raise ValueError(f"QR module size {module_size} (expected 1..16 dots)")
        data = self.payload.encode("utf-8")
        return b"".join(
            (
                _gs_k(65, b"\x32\x00"),  # fn 165: model 2
                _gs_k(67, bytes([module_size])),  # fn 167: module size in dots
                _gs_k(69, bytes([_EC_BYTE[self.ec]])),  # fn 169: error correction level
                _gs_k(80, b"\x30" + data),  # fn 180: store the data
                _gs_k(81, b"\x30"),  # fn 181: print the stored symbol
            )
        )

    def to_escpos_raster(self, module_dots: int = 6, max_dots: int = 384) -> bytes:
        """The symbol as a ``GS v 0`` raster image (for printers without native QR).

        ``module_dots`` is shrunk until the symbol (with quiet zone) fits ``max_dots``.
        """
        m = self.matrix
        size = len(m)
        scale = max(1, min(module_dots, max_dots // size))
        width = size * scale
        width_bytes = (width + 7) // 8
        out = bytearray()
        for row in m:
            line = bytearray(width_bytes)
            for x, dark in enumerate(row):
                if dark:
                    for dx in range(scale):
                        bit = x * scale + dx
                        line[bit >> 3] |= 0x80 >> (bit & 7)
            out += bytes(line) * scale
        height = size * scale
        header = b"\x1dv0\x00" + bytes(
            [width_bytes & 0xFF, width_bytes >> 8, height & 0xFF, height >> 8]
        )
        return header + bytes(out)

    def to_image(self, scale: int = 8) -> Image.Image:
        """A black-on-white PIL image (mode 'L'), ``scale`` pixels per module."""
        from PIL import Image

        m = self.matrix
        size = len(m)
        img = Image.new("L", (size, size), 255)
        img.putdata([0 if dark else 255 for row in m for dark in row])
        return img.resize((size * scale, size * scale), Image.Resampling.NEAREST)

    def to_png(self, scale: int = 8) -> bytes:
        """PNG bytes of :meth:`to_image`."""
        buf = io.BytesIO()
        self.to_image(scale).save(buf, format="PNG")
        return buf.getvalue()
