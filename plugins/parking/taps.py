"""What a parking card tap at the kiosk means (headless; the screen is built lazily)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kiosk.hookspecs import CardOutcome
from plugins.parking import service

if TYPE_CHECKING:
    from kiosk.context import KioskContext


def card_outcome(ctx: KioskContext, uid: str, card_id: int | None = None) -> CardOutcome | None:
    """Valid, expired or unpaid -> the validity screen (renewal offered); lost -> refused and
    the desk alerted; returned -> refused. ``card_id``: the card the tap found."""
    validity = service.card_validity(ctx, uid, card_id=card_id)
    if validity is None:
        return None
    data: dict[str, Any] = {
        "plate": validity.plate,
        "card": validity.card_number,
        "end": validity.end_date.isoformat(),
        "unit": validity.unit_code,
    }
    if validity.state == "lost":
        service.alert_blocked_tap(ctx, validity, uid)
        return CardOutcome(
            kind="parking.lost",
            message="This parking card ({card}) was reported lost and is blocked. "
            "Please see the desk.",
            refused=True,
            data=data,
        )
    if validity.state == "returned":
        return CardOutcome(
            kind="parking.returned",
            message="This parking card ({card}) was returned and no longer works.",
            refused=True,
            data=data,
        )

    def screen(c: KioskContext) -> Any:
        from plugins.parking.screens import ValidityScreen

        return ValidityScreen(c, validity)

    return CardOutcome(kind=f"parking.{validity.state}", message="", screen=screen, data=data)
