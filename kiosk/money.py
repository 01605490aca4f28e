"""Money in integer fen (1/100 CNY). Decimal with half-up rounding only at the edges; never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

Fen = int


class MoneyError(ValueError):
    """An amount that cannot be a sum of money."""


def yuan(text: str | int | Decimal) -> Fen:
    """Parse an amount in yuan ("12.5", "￥1,234.50", 3) into fen, rounding half up."""
    if isinstance(text, bool | float):
        raise MoneyError("amounts are never floats; pass a string or Decimal")
    raw = str(text).strip().replace(",", "").lstrip("￥¥").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise MoneyError(f"not an amount: {text!r}") from None
    if not value.is_finite():
        raise MoneyError(f"not an amount: {text!r}")
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def fen_of(value: Decimal) -> Fen:
    """Round a computed Decimal amount of fen (e.g. a percentage fee) half up to whole fen."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_fen(amount: Fen, symbol: str = "￥") -> str:
    """``123450`` -> ``￥1,234.50``; negative amounts keep their sign before the symbol."""
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{symbol}{whole:,}.{cents:02d}"
