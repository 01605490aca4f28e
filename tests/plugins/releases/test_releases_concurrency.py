"""Two gates scanning the same pass record one exit; two desks handing out one key give it to
one person. Each runs 6 threads on two engines (two kiosks), on SQLite and PostgreSQL."""

from __future__ import annotations

from releases_helpers import BUTLER, GUARD, SIGNED, resident
from sqlalchemy import func, select

from kiosk.context import KioskContext
from kiosk.db.models import AuditEvent
from plugins.keys import service as keys
from plugins.releases import service
from tests.racing import race


def test_two_gates_scanning_one_pass_record_one_exit(ctx: KioskContext) -> None:
    asked = service.request_pass(
        ctx, resident(ctx, "刘芳"), carrier="老李", items="沙发", reason="temporary",
        leave_on=None, signature=SIGNED,
    )  # fmt: skip
    code = service.approve(ctx, BUTLER, asked.id, SIGNED).qr
    outcomes = race(ctx, lambda k, _i: service.record_exit(k, GUARD, code, SIGNED), 6)
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) == {"ok", "releases.used"}
    with ctx.database().read() as s:
        assert s.scalar(select(func.count()).where(AuditEvent.action == "release.exited")) == 1


def test_two_desks_handing_out_one_key_give_it_to_one_person(ctx: KioskContext) -> None:
    (number,) = keys.take_into_custody(
        ctx, BUTLER, unit_code="1-101", labels=["入户门"], box="B1", slot="07", owner="张伟",
        authorisation="委托书", vacant=True,
    )  # fmt: skip
    outcomes = race(ctx, lambda k, _i: keys.hand_out(
        k, BUTLER, number, person="陈某", id_number="310101199001011234", purpose="contractor",
        signature=SIGNED,
    ), 6)  # fmt: skip
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) == {"ok", "keys.not_in_box"}
