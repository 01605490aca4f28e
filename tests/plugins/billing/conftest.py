"""Billing fixtures: one fake gateway (real keys, HTTP on 127.0.0.1) for the session, and a
demo-estate context whose providers all talk to it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from kiosk.context import KioskContext
from kiosk.identity import Actor
from plugins.billing import service
from plugins.billing.gateway import FakeGateway
from plugins.billing.providers import BUILTIN

CASHIER = Actor("staff", 2, "陈收银", frozenset({"cashier"}))
MANAGER = Actor("staff", 5, "周经理", frozenset({"manager", "butler", "cashier"}))
BUTLER = Actor("staff", 1, "李管家", frozenset({"butler"}))


@pytest.fixture(scope="session")
def gateway() -> Iterator[FakeGateway]:
    gw = FakeGateway()
    yield gw
    gw.stop()


@pytest.fixture
def bctx(ctx: KioskContext, gateway: FakeGateway) -> KioskContext:
    """The demo estate with every provider wired to the fake gateway and the test clock."""
    gateway.clock = ctx.clock
    gateway.deliver = None
    gateway.reset()
    service.use_providers(
        ctx, {cls.name: cls(gateway.provider_config(cls.name), ctx.clock) for cls in BUILTIN}
    )
    return ctx


def _resident_of(ctx: KioskContext, unit_code: str) -> Actor:
    from sqlalchemy import select

    from kiosk.db.models import Resident, Unit

    with ctx.database().read() as session:
        r = session.scalars(
            select(Resident).join(Unit).where(Unit.code == unit_code).order_by(Resident.id)
        ).first()
        assert r is not None
        return Actor.of_resident(r)


@dataclass(frozen=True)
class People:
    """The demo staff as actors, and a way to get a unit's resident."""

    cashier: Actor = CASHIER
    manager: Actor = MANAGER
    butler: Actor = BUTLER

    @staticmethod
    def resident(ctx: KioskContext, unit_code: str) -> Actor:
        return _resident_of(ctx, unit_code)


@pytest.fixture
def people() -> People:
    return People()
