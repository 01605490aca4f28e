"""The demo estate: 3 buildings, 216 units, residents with cards, staff with PINs.

Deterministic (seeded) so the README, docs and scenarios can name its people and cards.
Residents' PINs use a lower scrypt cost than staff PINs so seeding stays quick; the cost is
recorded in each hash, and real residents' PINs are set with the default cost.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk import audit
from kiosk.context import KioskContext
from kiosk.db.models import Building, Estate, Resident, Staff, Unit
from kiosk.identity import hash_pin, new_card

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华建国小红"

DEMO_STAFF = (
    # number, name, roles, PIN, card UID (hex)
    ("S001", "李管家", "butler", "2580", "12345678"),
    ("S002", "陈收银", "cashier", "1357", "A1B2C3D4"),
    ("S003", "赵工程", "engineer", "8642", "0BADF00D"),
    ("S004", "孙保安", "security", "9753", "5EC0A175"),
    ("S005", "周经理", "manager,butler,cashier", "1470", "0A0B0C0D"),
)
# A few residents people can try at once: unit, name, role, card UID as the reader sends it.
DEMO_RESIDENTS = (
    ("3-1205", "王小明", "owner", "3C00A1B2C3"),
    ("3-1205", "Emily Wang", "tenant", "3C00A1B2C4"),
    ("1-101", "张伟", "owner", "04A1B2C3"),
    ("2-803", "刘芳", "owner", "04D5E6F7"),
)


@dataclass
class DemoCredentials:
    lines: list[str] = field(default_factory=list)


def unit_pin(unit_code: str) -> str:
    """Demo rule: a unit's PIN is its room number, zero-padded to 4 digits (3-1205 -> 1205)."""
    return unit_code.split("-")[1].zfill(4)


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))


def _id_number(rng: random.Random) -> str:
    body = (
        "310101"
        + str(rng.randint(1950, 2005))
        + f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    )
    body += f"{rng.randint(0, 999):03d}"
    return body + rng.choice("0123456789X")


def cheat_sheet() -> list[str]:
    """The demo's people, cards and PINs, and the keys of the simulation (printed by
    ``kiosk demo`` before the kiosk starts and again when it exits)."""
    lines = [f"staff {n} {name} ({roles}): PIN {pin}, card {uid}"
             for n, name, roles, pin, uid in DEMO_STAFF]  # fmt: skip
    lines += [
        f"resident {name} ({role}, {code}): card {uid}"
        + (f", unit PIN {unit_pin(code)}" if role == "owner" else "")
        for code, name, role, uid in DEMO_RESIDENTS
    ]
    lines.append(
        f"every unit's PIN is its room number in 4 digits (3-1205 -> {unit_pin('3-1205')})"
    )
    lines.append("keys: F2 taps a card on the simulated reader, F3 pays the QR on screen")
    return lines


def seed_demo(session: Session, ctx: KioskContext) -> DemoCredentials:
    """Fill an empty database with the demo estate (no-op, with a note, when data exists)."""
    creds = DemoCredentials()
    if session.scalar(select(func.count()).select_from(Estate)):
        creds.lines.append("demo estate already present; nothing added")
        creds.lines.extend(cheat_sheet())
        return creds
    rng = random.Random(20261123)
    settings = ctx.settings
    now = ctx.clock.now()
    estate = Estate(
        name=settings.estate.name,
        name_en=settings.estate.name_en,
        timezone=settings.estate.timezone,
    )
    session.add(estate)
    session.flush()
    named: dict[str, list[tuple[str, str, str]]] = {}
    for code, name, role, uid in DEMO_RESIDENTS:
        named.setdefault(code, []).append((name, role, uid))
    resident_count = card_count = unit_count = 0
    for b in (1, 2, 3):
        building = Building(estate_id=estate.id, code=str(b), lobby="A" if b < 3 else "B")
        session.add(building)
        session.flush()
        for floor in range(1, 13):
            for u in range(1, 7):
                code = f"{b}-{floor}{u:02d}"
                unit = Unit(
                    building_id=building.id,
                    code=code,
                    floor=floor,
                    area_dm2=rng.choice((8900, 10250, 12800, 14400)),
                )
                session.add(unit)
                session.flush()
                unit_count += 1
                people = list(named.get(code, [])) or [
                    (
                        rng.choice(SURNAMES)
                        + rng.choice(GIVEN)
                        + rng.choice(("", rng.choice(GIVEN))),
                        "owner",
                        "",
                    )
                ]
                if code not in named and rng.random() < 0.5:
                    people.append(
                        (
                            rng.choice(SURNAMES) + rng.choice(GIVEN),
                            rng.choice(("tenant", "occupant")),
                            "",
                        )
                    )
                for i, (name, role, uid) in enumerate(people):
                    resident = Resident(
                        unit_id=unit.id,
                        name=name,
                        role=role,
                        phone=_phone(rng),
                        id_number=_id_number(rng),
                        language="en" if name.isascii() else "zh_CN",
                        pin_hash=hash_pin(unit_pin(code), n=2**11) if i == 0 else "",
                        created_at=now,
                    )
                    session.add(resident)
                    session.flush()
                    resident_count += 1
                    card_uid = uid or (f"{rng.getrandbits(32):08X}" if rng.random() < 0.8 else "")
                    if card_uid:
                        session.add(new_card(card_uid, "resident", resident_id=resident.id))
                        card_count += 1
    for number, name, roles, pin, uid in DEMO_STAFF:
        staff = Staff(number=number, name=name, roles=roles, pin_hash=hash_pin(pin))
        session.add(staff)
        session.flush()
        session.add(new_card(uid, "staff", staff_id=staff.id))
    session.flush()
    creds.lines.extend(cheat_sheet())
    audit.record(
        session,
        actor="system",
        action="demo.seeded",
        subject=f"estate:{estate.id}",
        data={"units": unit_count, "residents": resident_count, "cards": card_count},
        at=now,
        kiosk_id=ctx.kiosk_id,
    )
    if ctx.plugins is not None:
        for lines in ctx.plugins.call("kiosk_seed_demo", session=session, ctx=ctx):
            creds.lines.extend(lines)
    creds.lines.insert(
        0,
        f"demo estate {estate.name}: 3 buildings, {unit_count} units, {resident_count} residents, {card_count} resident cards",
    )
    return creds


def build_demo_database(ctx: KioskContext, *, seed: bool = True) -> None:
    """Migrate ``ctx``'s (empty) database and seed the demo estate in it, then let go of its
    connections: the throw-away estates of benchmarks, the soak, scenarios and tests."""
    from kiosk.db.migrate import upgrade

    upgrade(ctx.database().engine, ctx.plugins)
    if seed:
        with ctx.database().write() as session:
            seed_demo(session, ctx)
    ctx.database().dispose()
