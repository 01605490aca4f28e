"""The ``bill`` notification link (``kiosk serve --links``): a QR payment order for the bill,
created as the resident the link was sent to and shown once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kiosk.errors import Refused
from kiosk.hookspecs import LinkAction, LinkPage
from kiosk.identity import Actor
from kiosk.money import format_fen

if TYPE_CHECKING:
    from kiosk.context import KioskContext


def show(ctx: KioskContext, subject: str, unit_id: int | None, t: Callable[[str], str]) -> LinkPage:
    from plugins.billing import service

    parts = subject.split(":")  # bill:<id>:r:<resident>
    resident = Actor("resident", int(parts[3]), "", frozenset(), unit_id=unit_id)
    try:
        order = service.create_payment_order(
            ctx, resident, int(parts[1]), service.kiosk_provider(ctx)
        )
    except Refused as exc:
        return LinkPage(t("Pay your bill"), (exc.render(t),))
    return LinkPage(
        t("Pay your bill"),
        (f"{order.bill_number}: {format_fen(order.amount_fen)}",),
        qr=order.qr_content,
        footer=(ctx.local_time(order.expires_at),),
        use="order",
    )


def link_actions() -> list[LinkAction]:
    return [LinkAction("bill", show)]
