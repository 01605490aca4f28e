"""Deposits (押金): a separate ledger with its own 收据, not 发票."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kiosk import audit
from kiosk.db.models import Unit
from kiosk.errors import Refused
from kiosk.i18n import N_, _
from kiosk.identity import Actor, require_role, unit_by_code
from kiosk.money import format_fen
from kiosk.pii import mask_text
from kiosk.printing import submit
from kiosk.writes import change_once, in_own_transaction
from plugins.billing.models import (
    Deposit,
)
from plugins.billing.service.bills import DESK_ROLES, _ref

if TYPE_CHECKING:
    from devices.printer import Receipt
    from kiosk.context import KioskContext


# One logger for the billing service, whichever module logs.
log = logging.getLogger("plugins.billing.service")


# -- deposits (a separate ledger; 收据, not 发票) ------------------------------------------------


def take_deposit_in(
    session: Session,
    ctx: KioskContext,
    actor: Actor,
    unit: str | int,
    kind: str,
    amount_fen: int,
    description: str = "",
    *,
    method: str = "cash",
    source_ref: str = "",
) -> Deposit:
    """Receive a deposit (cashier) inside the caller's transaction; a 收据 is queued."""
    require_role(actor, "take a deposit", *DESK_ROLES)
    if amount_fen <= 0:
        raise Refused("billing.amount", "A deposit must be a positive amount.")
    the_unit = unit_by_code(session, unit)
    if source_ref:
        existing = session.scalar(select(Deposit).where(Deposit.source_ref == source_ref))
        if existing is not None:
            return existing
    deposit = Deposit(
        receipt_no=_ref("SJ", ctx),
        unit_id=the_unit.id,
        kind=kind[:32],
        description=mask_text(description)[:200],
        amount_fen=amount_fen,
        method=method,
        status="held",
        source_ref=source_ref,
        received_by=actor.label,
        received_at=ctx.clock.now(),
    )
    session.add(deposit)
    session.flush()
    audit.record_for(
        ctx,
        session,
        actor,
        "billing.deposit.received",
        f"deposit:{deposit.receipt_no}",
        {"unit": the_unit.code, "kind": kind, "amount_fen": amount_fen},
    )
    _queue_receipt(session, ctx, deposit, the_unit, refund=False)
    return deposit


def refund_deposit_in(
    session: Session,
    ctx: KioskContext,
    actor: Actor,
    receipt_no: str,
    reason: str,
    *,
    roles: tuple[str, ...] = ("manager",),
) -> Deposit:
    """Refund inside the caller's transaction. ``roles`` lets a service whose procedure gives
    the refund to another role use it (parking: the cashier refunds a returned card's deposit)."""
    require_role(actor, "refund a deposit", *roles)
    refund_no = _ref("TJ", ctx)
    deposit = _close_deposit(
        session,
        receipt_no,
        status="refunded",
        refund_no=refund_no,
        refunded_by=actor.label,
        refunded_at=ctx.clock.now(),
    )
    unit = session.get(Unit, deposit.unit_id)
    assert unit is not None
    audit.record_for(
        ctx,
        session,
        actor,
        "billing.deposit.refunded",
        f"deposit:{receipt_no}",
        {"amount_fen": deposit.amount_fen, "reason": reason, "refund_no": refund_no},
    )
    _queue_receipt(session, ctx, deposit, unit, refund=True)
    return deposit


take_deposit = in_own_transaction(take_deposit_in)
refund_deposit = in_own_transaction(refund_deposit_in)


def _close_deposit(session: Session, receipt_no: str, **values: Any) -> Deposit:
    """Move a held deposit on (refunded, forfeited) exactly once: a conditional update, so two
    desks cannot both refund it; refused when it is not held."""
    change_once(
        session,
        update(Deposit)
        .where(Deposit.receipt_no == receipt_no, Deposit.status == "held")
        .values(**values)
        .execution_options(synchronize_session=False),
        Refused(
            "billing.deposit",
            "Deposit {receipt} is not held (unknown or already refunded).",
            receipt=receipt_no,
        ),
    )
    deposit = session.scalar(
        select(Deposit)
        .where(Deposit.receipt_no == receipt_no)
        .execution_options(populate_existing=True)
    )
    assert deposit is not None
    return deposit


def forfeit_deposit_in(
    session: Session,
    ctx: KioskContext,
    actor: Actor,
    receipt_no: str,
    reason: str,
    *,
    roles: tuple[str, ...] = ("manager",),
) -> Deposit:
    """Keep a held deposit (e.g. a lost card's) instead of refunding it, exactly once."""
    require_role(actor, "forfeit a deposit", *roles)
    deposit = _close_deposit(
        session,
        receipt_no,
        status="forfeited",
        refunded_by=actor.label,
        refunded_at=ctx.clock.now(),
    )
    audit.record_for(
        ctx,
        session,
        actor,
        "billing.deposit.forfeited",
        f"deposit:{receipt_no}",
        {"amount_fen": deposit.amount_fen, "reason": reason},
    )
    return deposit


DEPOSIT_KINDS: dict[str, str] = {"parking_card": N_("Parking card"), "key": N_("Key"),
                                  "umbrella": N_("Umbrella")}  # fmt: skip


def deposit_kind_title(kind: str) -> str:
    """What a deposit is for, in the reader's language (never the stored code)."""
    return _(DEPOSIT_KINDS.get(kind, N_("Other deposit")))


def _queue_receipt(
    session: Session, ctx: KioskContext, deposit: Deposit, unit: Unit, *, refund: bool
) -> None:
    """The deposit's 收据, or its refund's, on the print queue."""
    submit(
        session,
        _deposit_receipt(ctx, deposit, unit, refund=refund),
        kind="billing-deposit-refund" if refund else "billing-deposit",
        at=ctx.clock.now(),
        kiosk_id=ctx.kiosk_id,
    )


def _deposit_receipt(ctx: KioskContext, deposit: Deposit, unit: Unit, refund: bool) -> Receipt:
    from devices.printer import Receipt

    r = Receipt().title(_("Deposit refund receipt") if refund else _("Deposit receipt"))
    r.text(_("Receipt (收据), not an invoice"), align="center")
    r.row(_("Estate"), ctx.settings.estate.name).row(_("Unit"), unit.code)
    r.row(
        _("Receipt no."), deposit.refund_no if refund and deposit.refund_no else deposit.receipt_no
    )
    if refund:
        r.row(_("For deposit"), deposit.receipt_no)
    r.row(
        _("Deposit"),
        deposit_kind_title(deposit.kind)
        + (f" {deposit.description}" if deposit.description else ""),
    )
    r.row(_("Amount refunded") if refund else _("Amount received"), format_fen(deposit.amount_fen))
    r.row(
        _("Time"),
        ctx.local_time(
            deposit.refunded_at if refund and deposit.refunded_at else deposit.received_at
        ),
    )
    return r.cut()
