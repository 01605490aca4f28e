"""The billing plugin's declared API: the one module other plugins may import.

Charges themselves go through the core (:func:`kiosk.charges.charge`, the ``kiosk_charge``
hook), so a service works without billing. This module adds what a service needs beyond
putting a charge on the account:

- whether billing runs here (:func:`available`): without it a service collects by hand;
- deposits (a parking card's 押金): :func:`take_deposit_in`, :func:`end_deposit_in` (refunded
  or forfeited), :func:`count_deposits`;
- what is still open or already paid for a set of charge references (:func:`open_fen`,
  :func:`paid_references`), and what a unit still owes in all (:func:`unit_open_fen`, the
  fees a move-out must clear), and taking back an unpaid charge (:func:`withdraw_charge`);
- paying a chosen set of charges by QR (:func:`pay_charges`) and the kiosk screen that shows
  the QR (:func:`pay_qr_screen_class`, imported only when called: importing this module does
  not import textual);
- the simulated gateway paying an order, for scenarios (:func:`simulate_payment`).

Nothing else in ``plugins.billing`` is for other plugins; the import contracts enforce it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

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


def end_deposit_in(
    session: Session,
    ctx: KioskContext,
    actor: Actor,
    receipt_no: str,
    reason: str,
    *,
    forfeit: bool = False,
    roles: tuple[str, ...] = ("manager",),
) -> None:
    """Give a held deposit back (a refund 收据 is queued), or with ``forfeit`` keep it (a lost
    card's), exactly once, inside the caller's transaction."""
    from plugins.billing import service

    service.end_deposit_in(session, ctx, actor, receipt_no, reason, forfeit=forfeit, roles=roles)


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
    """What is still owed for the charges ``references`` (not paid on their own, on bills
    not settled)."""
    from plugins.billing.models import Bill, BillLine

    if not references:
        return 0
    return int(
        session.scalar(
            select(func.coalesce(func.sum(BillLine.amount_fen - BillLine.paid_fen), 0))
            .join(Bill, Bill.id == BillLine.bill_id)
            .where(BillLine.source_ref.in_(references), Bill.status != "paid")
        )
        or 0
    )


def unit_open_fen(session: Session, unit_id: int) -> int:
    """What unit ``unit_id`` still owes on all its bills not settled (charges less credits and
    payments, late fees crystallised so far included): nothing open is 0."""
    from plugins.billing.models import Bill

    return int(
        session.scalar(
            select(
                func.coalesce(func.sum(Bill.charged_fen - Bill.credited_fen - Bill.paid_fen), 0)
            ).where(Bill.unit_id == unit_id, Bill.status != "paid")
        )
        or 0
    )


def paid_references(session: Session, references: list[str]) -> set[str]:
    """Which of ``references`` are paid: on their own (an order for chosen charges) or with
    their whole bill."""
    from plugins.billing.models import Bill, BillLine

    if not references:
        return set()
    return set(
        session.scalars(
            select(BillLine.source_ref)
            .join(Bill, Bill.id == BillLine.bill_id)
            .where(
                BillLine.source_ref.in_(references),
                or_(Bill.status == "paid", BillLine.paid_fen >= BillLine.amount_fen),
            )
        )
    )


def _open_lines(session: Session, references: list[str]) -> list[tuple[int, int, int]]:
    """(bill id, line id, amount) of the unpaid charges ``references``, oldest bill first."""
    from plugins.billing.models import Bill, BillLine

    if not references:
        return []
    rows = session.execute(
        select(Bill.id, BillLine.id, BillLine.amount_fen)
        .join(Bill, Bill.id == BillLine.bill_id)
        .where(BillLine.source_ref.in_(references), Bill.status != "paid", BillLine.paid_fen == 0)
        .order_by(Bill.period, BillLine.id)
    ).all()
    return [(b, ln, amount) for b, ln, amount in rows]


def withdraw_charge(ctx: KioskContext, actor: Actor, reference: str, reason: str) -> bool:
    """Take an unpaid charge back (a credit note for its amount on its bill); False when it
    is paid, unknown, or the bill no longer owes that much. Call it once per charge, guarded
    by your own state change (parking: the period pending -> cancelled)."""
    from plugins.billing.service import issue_credit_note

    with ctx.database().read() as session:
        found = _open_lines(session, [reference])
    if not found:
        return False
    bill_id, _line, amount = found[0]
    try:
        issue_credit_note(ctx, actor, bill_id, amount, reason)
    except Refused:
        return False
    return True


# -- paying charges ---------------------------------------------------------------------------


def pay_charges(ctx: KioskContext, actor: Actor, references: list[str]) -> OrderView:
    """A QR payment order (the kiosk's provider) for exactly the charges ``references``
    (a parking renewal: its rent alone, not the rest of the month's bill). They must be on
    one bill; refused when nothing is owed for them."""
    from plugins.billing import service

    with ctx.database().read() as session:
        found = _open_lines(session, references)
    if not found:
        raise Refused("billing.settled", "Nothing is owed for this.")
    bills = {bill for bill, _line, _amount in found}
    if len(bills) > 1:
        raise Refused("billing.several_bills", "Please pay these bills at the desk.")
    return service.create_payment_order(
        ctx,
        actor,
        found[0][0],
        service.kiosk_provider(ctx),
        line_ids=[line for _bill, line, _amount in found],
    )


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
