"""Item storage (物品寄存), headless: the desk takes an item in (:func:`store_item`: category
checked against the prohibited list, the depositor a resident of the unit, the expected pickup
within ``storage_max_days``) and prints a ticket; a check at every shift handover
(:func:`handover_checklist`, :func:`record_handover_check`); the item goes back to its
depositor or a resident with ID last 4, condition and signature (:func:`release_stored`); the
register (:func:`storage_register`). A stored item waits in the lobby that took it in."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from kiosk import audit, printing
from kiosk.clock import as_utc
from kiosk.db.models import Resident, Unit
from kiosk.errors import Refused, Term
from kiosk.i18n import N_
from kiosk.identity import Actor, require_role, unit_by_code
from kiosk.lobby import desk_lobby, in_lobby
from kiosk.notify import raise_alert
from kiosk.pii import mask_name, mask_text
from kiosk.writes import change_once
from plugins.parcels import signature
from plugins.parcels.models import (
    StorageCheck,
    StoredItem,
)
from plugins.parcels.rules import (
    DESK_ROLES,
    ParcelRules,
    clean_id_last4,
    masked_last4,
)
from plugins.parcels.storage_rules import (
    ALLOWED_CATEGORIES,
    PROHIBITED_CATEGORIES,
    storage_refusal,
)

if TYPE_CHECKING:
    from devices.printer import Receipt
    from kiosk.context import KioskContext


# -- item storage (物品寄存) --------------------------------------------------------------------


@dataclass(frozen=True)
class StorageTicket:
    item_id: int
    ticket: str
    print_job_id: int
    receipt: Receipt = field(repr=False)


def store_item(
    ctx: KioskContext,
    actor: Actor,
    *,
    unit_code: str,
    depositor_name: str,
    description: str,
    category: str,
    expected_pickup_at: dt.datetime,
    quantity: int = 1,
    condition: str = "",
    depositor_phone: str = "",
) -> StorageTicket:
    """Take an item into temporary storage at the desk (owners and occupants only)."""
    require_role(actor, "storage.deposit", *DESK_ROLES)
    rules = ParcelRules.of(ctx)
    now = ctx.clock.now()
    bad = storage_refusal(category, description)
    if bad is not None:
        raise Refused(
            "parcels.storage_prohibited",
            "These cannot be stored at the desk: {what}.",
            what=Term(PROHIBITED_CATEGORIES[bad]),
        )
    if category not in ALLOWED_CATEGORIES:
        raise Refused(
            "parcels.storage_category",
            "Unknown category {category} (expected {allowed}).",
            category=category,
            allowed=", ".join(ALLOWED_CATEGORIES),
        )
    if not description.strip() or quantity < 1:
        raise Refused("parcels.storage_description", "Describe the item and how many pieces.")
    expected = as_utc(expected_pickup_at)
    if expected <= now or expected > now + dt.timedelta(days=rules.storage_max_days):
        raise Refused(
            "parcels.storage_pickup_time",
            "The pickup time must be within the next {days} days (temporary storage only).",
            days=rules.storage_max_days,
        )
    with ctx.database().write() as session:
        unit = unit_by_code(session, unit_code)
        names = {
            " ".join(r.name.split()).casefold()
            for r in session.scalars(
                select(Resident).where(Resident.unit_id == unit.id, Resident.active.is_(True))
            )
        }
        if " ".join(depositor_name.split()).casefold() not in names:
            raise Refused(
                "parcels.storage_not_resident",
                "Storage is for owners and occupants of the estate only.",
            )
        ticket = "J" + f"{secrets.randbelow(10**6):06d}"
        while session.scalar(select(StoredItem.id).where(StoredItem.ticket == ticket)):
            ticket = "J" + f"{secrets.randbelow(10**6):06d}"
        item = StoredItem(
            ticket=ticket,
            lobby=ctx.lobby,
            unit_id=unit.id,
            depositor_name=" ".join(depositor_name.split()),
            depositor_phone=depositor_phone.strip(),
            description=mask_text(description.strip())[:200],
            category=category,
            quantity=quantity,
            condition=mask_text(condition.strip())[:200],
            status="stored",
            deposited_at=now,
            deposited_by=actor.label,
            expected_pickup_at=expected,
        )
        session.add(item)
        session.flush()
        from devices.printer import Receipt

        receipt = (
            Receipt()
            .title("物品寄存凭条 Storage ticket")
            .row("凭条号 Ticket", ticket)
            .row("单元 Unit", unit.code)
            .row("寄存人 Depositor", mask_name(item.depositor_name))
            .row("物品 Item", f"{item.description} x{quantity}")
            .row("寄存时间 In", ctx.local_time(now))
            .row("预计取件 Pickup by", ctx.local_time(expected))
            .barcode(ticket)
            .text("取件时请出示本凭条并签名 Show this ticket and sign to collect")
            .cut()
        )
        job = printing.submit(
            session, receipt, kind="storage-ticket", at=now, kiosk_id=ctx.kiosk_id
        )
        audit.record_for(
            ctx,
            session,
            actor.label,
            "storage.deposited",
            f"storage_item:{item.id}",
            {
                "ticket": ticket,
                "unit": unit.code,
                "category": category,
                "quantity": quantity,
                "phone": item.depositor_phone,
            },
        )
        return StorageTicket(item.id, ticket, job.id, receipt)


def handover_checklist(ctx: KioskContext, lobby: str | None = None) -> list[dict[str, Any]]:
    """Every item in storage for the shift handover, overdue ones flagged: of one lobby's
    desk (with the items tied to none), or of every lobby when ``lobby`` is None."""
    now = ctx.clock.now()
    with ctx.database().read() as session:
        rows = session.execute(
            select(StoredItem, Unit.code)
            .join(Unit, Unit.id == StoredItem.unit_id, isouter=True)
            .where(StoredItem.status == "stored", *in_lobby(StoredItem.lobby, lobby))
            .order_by(StoredItem.deposited_at)
        ).all()
    return [
        {
            "id": item.id,
            "lobby": item.lobby,
            "ticket": item.ticket,
            "unit": code or "",
            "depositor": mask_name(item.depositor_name),
            "item": item.description,
            "quantity": item.quantity,
            "in": ctx.local_time(item.deposited_at),
            "expected": ctx.local_time(item.expected_pickup_at),
            "overdue": as_utc(item.expected_pickup_at) < now,
        }
        for item, code in rows
    ]


def record_handover_check(
    ctx: KioskContext,
    actor: Actor,
    *,
    handed_to: str,
    results: dict[int, str],
    note: str = "",
) -> int:
    """Record the daily check: each stored item marked ``ok`` or ``missing`` (or a remark).
    Missing and overdue items alert the desk. A desk of one lobby checks its own shelves."""
    require_role(actor, "storage.check", *DESK_ROLES)
    checklist = handover_checklist(ctx, desk_lobby(ctx, actor))
    unchecked = [c["ticket"] for c in checklist if c["id"] not in results]
    if unchecked:
        raise Refused(
            "parcels.storage_unchecked",
            "Check every stored item before handing over ({tickets} not checked).",
            tickets=", ".join(unchecked),
        )
    now = ctx.clock.now()
    lines = [{**c, "result": results[c["id"]]} for c in checklist]
    problems = [line["ticket"] for line in lines if line["result"] != "ok" or line["overdue"]]
    with ctx.database().write() as session:
        check = StorageCheck(
            checked_at=now,
            checked_by=actor.label,
            handed_to=handed_to.strip()[:100],
            items=lines,
            note=mask_text(note.strip())[:300],
        )
        session.add(check)
        session.flush()
        if problems:
            raise_alert(
                session,
                "storage_check",
                N_("storage handover: check items {items} (missing, damaged or overdue)"),
                params={"items": ", ".join(problems)},
                at=now,
                lobby=ctx.lobby,
            )
        audit.record_for(
            ctx,
            session,
            actor.label,
            "storage.checked",
            f"storage_check:{check.id}",
            {"items": len(lines), "problems": problems, "handed_to": check.handed_to},
        )
        return check.id


def release_stored(
    ctx: KioskContext,
    actor: Actor,
    *,
    ticket: str,
    claimant_name: str,
    strokes: Any,
    id_last4: str,
    condition: str,
) -> int:
    """Give a stored item back to its depositor (or a resident of the unit), with signature.

    000 "物品寄存" 4: the claimant's ID is registered (the last 4 characters, never more) and
    the item's condition checked with them: both are required and kept on the record."""
    require_role(actor, "storage.release", *DESK_ROLES)
    last4 = clean_id_last4(id_last4)
    if not last4:
        raise Refused(
            "parcels.storage_id_required",
            "Check the claimant's ID and enter its last 4 characters before giving the item back.",
        )
    state = mask_text(" ".join(condition.split()))[:200]
    if not state:
        raise Refused(
            "parcels.storage_condition",
            "Check the item with the claimant and note its condition (e.g. intact).",
        )
    strokes = signature.require_signature(strokes)
    png = signature.to_png(strokes)
    now = ctx.clock.now()
    with ctx.database().write() as session:
        item = session.scalar(select(StoredItem).where(StoredItem.ticket == ticket.strip().upper()))
        if item is None:
            raise Refused(
                "parcels.storage_unknown", "No stored item has ticket {ticket}.", ticket=ticket
            )
        lobby = desk_lobby(ctx, actor)
        if lobby is not None and item.lobby not in ("", lobby):
            raise Refused(
                "parcels.storage_at_lobby",
                "Ticket {ticket} is stored at lobby {lobby}'s desk.",
                ticket=item.ticket,
                lobby=item.lobby,
            )
        wanted = " ".join(claimant_name.split()).casefold()
        names = {" ".join(item.depositor_name.split()).casefold()}
        if item.unit_id is not None:
            names |= {
                " ".join(r.name.split()).casefold()
                for r in session.scalars(
                    select(Resident).where(
                        Resident.unit_id == item.unit_id, Resident.active.is_(True)
                    )
                )
            }
        if wanted not in names:
            raise Refused(
                "parcels.storage_not_owner",
                "Only the depositor or a resident of the unit may collect this item.",
            )
        change_once(
            session,
            update(StoredItem)
            .where(StoredItem.id == item.id, StoredItem.status == "stored")
            .values(
                status="released",
                released_at=now,
                released_by=actor.label,
                released_to=" ".join(claimant_name.split())[:100],
                claimant_id_last4=last4,
                release_condition=state,
                signature_strokes=strokes,
                signature_png=png,
            ),
            Refused("parcels.storage_released", "This item was already collected."),
        )
        audit.record_for(
            ctx,
            session,
            actor.label,
            "storage.released",
            f"storage_item:{item.id}",
            {
                "ticket": item.ticket,
                "to": mask_name(claimant_name),
                "id_checked": True,
                "condition": state,
            },
        )
        return item.id


STORAGE_REGISTER_FIELDS = (
    "ticket", "lobby", "unit", "depositor", "item", "category", "quantity", "condition_in",
    "in", "expected", "status", "released", "released_to", "claimant_id", "condition_out",
    "released_by",
)  # fmt: skip


def storage_register(ctx: KioskContext, lobby: str | None = None) -> list[dict[str, Any]]:
    """The storage register (物品寄存登记): every item, stored or given back, with the
    claimant's ID as ``****1234`` and the condition at deposit and at release."""
    with ctx.database().read() as session:
        rows = session.execute(
            select(StoredItem, Unit.code)
            .join(Unit, Unit.id == StoredItem.unit_id, isouter=True)
            .where(*in_lobby(StoredItem.lobby, lobby))
            .order_by(StoredItem.deposited_at, StoredItem.id)
        ).all()
    return [
        {
            "ticket": i.ticket,
            "lobby": i.lobby,
            "unit": code or "",
            "depositor": mask_name(i.depositor_name),
            "item": i.description,
            "category": i.category,
            "quantity": i.quantity,
            "condition_in": i.condition,
            "in": ctx.local_time(i.deposited_at),
            "expected": ctx.local_time(i.expected_pickup_at),
            "status": i.status,
            "released": ctx.local_time(i.released_at) if i.released_at else "",
            "released_to": mask_name(i.released_to) if i.released_to else "",
            "claimant_id": masked_last4(i.claimant_id_last4),
            "condition_out": i.release_condition,
            "released_by": i.released_by,
        }
        for i, code in rows
    ]
