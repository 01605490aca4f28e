"""Deposits (押金): a separate ledger with its own 收据, not 发票."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, String, bindparam, insert, select, update
from sqlalchemy.orm import Session

from kiosk import audit
from kiosk.db import direct
from kiosk.db.models import Unit
from kiosk.errors import Refused
from kiosk.i18n import N_, _
from kiosk.identity import Actor, normalise_unit_code, require_role, unit_by_code
from kiosk.money import format_fen
from kiosk.pii import mask_text
from kiosk.printing import submit
from kiosk.writes import in_own_transaction
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


# The unit a deposit is taken for (by id or by its normalised code), with the deposit already
# taken for the same source, if any: one read.
_UNIT_AND_DEPOSIT = {
    by_id: select(
        Unit.id,
        Unit.code,
        select(Deposit.id)
        .where(Deposit.source_ref == bindparam("source_ref"))
        .order_by(Deposit.id)
        .limit(1)
        .scalar_subquery(),
    ).where(
        Unit.id == bindparam("unit", type_=Integer)
        if by_id
        else Unit.code == bindparam("unit", type_=String)
    )
    for by_id in (False, True)
}
_INSERT_DEPOSIT = insert(Deposit).returning(Deposit.id)
# A held deposit refunded or forfeited (a forfeit has no refund number), answering the row and
# its unit's code (for the receipt). SQLite writes the subquery's columns without their tables
# there ("id = unit_id"), which still reads right: ``unit`` has an ``id`` and no ``unit_id``.
_CLOSE_DEPOSIT = (
    update(Deposit)
    .where(Deposit.receipt_no == bindparam("receipt"), Deposit.status == "held")
    .values(
        status=bindparam("b_status"),
        refund_no=bindparam("b_refund_no"),
        refunded_by=bindparam("by"),
        refunded_at=bindparam("at"),
    )
    .returning(
        *Deposit.__table__.columns,
        select(Unit.code).where(Unit.id == Deposit.unit_id).scalar_subquery().label("unit_code"),
    )
)


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
    """Receive a deposit (cashier) inside the caller's transaction; a 收据 is queued. The
    deposit comes back as a detached object (one ``INSERT ... RETURNING``)."""
    require_role(actor, "take a deposit", *DESK_ROLES)
    if amount_fen <= 0:
        raise Refused("billing.amount", "A deposit must be a positive amount.")
    connection = session.connection()
    by_id = isinstance(unit, int)
    found = direct.execute(
        connection,
        _UNIT_AND_DEPOSIT[by_id],
        {"unit": unit if by_id else normalise_unit_code(str(unit)), "source_ref": source_ref},
    ).first()
    if found is None:
        unit_by_code(session, unit)  # raises the refusal every service gives for no such unit
        raise AssertionError(f"unit {unit} found by one lookup and not the other")
    unit_id, unit_code, existing = found
    if source_ref and existing is not None:
        return session.get_one(Deposit, existing)
    values = {
        "receipt_no": _ref("SJ", ctx),
        "unit_id": unit_id,
        "kind": kind[:32],
        "description": mask_text(description)[:200],
        "amount_fen": amount_fen,
        "method": method,
        "status": "held",
        "source_ref": source_ref,
        "received_by": actor.label,
        "received_at": ctx.clock.now(),
        "refund_no": None,
        "refunded_by": "",
        "refunded_at": None,
    }
    deposit = direct.inserted(session, _INSERT_DEPOSIT, Deposit, values)
    return _moved(
        session,
        ctx,
        actor,
        deposit,
        "billing.deposit.received",
        {"unit": unit_code, "kind": kind, "amount_fen": amount_fen},
        receipt_for=unit_code,
    )


def end_deposit_in(
    session: Session,
    ctx: KioskContext,
    actor: Actor,
    receipt_no: str,
    reason: str,
    *,
    forfeit: bool = False,
    roles: tuple[str, ...] = ("manager",),
) -> Deposit:
    """Refund a held deposit inside the caller's transaction (its refund 收据 is queued), or
    with ``forfeit`` keep it instead (e.g. a lost card's): exactly once, audited. ``roles``
    lets a service whose procedure gives the refund to another role use it (parking: the
    cashier refunds a returned card's deposit)."""
    require_role(actor, "forfeit a deposit" if forfeit else "refund a deposit", *roles)
    refund = {} if forfeit else {"refund_no": _ref("TJ", ctx)}
    deposit, unit_code = _close_deposit(
        session,
        receipt_no,
        status="forfeited" if forfeit else "refunded",
        by=actor.label,
        at=ctx.clock.now(),
        **refund,
    )
    return _moved(
        session,
        ctx,
        actor,
        deposit,
        "billing.deposit.forfeited" if forfeit else "billing.deposit.refunded",
        {"amount_fen": deposit.amount_fen, "reason": reason, **refund},
        receipt_for=None if forfeit else unit_code,
    )


take_deposit = in_own_transaction(take_deposit_in)
refund_deposit = in_own_transaction(end_deposit_in)  # ``forfeit`` defaults to False: a refund


def _close_deposit(
    session: Session,
    receipt_no: str,
    status: str,
    by: str,
    at: dt.datetime,
    refund_no: str | None = None,
) -> tuple[Deposit, str]:
    """Move a held deposit on (refunded, forfeited) exactly once: a conditional update, so two
    desks cannot both refund it; refused when it is not held. The deposit as it now is (a
    detached object) and its unit's code come back from the update."""
    row = direct.execute(
        session.connection(),
        _CLOSE_DEPOSIT,
        {
            "receipt": receipt_no,
            "b_status": status,
            "b_refund_no": refund_no,
            "by": by,
            "at": at,
        },
    ).first()
    if row is None:
        raise Refused(
            "billing.deposit",
            "Deposit {receipt} is not held (unknown or already refunded).",
            receipt=receipt_no,
        )
    columns = dict(row._mapping)
    unit_code = columns.pop("unit_code")
    return Deposit(**columns), unit_code


def _moved(
    session: Session,
    ctx: KioskContext,
    actor: Actor,
    deposit: Deposit,
    event: str,
    details: dict[str, Any],
    *,
    receipt_for: str | None,
) -> Deposit:
    """Every move of a deposit is audited under its receipt number; with ``receipt_for`` (the
    code of the deposit's unit), its 收据 is queued (the refund's once it is refunded)."""
    audit.record_for(ctx, session, actor, event, f"deposit:{deposit.receipt_no}", details)
    if receipt_for is not None:
        _queue_receipt(session, ctx, deposit, receipt_for, refund=deposit.status == "refunded")
    return deposit


DEPOSIT_KINDS: dict[str, str] = {"parking_card": N_("Parking card"), "key": N_("Key"),
                                  "umbrella": N_("Umbrella"), "renovation": N_("Renovation"),
                                  "other": N_("Other deposit")}  # fmt: skip


def deposit_kind_title(kind: str) -> str:
    """What a deposit is for, in the reader's language (never the stored code)."""
    return _(DEPOSIT_KINDS.get(kind, N_("Other deposit")))


def _queue_receipt(
    session: Session, ctx: KioskContext, deposit: Deposit, unit_code: str, *, refund: bool
) -> None:
    """The deposit's 收据, or its refund's, on the print queue."""
    submit(
        session,
        _deposit_receipt(ctx, deposit, unit_code, refund=refund),
        kind="billing-deposit-refund" if refund else "billing-deposit",
        at=ctx.clock.now(),
        kiosk_id=ctx.kiosk_id,
    )


def _deposit_receipt(ctx: KioskContext, deposit: Deposit, unit_code: str, refund: bool) -> Receipt:
    from devices.printer import Receipt

    r = Receipt().title(_("Deposit refund receipt") if refund else _("Deposit receipt"))
    r.text(_("Receipt (收据), not an invoice"), align="center")
    r.row(_("Estate"), ctx.settings.estate.name).row(_("Unit"), unit_code)
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
