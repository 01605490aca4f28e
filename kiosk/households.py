"""What a household does once, whichever member does it: sign a notice, answer a survey.

The member is the resident identified at the kiosk (card tap, or unit + PIN); the record is a
row with the household's ``unit_id`` (a unique constraint keeps it once when two members act
at two kiosks at the same moment).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from kiosk.errors import Refused

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kiosk.context import KioskContext
    from kiosk.identity import Actor


def household_of(actor: Actor, plugin: str) -> int:
    """The unit of the resident ``actor``, or the refusal ``<plugin>.who`` asking for a card."""
    if actor.kind != "resident" or actor.unit_id is None:
        raise Refused(f"{plugin}.who", "Tap your card first, so we know your household.")
    return actor.unit_id


def household_has(session: Session, record: type[Any], unit_id: int, **about: Any) -> bool:
    """Whether household ``unit_id`` already has a ``record`` row matching ``about`` (e.g.
    ``notice_id=7``)."""
    found = session.scalar(select(record.id).filter_by(unit_id=unit_id, **about).limit(1))
    return found is not None


def household_done(ctx: KioskContext, actor: Actor | None, record: type[Any], **about: Any) -> bool:
    """:func:`household_has` for ``actor``'s household; False when no household is known."""
    if actor is None or actor.unit_id is None:
        return False
    with ctx.database().read() as session:
        return household_has(session, record, actor.unit_id, **about)
