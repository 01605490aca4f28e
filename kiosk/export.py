"""CSV exports that a spreadsheet opens safely: every CSV the kiosk writes goes through here.

A cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some
spreadsheet programs skip before looking) is read as a formula by Excel, WPS and LibreOffice:
a visitor who gives their name as ``=HYPERLINK("http://x","y")`` or ``+cmd|' /C calc'!A0``
would run that in the office's spreadsheet (CSV / formula injection). Such cells are written
with a leading ``'`` (OWASP's advice), so they show as the text that was typed.

Numbers stay numbers: a cell that is an ``int`` / ``float`` / ``Decimal``, or a string that is
only a signed decimal amount (``-12.50``, ``-￥1,234.50``: digits, grouping commas, a point, an
optional currency sign) holds no formula a spreadsheet could run, so it is written unchanged and
refunds and corrections still add up in a sum.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal
from typing import IO, Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A signed amount: nothing in it but the sign, an optional currency sign, digits, ',' and '.'.
_AMOUNT = re.compile(r"[+-]?[￥¥$]?\d[\d,]*(?:\.\d+)?")


def safe_cell(value: Any) -> Any:
    """``value`` as it may go into a CSV cell: text a spreadsheet would run gets a ``'``."""
    if isinstance(value, int | float | Decimal) or not isinstance(value, str):
        return value
    if value.startswith(FORMULA_PREFIXES) and not _AMOUNT.fullmatch(value):
        return "'" + value
    return value


def csv_rows(text: str) -> list[list[str]]:
    """An export's CSV text read back as rows of cells, to show on screen: the byte-order
    mark dropped, and a cell's guard ``'`` (see :func:`safe_cell`) taken off again."""
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    return [
        [c[1:] if c.startswith("'") and c[1:].startswith(FORMULA_PREFIXES) else c for c in row]
        for row in rows
    ]


class SafeWriter:
    """:func:`csv.writer` whose cells pass through :func:`safe_cell`."""

    def __init__(self, out: IO[str], **kwargs: Any) -> None:
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class SafeDictWriter(csv.DictWriter):  # type: ignore[type-arg]
    """:class:`csv.DictWriter` whose cells pass through :func:`safe_cell`."""

    def __init__(self, out: IO[str], fieldnames: Collection[str], **kwargs: Any) -> None:
        super().__init__(out, fieldnames, **kwargs)

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow({k: safe_cell(v) for k, v in rowdict.items()})

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]) -> None:
        for row in rowdicts:
            self.writerow(row)


def csv_writer(out: IO[str], **kwargs: Any) -> SafeWriter:
    """A CSV writer for an export (use instead of :func:`csv.writer`)."""
    return SafeWriter(out, **kwargs)


def csv_text(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """An export as CSV text: ``header``, then ``rows``, each line ending in ``\\n``."""
    out = io.StringIO()
    writer = csv_writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def in_period(query: Any, column: Any, since: dt.datetime | None, until: dt.datetime | None) -> Any:
    """``query`` narrowed to rows whose ``column`` is from ``since`` (inclusive) to ``until``
    (exclusive); an open end where either is None."""
    if since is not None:
        query = query.where(column >= since)
    if until is not None:
        query = query.where(column < until)
    return query


def csv_dict_writer(out: IO[str], fieldnames: Collection[str], **kwargs: Any) -> SafeDictWriter:
    """A CSV dict writer for an export (use instead of :class:`csv.DictWriter`)."""
    return SafeDictWriter(out, fieldnames, **kwargs)
