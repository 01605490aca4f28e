"""The billing plugin's declared API: the one module other plugins may import.

Charges themselves go through the core (:func:`kiosk.charges.charge`, the ``kiosk_charge``
hook), so a service works without billing. This module adds what a service needs beyond
putting a charge on the account:

- whether billing runs here (:func:`available`): without it a service collects by hand;
- deposits (a parking card's 押金): :func:`take_deposit_in`, :func:`refund_deposit_in`,
  :func:`forfeit_deposit_in`, :func:`count_deposits`;
- what is still open or already paid for a set of charge references (:func:`open_fen`,
  :func:`paid_references`, :func:`open_bills_of`), and taking back an unpaid charge
  (:func:`withdraw_charge`);
- paying a chosen set of charges by QR (:func:`pay_charges`) and the kiosk screen that shows
  the QR (:func:`pay_qr_screen_class`, imported only when called: importing this module does
  not import textual);
- the simulated gateway paying an order, for scenarios (:func:`simulate_payment`).

Nothing else in ``plugins.billing`` is for other plugins; the import contracts enforce it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from kiosk.errors import Refused

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kiosk.context import KioskContext
    from kiosk.identity import Actor
    from plugins.billing.service import OrderView

PLUGIN = "billing"


def available(ctx: KioskContext) -> bool:
    """Whether the billing plugin is loaded here (not disabled, not failed)."""
    return ctx.plugins is not None and ctx.plugins.pm.get_plugin(PLUGIN) is not None


# -- deposits ---------------------------------------------------------------------------------


def take_deposit_in(
    session: Session,
    ctx: KioskContext,
    actor: Actor,
    unit_id: int,
    kind: str,
    amount_fen: int,
    description: str = "",
    *,
    source_ref: str = "",
) -> str:
    """Receive a deposit in cash inside the caller's transaction (a 收据 is queued); returns
    its receipt number. Idempotent on ``source_ref``."""
    from plugins.billing.service import take_deposit_in as take

    deposit = take(session, ctx, actor, unit_id, kind, amount_fen, description,
                   source_ref=source_ref)  # fmt: skip
    return deposit.receipt_no


def refund_deposit_in(
    session: Session,
    ctx: KioskContext,
    actor: Actor,
    receipt_no: str,
    reason: str,
    *,
    roles: tuple[str, ...] = ("manager",),
) -> None:
    """Give a held deposit back, exactly once, inside the caller's transaction."""
    from plugins.billing.service import refund_deposit_in as refund

    refund(session, ctx, actor, receipt_no, reason, roles=roles)


def forfeit_deposit_in(
    session: Session,
    ctx: KioskContext,
    actor: Actor,
    receipt_no: str,
    reason: str,
    *,
    roles: tuple[str, ...] = ("manager",),
) -> None:
    """Keep a held deposit (a lost card's), exactly once, inside the caller's transaction."""
    from plugins.billing.service import forfeit_deposit_in as forfeit

    forfeit(session, ctx, actor, receipt_no, reason, roles=roles)


def count_deposits(session: Session, source_prefix: str) -> int:
    """How many deposits were ever taken for sources starting with ``source_prefix``."""
    from plugins.billing.models import Deposit

    return int(
        session.scalar(
            select(func.count())
            .select_from(Deposit)
            .where(Deposit.source_ref.like(f"{source_prefix}%"))
        )
        or 0
    )


# -- charges by reference ---------------------------------------------------------------------


def open_fen(session: Session, references: list[str]) -> int:
    """What is still owed for the charges ``references`` (their lines on unpaid bills)."""
    from plugins.billing.models import Bill, BillLine

    if not references:
        return 0
    return int(
        session.scalar(
            select(func.coalesce(func.sum(BillLine.amount_fen), 0))
            .join(Bill, Bill.id == BillLine.bill_id)
            .where(BillLine.source_ref.in_(references), Bill.status != "paid")
        )
        or 0
    )


def paid_references(session: Session, references: list[str]) -> set[str]:
    """Which of ``references`` are paid (the bill holding the charge is settled)."""
    from plugins.billing.models import Bill, BillLine

    if not references:
        return set()
    return set(
        session.scalars(
            select(BillLine.source_ref)
            .join(Bill, Bill.id == BillLine.bill_id)
            .where(BillLine.source_ref.in_(references), Bill.status == "paid")
        )
    )


def open_bills_of(session: Session, references: list[str]) -> list[int]:
    """The ids of the unpaid bills holding ``references``, oldest first."""
    from plugins.billing.models import Bill, BillLine

    if not references:
        return []
    return list(
        session.scalars(
            select(Bill.id)
            .join(BillLine, BillLine.bill_id == Bill.id)
            .where(BillLine.source_ref.in_(references), Bill.status != "paid")
            .group_by(Bill.id, Bill.period)
            .order_by(Bill.period)
        )
    )


def withdraw_charge(ctx: KioskContext, actor: Actor, reference: str, reason: str) -> bool:
    """Take an unpaid charge back (a credit note for its amount on its bill); False when it
    is paid, unknown, or the bill no longer owes that much."""
    from plugins.billing.models import Bill, BillLine
    from plugins.billing.service import issue_credit_note

    with ctx.database().read() as session:
        row = session.execute(
            select(Bill.id, BillLine.amount_fen)
            .join(Bill, Bill.id == BillLine.bill_id)
            .where(BillLine.source_ref == reference, Bill.status != "paid")
        ).first()
    if row is None:
        return False
    try:
        issue_credit_note(ctx, actor, row[0], row[1], reason)
    except Refused:
        return False
    return True


# -- paying charges ---------------------------------------------------------------------------


def pay_charges(ctx: KioskContext, actor: Actor, references: list[str]) -> OrderView:
    """A QR payment order (the kiosk's provider) for the charges ``references``: today the
    order covers the bill holding them (one bill; refused when they sit on several)."""
    from plugins.billing import service

    with ctx.database().read() as session:
        bills = open_bills_of(session, references)
    if not bills:
        raise Refused("billing.settled", "Nothing is owed for this.")
    if len(bills) > 1:
        raise Refused("billing.several_bills", "Please pay these bills at the desk.")
    return service.create_payment_order(ctx, actor, bills[0], service.kiosk_provider(ctx))


def pay_qr_screen_class() -> type[Any]:
    """The kiosk screen showing a payment order's QR until it is paid, expires or is
    cancelled (subclass it and override ``paid(view)``, ``closed(order)``, ``cancelled()``);
    imported here, on use, so the API stays headless."""
    from plugins.billing.screens import PayQRScreen

    return PayQRScreen


def simulate_payment(ctx: KioskContext, order: OrderView) -> str:
    """The simulated gateway pays ``order`` and its notification is handled; the verdict
    (``paid``, ``duplicate``...). For scenarios and demos only."""
    from plugins.billing import service
    from plugins.billing.gateway import shared_gateway

    service.providers(ctx)
    headers, body = shared_gateway(ctx.clock).pay(order.out_trade_no)
    return service.handle_notification(ctx, order.provider, headers, body).verdict
