"""Money in integer fen (1/100 CNY). Decimal with half-up rounding only at the edges; never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from kiosk.i18n import N_

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


# The most a person may type as one amount at a desk or on the command line: ten million yuan.
MOST_TYPED: Fen = 10**9


def typed_fen(text: str, most: Fen = MOST_TYPED) -> Fen | None:
    """An amount a person typed in yuan ("120", "120.50", "￥1,234.5") as fen, or None unless it
    is more than nothing, in whole fen and at most ``most``. Typed money is never rounded:
    "12.345" is a mistake to show, not an amount to guess (:func:`yuan` rounds, for amounts
    a program computed or a statement file gives)."""
    raw = text.strip().replace(",", "").lstrip("￥¥").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    fen = value * 100
    if fen != fen.to_integral_value() or not 0 < fen <= most:
        return None
    return int(fen)


def typed_amount(text: str, most: Fen = MOST_TYPED) -> Fen:
    """:func:`typed_fen`, refused in words (``money.amount``) where it is not an amount."""
    from kiosk.errors import Refused

    fen = typed_fen(text, most)
    if fen is None:
        raise Refused(
            "money.amount",
            N_("{amount} is not an amount of money: type yuan, e.g. 120 or 120.50."),
            amount=text,
        )
    return fen


def fen_of(value: Decimal) -> Fen:
    """Round a computed Decimal amount of fen (e.g. a percentage fee) half up to whole fen."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_fen(amount: Fen, symbol: str = "￥") -> str:
    """``123450`` -> ``￥1,234.50``; negative amounts keep their sign before the symbol."""
    sign = "-" if amount < 0 else ""
    whole, cents = divmod(abs(amount), 100)
    return f"{sign}{symbol}{whole:,}.{cents:02d}"
