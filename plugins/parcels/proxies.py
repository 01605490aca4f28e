"""Named proxies (代领人) who may collect a unit's parcels: added and withdrawn at the desk,
listed with their phones masked. Who may take what is :func:`plugins.parcels.service.may_collect`."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kiosk import audit
from kiosk.clock import as_utc
from kiosk.db.models import Resident, Unit
from kiosk.errors import Refused
from kiosk.identity import Actor, require_role, unit_by_code
from kiosk.pii import mask_name, mask_phone
from kiosk.writes import change_once
from plugins.parcels.models import (
    Proxy,
)
from plugins.parcels.rules import (
    DESK_ROLES,
    norm_name,
    proxy_valid,
)

if TYPE_CHECKING:
    from kiosk.context import KioskContext


# -- proxies ----------------------------------------------------------------------------------


def _proxy_resident(session: Session, unit: Unit, who: str | int | None) -> Resident | None:
    """The active resident of ``unit`` named by id or by name, None for None/""."""
    if who is None or (isinstance(who, str) and not who.strip()):
        return None
    rows = session.scalars(
        select(Resident)
        .where(Resident.unit_id == unit.id, Resident.active.is_(True))
        .order_by(Resident.id)
    ).all()
    if isinstance(who, int) or (isinstance(who, str) and who.strip().isdigit()):
        found = next((r for r in rows if r.id == int(who)), None)
    else:
        found = next((r for r in rows if norm_name(r.name) == norm_name(str(who))), None)
    if found is None:
        raise Refused(
            "parcels.proxy_resident",
            "{who} is not a resident of {unit}.",
            who=str(who),
            unit=unit.code,
        )
    return found


def proxy_until(ctx: KioskContext, day: str) -> dt.datetime | None:
    """The end of ``day`` (YYYY-MM-DD) in the estate's zone: a proxy valid "until the 5th" works
    all day; None for an empty day (no end)."""
    if not day.strip():
        return None
    try:
        date = dt.date.fromisoformat(day.strip())
    except ValueError:
        raise Refused("parcels.proxy_until_format", "Give the date as YYYY-MM-DD.") from None
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), tzinfo=ctx.zone)
    return end.astimezone(dt.UTC)


def add_proxy(
    ctx: KioskContext,
    actor: Actor,
    unit_code: str,
    name: str,
    phone: str = "",
    *,
    resident: str | int | None = None,
    until: dt.datetime | None = None,
) -> int:
    """Name someone who may collect parcels for a resident of the unit (``resident``, by
    name or id), until ``until`` or removal.

    A resident (card tap) names proxies for themselves only. The desk may name one for a
    resident or, with no ``resident``, for the whole household (then it collects every
    resident's items). A proxy collects at the kiosk with the unit's pickup code (the code the
    household forwarded is its consent) or at the desk with an ID (last 4 recorded); a card
    opens only its holder's own unit, never someone else's."""
    clean = " ".join(name.split())[:100]
    if not clean:
        raise Refused("parcels.proxy_name", "Enter the proxy's name.")
    now = ctx.clock.now()
    if until is not None and as_utc(until) <= now:
        raise Refused("parcels.proxy_until", "The end date of a proxy must be in the future.")
    with ctx.database().write() as session:
        unit = unit_by_code(session, unit_code)
        for_whom = _proxy_resident(session, unit, resident)
        if actor.kind == "resident" and actor.unit_id == unit.id:
            if for_whom is None:
                for_whom = session.get(Resident, actor.id)
            if for_whom is None or for_whom.id != actor.id:
                raise Refused(
                    "parcels.proxy_for_other",
                    "You can name proxies for yourself only; the desk records the others.",
                )
        else:
            require_role(actor, "parcel.add_proxy", *DESK_ROLES)
        if any(
            norm_name(p.name) == norm_name(clean)
            for p in session.scalars(
                select(Proxy).where(Proxy.unit_id == unit.id, *proxy_valid(now))
            )
        ) or any(
            norm_name(r.name) == norm_name(clean)
            for r in session.scalars(
                select(Resident).where(Resident.unit_id == unit.id, Resident.active.is_(True))
            )
        ):
            raise Refused(
                "parcels.proxy_exists",
                "{name} is already named for {unit} (or lives there); remove that one first.",
                name=clean,
                unit=unit.code,
            )
        proxy = Proxy(
            unit_id=unit.id,
            resident_id=for_whom.id if for_whom is not None else None,
            name=clean,
            phone=phone.strip()[:32],
            until=as_utc(until) if until is not None else None,
            created_by=actor.label,
            created_at=now,
        )
        session.add(proxy)
        session.flush()
        whom = f"resident:{proxy.resident_id}" if proxy.resident_id else "household"
        audit.record_for(ctx, session, actor, "parcel.proxy_added", f"parcel_proxy:{proxy.id}",
                         {"unit": unit.code, "name": mask_name(proxy.name), "phone": proxy.phone,
                          "for": whom, "until": proxy.until.isoformat() if proxy.until else None})  # fmt: skip
        return proxy.id


def remove_proxy(ctx: KioskContext, actor: Actor, proxy_id: int, unit_code: str = "") -> None:
    """Withdraw a proxy (the row stays, with who removed it and when). A resident removes
    their own proxies; the desk any of the unit's."""
    now = ctx.clock.now()
    with ctx.database().write() as session:
        proxy = session.get(Proxy, int(proxy_id))
        unit = unit_by_code(session, unit_code) if unit_code.strip() else None
        if proxy is None or (unit is not None and proxy.unit_id != unit.id):
            raise Refused(
                "parcels.proxy_unknown", "There is no proxy {id} for that unit.", id=proxy_id
            )
        own = actor.kind == "resident" and proxy.resident_id == actor.id
        if not own:
            require_role(actor, "parcel.remove_proxy", *DESK_ROLES)
        change_once(
            session,
            update(Proxy)
            .where(Proxy.id == proxy.id, Proxy.active.is_(True))
            .values(active=False, removed_by=actor.label, removed_at=now),
            Refused("parcels.proxy_removed", "That proxy was already removed."),
        )
        audit.record_for(
            ctx,
            session,
            actor.label,
            "parcel.proxy_removed",
            f"parcel_proxy:{proxy.id}",
            {"unit_id": proxy.unit_id, "name": mask_name(proxy.name)},
        )


def desk_proxies(
    ctx: KioskContext, actor: Actor, unit_code: str, include_inactive: bool = False
) -> list[dict[str, Any]]:
    """:func:`list_proxies` for desk staff (the desk panel and ``kiosk parcels proxy list``)."""
    require_role(actor, "parcel.list_proxies", *DESK_ROLES)
    return list_proxies(ctx, unit_code, include_inactive)


def list_proxies(
    ctx: KioskContext, unit_code: str, include_inactive: bool = False
) -> list[dict[str, Any]]:
    """The unit's proxies for the desk: name, whose (a resident, masked, or the household),
    phone masked, until, and whether they may collect now."""
    now = ctx.clock.now()
    with ctx.database().read() as session:
        unit = unit_by_code(session, unit_code)
        rows = session.execute(
            select(Proxy, Resident.name)
            .join(Resident, Resident.id == Proxy.resident_id, isouter=True)
            .where(Proxy.unit_id == unit.id)
            .order_by(Proxy.id)
        ).all()
    out = []
    for proxy, resident_name in rows:
        valid = proxy.active and (proxy.until is None or as_utc(proxy.until) > now)
        if not valid and not include_inactive:
            continue
        out.append(
            {
                "id": proxy.id,
                "unit": unit.code,
                "name": proxy.name,
                "for": mask_name(resident_name) if resident_name else "household",
                "phone": mask_phone(proxy.phone) if proxy.phone else "",
                "until": ctx.local_time(proxy.until) if proxy.until else "",
                "valid": bool(valid),
                "removed": ctx.local_time(proxy.removed_at) if proxy.removed_at else "",
            }
        )
    return out
