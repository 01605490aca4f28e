"""Guessing PINs at a kiosk: the unit locks as one whoever's PIN is tried, staff numbers cannot
be told apart, a kiosk slows down and alerts the desk when PINs are sprayed across units, and
every failure is audited. Each test performs the attack and asserts where it stops."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from kiosk import identity, lobby
from kiosk.config import StaffPolicy
from kiosk.context import KioskContext
from kiosk.db import Database
from kiosk.db.models import AuditEvent, DeskAlert, Resident, Staff
from kiosk.errors import Refused
from kiosk.identity import hash_pin, set_pin, verify_pin


def _refusal(call, *args) -> Refused:  # type: ignore[no-untyped-def]
    with pytest.raises(Refused) as err:
        call(*args)
    return err.value


def _events(ctx: KioskContext, action: str, subject: str | None = None) -> list[AuditEvent]:
    with ctx.database().read() as s:
        q = select(AuditEvent).where(AuditEvent.action == action)
        if subject is not None:
            q = q.where(AuditEvent.subject == subject)
        return list(s.scalars(q.order_by(AuditEvent.seq_)))


def _alerts(ctx: KioskContext, kind: str) -> list[DeskAlert]:
    with ctx.database().read() as s:
        return list(s.scalars(select(DeskAlert).where(DeskAlert.kind == kind)))


@pytest.fixture
def other() -> Iterator[list[KioskContext]]:
    """Further contexts (other kiosks or processes) over the same database; closed after."""
    made: list[KioskContext] = []
    yield made
    for c in made:
        c.database().dispose()


def _context(
    ctx: KioskContext, made: list[KioskContext], kiosk_id: str | None = None, **policy: int
) -> KioskContext:
    """Another process over ``ctx``'s database and clock (same kiosk unless ``kiosk_id``)."""
    settings = dataclasses.replace(
        ctx.settings,
        kiosk_id=kiosk_id or ctx.settings.kiosk_id,
        staff=dataclasses.replace(ctx.settings.staff, **policy),
    )
    c = KioskContext(
        settings=settings,
        clock=ctx.clock,
        db=Database(ctx.settings.database_url),
        plugins=ctx.plugins,
    )
    made.append(c)
    return c


def _second_pin_holder(ctx: KioskContext, pin: str = "7777") -> None:
    """Emily Wang (tenant of 3-1205) gets a PIN of her own next to 王小明's 1205."""
    with ctx.database().write() as s:
        emily = s.scalars(select(Resident).where(Resident.name == "Emily Wang")).one()
        emily.pin_hash = hash_pin(pin, n=2**10)


# -- a unit with two PIN holders locks as one -------------------------------------------------


def test_a_unit_with_two_pin_holders_locks_as_a_unit_and_tells_the_desk(ctx) -> None:
    _second_pin_holder(ctx)
    codes = [_refusal(lobby.unit_login, ctx, "3-1205", f"{n:04d}").code for n in range(5)]
    assert codes == ["login.wrong_pin"] * 4 + ["login.locked"]
    # Guessing goes on while the unit is locked: refused, counted, and no holder's PIN opens it.
    for guess in ("0005", "0006", "7777", "1205"):
        assert _refusal(lobby.unit_login, ctx, "3-1205", guess).code == "login.locked"
    failed = _events(ctx, "resident.pin_failed", "unit:3-1205")
    assert len(failed) == 9
    assert [e.data.count('"locked"') for e in failed[4:]] == [1] * 5
    assert len(_events(ctx, "resident.pin_locked", "unit:3-1205")) == 1
    (alert,) = _alerts(ctx, "unit_pin_locked")
    assert "3-1205" in alert.message and alert.lobby == "A"
    # When the lockout ends either holder's PIN works again.
    ctx.clock.advance(minutes=5, seconds=1)
    assert lobby.unit_login(ctx, "3-1205", "7777").name == "Emily Wang"
    assert lobby.unit_login(ctx, "3-1205", "1205").name == "王小明"


def test_failures_against_either_holder_count_on_the_unit(ctx, other) -> None:
    # The old lock counted on the first holder only; a guesser hitting the second holder's PIN
    # space must be charged the same. Five guesses, whichever PIN they aim at, lock the unit.
    _second_pin_holder(ctx, "7777")
    for guess in ("7770", "7771", "1200", "7772", "1201"):
        _refusal(lobby.unit_login, ctx, "3-1205", guess)
    assert _refusal(lobby.unit_login, ctx, "3-1205", "7777").code == "login.locked"
    # Another kiosk's process sees the same lock (the state is in the database).
    desk = _context(ctx, other, kiosk_id="kiosk-2")
    assert _refusal(lobby.unit_login, desk, "3-1205", "1205").code == "login.locked"


def test_lockouts_in_a_row_double_until_a_success(ctx, other) -> None:
    kiosk = _context(ctx, other, kiosk_free_failures=1000)
    for round_minutes in (5, 10, 20):
        for _ in range(5):
            _refusal(lobby.unit_login, kiosk, "1-101", "0000")
        ctx.clock.advance(minutes=round_minutes - 1)
        assert _refusal(lobby.unit_login, kiosk, "1-101", "0101").code == "login.locked"
        ctx.clock.advance(minutes=1, seconds=1)
    assert lobby.unit_login(kiosk, "1-101", "0101").name == "张伟"
    # The success reset the escalation: the next lockout is the short one again.
    for _ in range(5):
        _refusal(lobby.unit_login, kiosk, "1-101", "0000")
    ctx.clock.advance(minutes=5, seconds=1)
    assert lobby.unit_login(kiosk, "1-101", "0101").name == "张伟"


# -- staff numbers cannot be told apart -------------------------------------------------------


def test_unknown_and_known_staff_numbers_do_the_same_work_and_get_the_same_answer(
    ctx, other, monkeypatch
) -> None:
    kiosk = _context(ctx, other, kiosk_free_failures=1000)
    checks: list[str] = []
    real = identity.verify_pin

    def counting(pin: str, stored: str) -> bool:
        checks.append(stored.split("$")[1])  # the scrypt cost of the hash checked
        return real(pin, stored)

    monkeypatch.setattr(identity, "verify_pin", counting)
    with ctx.database().write() as s:
        s.scalars(select(Staff).where(Staff.number == "S003")).one().active = False

    answers = {}
    for who in ("S001", "S999", "S003"):  # known, unknown, inactive (right PIN 8642)
        pin = "8642" if who == "S003" else "0000"
        seen = []
        for _ in range(5):
            checks.clear()
            err = _refusal(lobby.staff_login, kiosk, who, pin)
            seen.append((err.code, err.render().replace(who, "?")))
            assert checks == [str(identity.SCRYPT_N)], who  # one scrypt, at the same cost
        answers[who] = seen
    assert answers["S001"] == answers["S999"] == answers["S003"]
    assert [code for code, _ in answers["S999"]] == ["login.wrong_pin"] * 4 + ["login.locked"]
    assert "staff number" in answers["S999"][0][1]
    # Every failure is audited with what really happened; the keypad was not told.
    failed = _events(ctx, "staff.login_failed")
    assert len(failed) == 15
    assert len([e for e in failed if e.subject == "staff:?" and '"unknown"' in e.data]) == 5
    assert len([e for e in failed if e.subject == "staff:S003" and '"inactive"' in e.data]) == 5


def test_a_staff_lockout_holds_at_that_kiosk_only_and_escalates(ctx, other) -> None:
    kiosk = _context(ctx, other, kiosk_free_failures=1000)
    for _ in range(5):
        _refusal(lobby.staff_login, kiosk, "S001", "0000")
    assert _refusal(lobby.staff_login, kiosk, "S001", "2580").code == "login.locked"
    assert len(_alerts(ctx, "staff_locked")) == 1
    assert len(_events(ctx, "staff.pin_locked", "staff:S001")) == 1
    # Whoever locked S001 at the lobby kiosk cannot keep them out of the desk.
    desk = _context(ctx, other, kiosk_id="desk-1")
    assert lobby.staff_login(desk, "S001", "2580").name == "李管家"
    # At the kiosk, the second lockout in a row lasts twice as long: no 60 guesses an hour.
    ctx.clock.advance(minutes=5, seconds=1)
    for _ in range(5):
        _refusal(lobby.staff_login, kiosk, "S001", "0000")
    ctx.clock.advance(minutes=9)
    assert _refusal(lobby.staff_login, kiosk, "S001", "2580").code == "login.locked"
    ctx.clock.advance(minutes=1, seconds=1)
    assert lobby.staff_login(kiosk, "S001", "2580").name == "李管家"


# -- a kiosk slows down and alerts the desk when PINs are sprayed ------------------------------


def test_spraying_unit_pins_from_one_kiosk_backs_off_and_alerts_the_desk(ctx, other) -> None:
    units = [f"1-{floor}0{room}" for floor in range(1, 7) for room in (1, 2)]
    # One guess per unit: no unit gets near its own lockout.
    codes = [_refusal(lobby.unit_login, ctx, u, "0000").code for u in units[:10]]
    assert codes == ["login.wrong_pin"] * 10
    (alert,) = _alerts(ctx, "pin_guessing")  # three units failed: the desk is told, once
    assert "kiosk test-kiosk" in alert.message and alert.severity == "urgent"
    assert len(_events(ctx, "kiosk.pin_guessing")) == 1
    # The eleventh failure makes the kiosk wait; waiting is enforced for every process of it.
    assert _refusal(lobby.unit_login, ctx, units[10], "0000").code == "login.wrong_pin"
    again = _context(ctx, other)  # a second process of the same kiosk
    err = _refusal(lobby.unit_login, again, "3-1205", "1205")  # even a right PIN waits
    assert err.code == "login.throttled" and err.params["seconds"] == 1
    waits = []
    for unit in units[11:] + ["2-101", "2-102", "2-201"]:
        ctx.clock.advance(seconds=waits[-1] if waits else 1)
        _refusal(lobby.unit_login, ctx, unit, "0000")
        waits.append(_refusal(lobby.unit_login, again, "3-1205", "1205").params["seconds"])
    assert waits == [2, 4, 8, 16]
    assert len(_alerts(ctx, "pin_guessing")) == 1
    # Another kiosk is not slowed by this one.
    assert lobby.unit_login(_context(ctx, other, kiosk_id="kiosk-2"), "3-1205", "1205")
    # Every failure is in the audit log, with the kiosk's running count.
    failed = _events(ctx, "resident.pin_failed")
    assert len(failed) >= 15 and all(e.kiosk_id == "test-kiosk" for e in failed)
    # A resident who knows their own PIN cannot reset the kiosk's count by logging in.
    ctx.clock.advance(seconds=16)
    assert lobby.unit_login(ctx, "3-1205", "1205").name == "王小明"
    _refusal(lobby.unit_login, ctx, "2-202", "0000")
    assert _refusal(lobby.unit_login, ctx, "3-1205", "1205").code == "login.throttled"
    # A quiet window starts the count again.
    ctx.clock.advance(minutes=16)
    assert lobby.unit_login(ctx, "3-1205", "1205").name == "王小明"


def test_staff_number_spraying_is_throttled_too(ctx) -> None:
    for n in range(10):
        _refusal(lobby.staff_login, ctx, f"S{100 + n}", "0000")
    _refusal(lobby.staff_login, ctx, "S001", "0000")
    assert _refusal(lobby.staff_login, ctx, "S001", "2580").code == "login.throttled"
    assert len(_alerts(ctx, "pin_guessing")) == 1


# -- PIN length ---------------------------------------------------------------------------------


def test_a_pin_shorter_than_the_policy_is_refused() -> None:
    staff = Staff(number="S9", name="x", pin_hash="")
    for pin, code in (("123", "pin.too_short"), ("12a4", "pin.digits"), ("１２３４", "pin.digits")):
        with pytest.raises(Refused) as err:
            set_pin(staff, pin, StaffPolicy(), n=2**10)
        assert err.value.code == code
    with pytest.raises(Refused, match="at least 6"):
        set_pin(staff, "12345", StaffPolicy(pin_min_length=6), n=2**10)
    assert staff.pin_hash == ""
    set_pin(staff, "123456", StaffPolicy(pin_min_length=6), n=2**10)
    assert verify_pin("123456", staff.pin_hash)


def test_changing_a_pin_checks_the_current_one_and_the_length(ctx) -> None:
    butler = lobby.staff_login(ctx, "S001", "2580")
    assert _refusal(lobby.change_pin, ctx, butler, "2580", "12").code == "pin.too_short"
    assert _refusal(lobby.change_pin, ctx, butler, "0000", "123456").code == "login.wrong_pin"
    lobby.change_pin(ctx, butler, "2580", "975310")
    assert lobby.staff_login(ctx, "S001", "975310").name == "李管家"
    assert len(_events(ctx, "pin.changed", butler.label)) == 1
    resident = lobby.unit_login(ctx, "1-101", "0101")
    assert _refusal(lobby.change_pin, ctx, resident, "0101", "99").code == "pin.too_short"
    lobby.change_pin(ctx, resident, "0101", "4455")
    assert lobby.unit_login(ctx, "1-101", "4455").name == "张伟"


def test_processes_of_one_kiosk_guessing_at_once_are_all_counted(ctx, other) -> None:
    import threading

    from kiosk.db.models import LoginGuard

    procs = [_context(ctx, other, kiosk_id="kiosk-race") for _ in range(6)]
    codes: list[str] = []

    def guess(c: KioskContext, unit: str) -> None:
        try:
            lobby.unit_login(c, unit, "0000")
        except Refused as exc:
            codes.append(exc.code)

    threads = [
        threading.Thread(target=guess, args=(c, f"2-{i + 1}01")) for i, c in enumerate(procs)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == ["login.wrong_pin"] * 6
    with ctx.database().read() as s:
        keypad = s.scalars(
            select(LoginGuard).where(LoginGuard.scope == "keypad", LoginGuard.key == "kiosk-race")
        ).one()
    assert keypad.failures == 6 and len(keypad.recent) == 6
    assert len(_alerts(ctx, "pin_guessing")) == 1
