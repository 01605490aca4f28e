"""Brute-forcing invite codes: codes are 10 digits, a kiosk backs off after a few wrong ones,
the estate closes typed codes when its budget of wrong ones is spent, the desk is alerted and
every refusal is audited. Signed QR invites keep working throughout."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select
from visitors_helpers import BUTLER

from kiosk.context import KioskContext
from kiosk.db.models import AuditEvent, DeskAlert
from kiosk.errors import Refused
from plugins.visitors import service


def _invite(ctx: KioskContext, name: str = "Bob Lee") -> service.InviteCreated:
    now = ctx.clock.now()
    return service.create_invite(
        ctx, BUTLER, unit_code="1-101", visitor_name=name,
        valid_from=now, valid_until=now + dt.timedelta(hours=3),
    )  # fmt: skip


def _try(ctx: KioskContext, entered: str) -> str:
    """The refusal code, or "ok" when the code gave a visit."""
    try:
        service.redeem_invite(ctx, entered)
    except Refused as exc:
        return exc.code
    return "ok"


def _wrong_codes(*real: service.InviteCreated):  # type: ignore[no-untyped-def]
    taken = {i.code for i in real}
    n = 1234500000
    while True:
        n += 7
        if str(n) not in taken:
            yield str(n)


def _at(ctx: KioskContext, kiosk_id: str) -> KioskContext:
    return KioskContext(
        settings=dataclasses.replace(ctx.settings, kiosk_id=kiosk_id),
        clock=ctx.clock,
        db=ctx.db,
        plugins=ctx.plugins,
    )


def _count(ctx: KioskContext, model, **where) -> int:  # type: ignore[no-untyped-def]
    with ctx.database().read() as s:
        q = select(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return len(s.scalars(q).all())


def test_invite_codes_are_ten_digits_and_typed_as_shown(ctx) -> None:
    codes = [_invite(ctx, f"Guest {i}").code for i in range(5)]
    assert all(len(c) == 10 and c.isdigit() for c in codes) and len(set(codes)) == 5
    shown = service.group_code(codes[0])
    assert shown == f"{codes[0][:3]} {codes[0][3:6]} {codes[0][6:]}"
    assert _try(ctx, shown) == "ok"
    assert _try(ctx, "-".join(service.group_code(codes[1]).split())) == "ok"
    assert _try(ctx, "   ") == "visitors.invite_empty"


def test_guessing_codes_at_one_kiosk_backs_off_alerts_and_is_audited(ctx) -> None:
    typed, scanned = _invite(ctx), _invite(ctx, "Carol Wu")
    wrong = _wrong_codes(typed, scanned)
    assert [_try(ctx, next(wrong)) for _ in range(6)] == ["visitors.invite_unknown"] * 6
    # Past five wrong codes the kiosk makes the next try wait, even with the right code.
    with pytest.raises(Refused) as err:
        service.redeem_invite(ctx, typed.code)
    assert err.value.code == "visitors.invite_throttled" and err.value.params["seconds"] == 1
    with ctx.database().read() as s:
        (alert,) = s.scalars(select(DeskAlert).where(DeskAlert.kind == "invite_guessing"))
    assert "test-kiosk" in alert.message and alert.severity == "urgent" and alert.lobby == "A"
    # Each further wrong code doubles the wait.
    waits = []
    for _ in range(4):
        ctx.clock.advance(seconds=waits[-1] if waits else 1)
        assert _try(ctx, next(wrong)) == "visitors.invite_unknown"
        with pytest.raises(Refused) as err:
            service.redeem_invite(ctx, typed.code)
        waits.append(err.value.params["seconds"])
    assert waits == [2, 4, 8, 16]
    # A signed QR is not guessable: it still works here; another kiosk takes typed codes.
    assert service.redeem_invite(ctx, scanned.qr).status == "approved"
    assert service.redeem_invite(_at(ctx, "kiosk-2"), typed.code).status == "approved"
    # Every refusal is in the audit log; the typed guesses themselves are not.
    with ctx.database().read() as s:
        refused = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "visitor.invite_refused")
        ).all()
    assert len(refused) == 10 + 5
    assert sum('"unknown_code"' in e.data for e in refused) == 10
    assert sum('"visitors.invite_throttled"' in e.data for e in refused) == 5
    assert all("1234" not in e.data + e.subject for e in refused)
    assert _count(ctx, DeskAlert, kind="invite_guessing") == 1


def test_a_brute_force_across_kiosks_closes_typed_codes_estate_wide(ctx) -> None:
    typed, scanned = _invite(ctx), _invite(ctx, "Carol Wu")
    wrong = _wrong_codes(typed, scanned)
    rules = service.VisitorRules()
    kiosks = [_at(ctx, f"kiosk-{k}") for k in range(rules.invite_failure_budget)]
    # An attacker moves from kiosk to kiosk, staying under each kiosk's limit.
    assert [_try(k, next(wrong)) for k in kiosks] == ["visitors.invite_unknown"] * len(kiosks)
    assert _count(ctx, DeskAlert, kind="invite_guessing") == 0  # no kiosk saw more than one
    # The budget is spent: no kiosk takes a typed code, not even the right one.
    fresh = _at(ctx, "kiosk-fresh")
    assert _try(fresh, typed.code) == "visitors.invite_closed"
    assert _try(fresh, next(wrong)) == "visitors.invite_closed"
    (alert,) = [a for a in _all_alerts(ctx) if a.kind == "invite_codes_closed"]
    assert alert.severity == "urgent" and alert.lobby == "" and "QR" in alert.message
    assert _count(ctx, AuditEvent, action="visitor.invite_codes_closed") == 1
    # QR invites still work, and the typed code works again after the window.
    assert service.redeem_invite(fresh, scanned.qr).status == "approved"
    ctx.clock.advance(minutes=rules.invite_budget_minutes)
    assert service.redeem_invite(fresh, typed.code).status == "approved"


def _all_alerts(ctx: KioskContext) -> list[DeskAlert]:
    with ctx.database().read() as s:
        return list(s.scalars(select(DeskAlert)))
