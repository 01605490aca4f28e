"""The receipt document model, its JSON form and its plain-text rendering.

A :class:`Receipt` is a list of blocks (title, text, key-value row, table, rule, QR, barcode,
feed, cut). Print jobs store ``receipt.to_dict()`` in the database and rebuild it with
:meth:`Receipt.from_dict`; the printer gets :func:`devices.printer.escpos.render_escpos`, the
screen (when the printer can't print) gets :func:`render_text`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

from devices.printer.text import normalize_text, pad, text_width, truncate, wrap

Align = Literal["left", "center", "right"]
REPRINT_BANNER = "*** 补打 / REPRINT ***"
PAPER_COLUMNS = {58: 32, 80: 48}
PAPER_DOTS = {58: 384, 80: 576}
SCHEMA_VERSION = 1
_ALIGNS = ("left", "center", "right")


class ReceiptError(ValueError):
    """A receipt that cannot be built or rebuilt from its stored form."""


@dataclass(frozen=True)
class Title:
    """A heading, printed double size and centred."""

    text: str
    type: ClassVar[str] = "title"


@dataclass(frozen=True)
class Text:
    """A paragraph, wrapped to the paper width."""

    text: str
    align: Align = "left"
    bold: bool = False
    type: ClassVar[str] = "text"


@dataclass(frozen=True)
class Row:
    """``key ........ value`` on one line (two lines when both don't fit)."""

    key: str
    value: str
    type: ClassVar[str] = "row"


@dataclass(frozen=True)
class Column:
    """A table column: ``width`` in columns (None = share what is left)."""

    header: str
    width: int | None = None
    align: Align = "left"


@dataclass(frozen=True)
class Table:
    """A table with a header line; cells wrap inside their column."""

    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    type: ClassVar[str] = "table"


@dataclass(frozen=True)
class Rule:
    """A full-width separator line."""

    char: str = "-"
    type: ClassVar[str] = "rule"


@dataclass(frozen=True)
class QR:
    """A QR code, centred; native ``GS ( k`` or raster depending on the printer setting."""

    payload: str
    ec: str = "M"
    module_size: int = 6
    type: ClassVar[str] = "qr"


@dataclass(frozen=True)
class Barcode:
    """A 1-D barcode (CODE128 or CODE39) with its human-readable text below."""

    data: str
    symbology: str = "CODE128"
    height: int = 64
    type: ClassVar[str] = "barcode"


@dataclass(frozen=True)
class Feed:
    """Blank lines."""

    lines: int = 1
    type: ClassVar[str] = "feed"


@dataclass(frozen=True)
class Cut:
    """Feed past the cutter and cut (partial cut leaves a hinge)."""

    partial: bool = True
    type: ClassVar[str] = "cut"


Block = Title | Text | Row | Table | Rule | QR | Barcode | Feed | Cut
_BLOCK_TYPES: dict[str, type[Any]] = {
    cls.type: cls for cls in (Title, Text, Row, Table, Rule, QR, Barcode, Feed, Cut)
}
BARCODE_SYMBOLOGIES = ("CODE128", "CODE39")
# Each block type's fields, in order (for Receipt.to_dict).
_FIELD_NAMES: dict[type[Any], tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls)) for cls in _BLOCK_TYPES.values()
}
_COLUMN_NAMES = tuple(f.name for f in fields(Column))


@dataclass
class Receipt:
    """A receipt: blocks in print order, and whether this is a reprint (补打 banner).

    Builder methods return the receipt so calls chain::

        Receipt().title("包裹取件凭条").row("取件码", "8F3K2").qr("https://...").cut()
    """

    blocks: list[Block] = field(default_factory=list)
    reprint: bool = False

    def title(self, text: str) -> Receipt:
        """Add a double-size centred heading."""
        self.blocks.append(Title(text))
        return self

    def text(self, text: str, align: Align = "left", bold: bool = False) -> Receipt:
        """Add a wrapped paragraph."""
        if align not in _ALIGNS:
            raise ReceiptError(f"align {align!r} (expected left, center or right)")
        self.blocks.append(Text(text, align, bold))
        return self

    line = text

    def row(self, key: str, value: str) -> Receipt:
        """Add a key-value row."""
        self.blocks.append(Row(key, value))
        return self

    def table(
        self, columns: list[Column | str] | tuple[Column | str, ...], rows: list[list[str]]
    ) -> Receipt:
        """Add a table; ``columns`` are :class:`Column` or plain header strings."""
        cols = tuple(c if isinstance(c, Column) else Column(c) for c in columns)
        if not cols:
            raise ReceiptError("a table needs at least one column")
        body = tuple(tuple(str(cell) for cell in r) for r in rows)
        for r in body:
            if len(r) != len(cols):
                raise ReceiptError(
                    f"table row {list(r)!r} has {len(r)} cells, expected {len(cols)}"
                )
        self.blocks.append(Table(cols, body))
        return self

    def rule(self, char: str = "-") -> Receipt:
        """Add a separator line."""
        self.blocks.append(Rule(char[:1] or "-"))
        return self

    def qr(self, payload: str, ec: str = "M", module_size: int = 6) -> Receipt:
        """Add a QR code."""
        if ec not in ("L", "M", "Q", "H"):
            raise ReceiptError(f"QR error level {ec!r} (expected L, M, Q or H)")
        if not payload:
            raise ReceiptError("a QR code needs a payload")
        self.blocks.append(QR(payload, ec, module_size))
        return self

    def barcode(self, data: str, symbology: str = "CODE128", height: int = 64) -> Receipt:
        """Add a 1-D barcode (ASCII data)."""
        if symbology not in BARCODE_SYMBOLOGIES:
            raise ReceiptError(f"barcode {symbology!r} (expected CODE128 or CODE39)")
        if not data or not data.isascii() or not data.isprintable():
            raise ReceiptError(f"barcode data {data!r} (expected printable ASCII)")
        self.blocks.append(Barcode(data, symbology, max(1, min(255, height))))
        return self

    def feed(self, lines: int = 1) -> Receipt:
        """Add blank lines."""
        self.blocks.append(Feed(max(0, min(255, lines))))
        return self

    def cut(self, partial: bool = True) -> Receipt:
        """Cut the paper."""
        self.blocks.append(Cut(partial))
        return self

    def as_reprint(self) -> Receipt:
        """A copy marked as a reprint (补打 / REPRINT banner on top)."""
        return Receipt(list(self.blocks), reprint=True)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form (stored with the print job).

        Blocks hold only text, numbers and flags (a table its columns and rows), so each is read
        field by field: ``dataclasses.asdict`` deep-copies recursively and cost a tenth of a
        receipt-printing operation's CPU."""
        out = []
        for block in self.blocks:
            data: dict[str, Any] = {"type": block.type}
            for name in _FIELD_NAMES[type(block)]:
                data[name] = getattr(block, name)
            if isinstance(block, Table):
                data["columns"] = [{n: getattr(c, n) for n in _COLUMN_NAMES} for c in block.columns]
                data["rows"] = [list(r) for r in block.rows]
            out.append(data)
        return {"version": SCHEMA_VERSION, "reprint": self.reprint, "blocks": out}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Receipt:
        """Rebuild a receipt from :meth:`to_dict` output; :class:`ReceiptError` if malformed."""
        try:
            if data.get("version", SCHEMA_VERSION) != SCHEMA_VERSION:
                raise ReceiptError(f"receipt schema version {data.get('version')!r} (expected 1)")
            blocks: list[Block] = []
            for raw in data.get("blocks", []):
                kind = raw["type"]
                if kind not in _BLOCK_TYPES:
                    raise ReceiptError(f"unknown receipt block {kind!r}")
                block_cls = _BLOCK_TYPES[kind]
                names = {f.name for f in fields(block_cls)}
                kwargs = {k: v for k, v in raw.items() if k in names}
                if block_cls is Table:
                    kwargs["columns"] = tuple(Column(**c) for c in kwargs["columns"])
                    kwargs["rows"] = tuple(tuple(str(x) for x in r) for r in kwargs["rows"])
                blocks.append(block_cls(**kwargs))
            return cls(blocks, reprint=bool(data.get("reprint", False)))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ReceiptError(f"malformed stored receipt: {exc!r}") from exc


# ---------------------------------------------------------------------------------------------
# Layout shared by the text and ESC/POS renderers


def columns_for(paper_mm: int) -> int:
    """Characters per line (font A) for a paper width: 32 on 58 mm, 48 on 80 mm."""
    if paper_mm not in PAPER_COLUMNS:
        raise ReceiptError(f"paper width {paper_mm} mm (expected 58 or 80)")
    return PAPER_COLUMNS[paper_mm]


def layout_title(text: str, width: int) -> list[str]:
    """Title lines for a double-width font (``width`` is the normal column count)."""
    return [
        pad(line, width // 2, "center").rstrip() for line in wrap(normalize_text(text), width // 2)
    ]


def layout_text(block: Text, width: int) -> list[str]:
    """Lines of a paragraph, aligned by padding."""
    return [
        pad(line, width, block.align).rstrip() for line in wrap(normalize_text(block.text), width)
    ]


def layout_row(block: Row, width: int) -> list[str]:
    """``key   value`` right-aligned; the value goes to its own line if both don't fit."""
    key, value = normalize_text(block.key), normalize_text(block.value)
    if text_width(key) + 1 + text_width(value) <= width:
        return [key + pad(value, width - text_width(key), "right")]
    lines = wrap(key, width)
    lines += [pad(v, width, "right") for v in wrap(value, width)]
    return lines


def table_widths(columns: tuple[Column, ...], width: int) -> list[int]:
    """Column widths (one space between columns), fixed ones first, the rest shared."""
    gaps = len(columns) - 1
    fixed = sum(c.width or 0 for c in columns)
    free = [i for i, c in enumerate(columns) if not c.width]
    rest = max(0, width - gaps - fixed)
    widths = [c.width or 0 for c in columns]
    for n, i in enumerate(free):
        widths[i] = rest // len(free) + (1 if n < rest % len(free) else 0)
    # Too many fixed columns for a narrow paper: shrink from the widest, keep >= 2 columns each.
    while sum(widths) + gaps > width and max(widths) > 2:
        widths[widths.index(max(widths))] -= 1
    return [max(2, w) for w in widths]


def layout_table(block: Table, width: int) -> list[str]:
    """Header, a rule, then the rows; cells wrap within their column."""
    widths = table_widths(block.columns, width)
    aligns = [c.align for c in block.columns]

    def render(cells: tuple[str, ...]) -> list[str]:
        wrapped = [wrap(normalize_text(c), w) for c, w in zip(cells, widths, strict=True)]
        height = max(len(w) for w in wrapped)
        out = []
        for i in range(height):
            parts = [
                pad(truncate(cell[i] if i < len(cell) else "", w), w, a)
                for cell, w, a in zip(wrapped, widths, aligns, strict=True)
            ]
            out.append(" ".join(parts).rstrip())
        return out

    lines = render(tuple(c.header for c in block.columns))
    lines.append("-" * min(width, sum(widths) + len(widths) - 1))
    for r in block.rows:
        lines += render(r)
    return lines


def render_text(
    receipt: Receipt, width: int = 32, qr: Literal["blocks", "payload"] = "blocks"
) -> str:
    """The receipt as plain text, ``width`` columns wide (CJK characters count 2).

    Shown on screen when the printer can't print. QR codes are drawn as half-block rows (see
    :meth:`devices.qr.QRCode.halfblock_rows`: draw the slip black ``#000000`` on white
    ``#ffffff``), or as ``[QR] payload`` with ``qr="payload"``.
    """
    from devices.qr import QRCode

    lines: list[str] = []
    if receipt.reprint:
        lines.append(pad(REPRINT_BANNER, width, "center").rstrip())
    for block in receipt.blocks:
        if isinstance(block, Title):
            lines += [
                pad(t.strip(), width, "center").rstrip()
                for t in layout_title(block.text, width * 2)
            ]
        elif isinstance(block, Text):
            lines += layout_text(block, width)
        elif isinstance(block, Row):
            lines += layout_row(block, width)
        elif isinstance(block, Table):
            lines += layout_table(block, width)
        elif isinstance(block, Rule):
            lines.append(block.char * width)
        elif isinstance(block, QR):
            if qr == "blocks":
                rows = QRCode(block.payload, block.ec).halfblock_rows()
                lines += [pad(r, width, "center") if len(r) <= width else r for r in rows]
            else:
                lines += wrap("[QR] " + block.payload, width)
        elif isinstance(block, Barcode):
            lines.append(pad(f"|| {block.data} ||", width, "center").rstrip())
        elif isinstance(block, Feed):
            lines += [""] * block.lines
        elif isinstance(block, Cut):
            lines.append("- " * (width // 2))
    return "\n".join(lines) + "\n"
