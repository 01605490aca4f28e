"""Who is at the kiosk: card taps in every printed form, unit + PIN, staff PIN lockout, roles."""

from __future__ import annotations

import pytest

from kiosk import lobby
from kiosk.context import KioskContext
from kiosk.db.models import DeskAlert, Staff
from kiosk.errors import PermissionDenied, Refused
from kiosk.identity import (
    Actor,
    card_forms,
    hash_pin,
    normalise_unit_code,
    require_role,
    unit_by_code,
    verify_pin,
)
from kiosk.notify import open_alerts


def test_uid_printed_forms_follow_the_vectors() -> None:
    assert card_forms("12 34 56 78") == ("12345678", "0305419896", "2018915346")


def test_pin_hash_round_trip() -> None:
    h = hash_pin("2580", n=2**10)
    assert h.startswith("scrypt$1024$")
    assert verify_pin("2580", h)
    assert not verify_pin("2581", h)
    assert not verify_pin("2580", "garbage")


def test_unit_codes_normalise() -> None:
    assert normalise_unit_code("3栋1205") == "3-1205"
    assert normalise_unit_code(" 3-1205 ") == "3-1205"
    assert normalise_unit_code("3 1205") == "3-1205"


def test_every_service_finds_a_unit_one_way_and_refuses_an_unknown_one_alike(
    ctx: KioskContext,
) -> None:
    with ctx.database().read() as session:
        assert unit_by_code(session, "3栋1205").code == unit_by_code(session, " 3-1205 ").code
        with pytest.raises(Refused) as err:
            unit_by_code(session, " 9-999 ")
    assert err.value.code == "unit.unknown" and err.value.render() == "There is no unit 9-999."


def test_resident_card_is_recognised_in_any_printed_form(ctx: KioskContext) -> None:
    for form in ("3C00A1B2C3", "3c00a1b2c3", card_forms("3C00A1B2C3")[1]):
        outcome = lobby.tap_card(ctx, form)
        assert outcome.kind == "resident", form
        assert outcome.actor is not None and outcome.actor.name == "王小明"
        assert outcome.tap is not None and outcome.tap.unit_code == "3-1205"


def test_staff_card_by_reversed_decimal(ctx: KioskContext) -> None:
    outcome = lobby.tap_card(ctx, "2018915346")
    assert outcome.kind == "staff" and outcome.actor is not None and "butler" in outcome.actor.roles


def test_unknown_card_refused_and_desk_alerted_after_three(ctx: KioskContext) -> None:
    counter = lobby.UnknownCardCounter()
    outcomes = [lobby.tap_card(ctx, "FFFFFFFFFF", counter) for _ in range(3)]
    assert all(o.kind == "refused" and "not recognised" in o.message for o in outcomes)
    assert [o.alerted for o in outcomes] == [False, False, True]
    with ctx.database().read() as s:
        alerts = [a for a in open_alerts(s, "A") if a.kind == "unknown_card"]
    assert len(alerts) == 1 and "FFFFFFFFFF" in alerts[0].message


def test_unit_pin_counts_down_then_locks(ctx: KioskContext) -> None:
    remaining = []
    for _ in range(4):
        with pytest.raises(Refused) as err:
            lobby.unit_login(ctx, "3-1205", "0000")
        remaining.append(err.value.params["remaining"])
    assert remaining == [4, 3, 2, 1]
    with pytest.raises(Refused) as err:
        lobby.unit_login(ctx, "3-1205", "0000")
    assert err.value.code == "login.locked"
    # Locked: even the right PIN is refused until the lockout ends.
    with pytest.raises(Refused) as err:
        lobby.unit_login(ctx, "3-1205", "1205")
    assert err.value.code == "login.locked"
    ctx.clock.advance(minutes=6)  # type: ignore[attr-defined]
    assert lobby.unit_login(ctx, "3-1205", "1205").name == "王小明"


def test_staff_lockout_after_five_wrong_pins_alerts_the_desk(ctx: KioskContext) -> None:
    codes = []
    for _ in range(5):
        with pytest.raises(Refused) as err:
            lobby.staff_login(ctx, "S001", "0000")
        codes.append(err.value.code)
    assert codes == ["login.wrong_pin"] * 4 + ["login.locked"]
    with pytest.raises(Refused):
        lobby.staff_login(ctx, "S001", "2580")
    with ctx.database().read() as s:
        assert s.query(DeskAlert).filter_by(kind="staff_locked").count() == 1
    ctx.clock.advance(minutes=5, seconds=1)  # type: ignore[attr-defined]
    assert lobby.staff_login(ctx, "S001", "2580").kind == "staff"


def test_staff_login_by_card(ctx: KioskContext) -> None:
    actor = lobby.staff_login(ctx, "12345678", "2580")
    assert actor.name == "李管家"


def test_staff_number_as_typed_on_a_keyboard_or_the_lobby_keypad(ctx: KioskContext) -> None:
    """The lobby keypad has digits only: S001 signs in as 1 or 001 too, and s001 is S001."""
    for typed in ("S001", "s001", " 001 ", "1"):
        assert lobby.staff_login(ctx, typed, "2580").name == "李管家", typed


def test_digits_two_staff_numbers_share_name_nobody(ctx: KioskContext) -> None:
    """With S001 and E001 both on the books, 001 is neither: the answer an unknown number
    gets, and the full number still works."""
    with ctx.database().write() as session:
        session.add(Staff(number="E001", name="赵工", roles="engineer", pin_hash=hash_pin("2580")))
    with pytest.raises(Refused) as err:
        lobby.staff_login(ctx, "001", "2580")
    assert err.value.code == "login.wrong_pin"
    assert lobby.staff_login(ctx, "E001", "2580").name == "赵工"
    assert lobby.staff_login(ctx, "e001", "2580").name == "赵工"


def test_household_file_is_for_staff_only_and_masked(ctx: KioskContext) -> None:
    resident = lobby.tap_card(ctx, "3C00A1B2C3").actor
    assert resident is not None
    with pytest.raises(PermissionDenied):
        lobby.household_file(ctx, resident, "3-1205")
    with pytest.raises(PermissionDenied):
        lobby.household_file(ctx, Actor("staff", 99, "eng", frozenset({"engineer"})), "3-1205")
    butler = lobby.staff_login(ctx, "S001", "2580")
    hf = lobby.household_file(ctx, butler, "3栋1205")
    assert {r["name"] for r in hf.residents} == {"王小明", "Emily Wang"}
    assert all("****" in r["phone"] and "**********" in r["id_number"] for r in hf.residents)
    with pytest.raises(Refused, match="There is no unit 9-9999."):
        lobby.household_file(ctx, butler, "9-9999")


def test_manager_holds_every_role() -> None:
    require_role(Actor("staff", 1, "m", frozenset({"manager"})), "refund", "cashier")
    with pytest.raises(PermissionDenied):
        require_role(Actor("resident", 1), "refund", "cashier")


def test_desk_call_raises_an_urgent_alert(ctx: KioskContext) -> None:
    lobby.call_desk(ctx, note="lost child")
    with ctx.database().read() as s:
        (alert,) = [a for a in open_alerts(s, "A") if a.kind == "desk_call"]
    assert alert.severity == "urgent" and "lost child" in alert.message


def test_a_five_byte_reader_uid_finds_the_four_byte_card(ctx: KioskContext) -> None:
    # S001's card is 12345678; an RDM6300 (EM4100, 5 bytes) reader reports 0012345678.
    outcome = lobby.tap_card(ctx, "0012345678")
    assert outcome.kind == "staff" and outcome.actor is not None and outcome.actor.name == "李管家"


def _add_resident_card(ctx: KioskContext, uid: str, unit_code: str = "3-1205") -> int:
    from sqlalchemy import select

    from kiosk.db.models import Resident, Unit
    from kiosk.identity import new_card

    with ctx.database().write() as s:
        unit = s.scalar(select(Unit).where(Unit.code == unit_code))
        assert unit is not None
        resident = s.scalars(
            select(Resident).where(Resident.unit_id == unit.id).order_by(Resident.id)
        ).first()
        assert resident is not None
        card = new_card(uid, "resident", resident_id=resident.id)
        s.add(card)
        s.flush()
        return card.id


def test_an_exact_raw_uid_match_always_wins(ctx: KioskContext) -> None:
    # The butler's card has the all-digit raw UID 12345678. A resident's card 00BC614E prints
    # the decimal 0012345678, which "12345678" also reads as. The raw UID must win, every time.
    _add_resident_card(ctx, "00BC614E")
    assert card_forms("00BC614E")[1] == "0012345678"
    for _ in range(3):
        outcome = lobby.tap_card(ctx, "12345678")
        assert outcome.kind == "staff", outcome.message
        assert outcome.actor is not None and outcome.actor.name == "李管家"
    # ... and the other way round: the resident's raw UID finds the resident's card.
    outcome = lobby.tap_card(ctx, "00BC614E")
    assert outcome.kind == "resident" and outcome.actor is not None
    assert outcome.actor.unit_id is not None and outcome.tap is not None
    assert outcome.tap.unit_code == "3-1205"
    # Staff login by card number takes the exact UID too.
    assert lobby.staff_login(ctx, "12345678", "2580").name == "李管家"


def test_a_printed_number_matching_two_cards_is_refused_and_sent_to_the_desk(
    ctx: KioskContext,
) -> None:
    # "0012345678" is the resident card's printed decimal, and also (as an EM4100 5-byte read)
    # the butler's card 12345678. No raw UID reads 0012345678: refuse, never pick one.
    _add_resident_card(ctx, "00BC614E")
    outcome = lobby.tap_card(ctx, "0012345678")
    assert outcome.kind == "refused" and outcome.actor is None
    assert outcome.message == "This card number matches more than one card. Please see the desk."
    assert outcome.alerted
    with ctx.database().read() as s:
        alerts = [a for a in open_alerts(s, "A") if a.kind == "ambiguous_card"]
    assert len(alerts) == 1 and "0012345678" in alerts[0].message
    # The same number typed at the staff keypad is refused too (not a wrong-PIN count).
    with pytest.raises(Refused) as err:
        lobby.staff_login(ctx, "0012345678", "2580")
    assert err.value.code == "card_ambiguous"
    with ctx.database().read() as s:
        assert len([a for a in open_alerts(s, "A") if a.kind == "ambiguous_card"]) >= 1


def test_a_wiegand_26_reader_finds_the_card_registered_by_its_full_uid(ctx: KioskContext) -> None:
    # A card registered by its full UID 5EC804D2: a W26 reader reports the last 3 bytes
    # C8 04D2, i.e. facility 200, number 1234, printed "200,01234" (or without the comma).
    _add_resident_card(ctx, "5EC804D2", unit_code="3-1205")
    forms = ("C804D2", "c8 04 d2", "200,1234", "200,01234", "200,001234", "200/01234", "20001234")
    for form in forms:
        outcome = lobby.tap_card(ctx, form)
        assert outcome.kind == "resident", (form, outcome.message)
        assert outcome.tap is not None and outcome.tap.unit_code == "3-1205"
    # A W26 pair that is also someone's raw UID: the raw UID wins (the butler's 12345678 is
    # also the comma-less W26 form of facility 123, number 45678).
    _add_resident_card(ctx, "117BB26E", unit_code="3-1205")
    outcome = lobby.tap_card(ctx, "12345678")
    assert outcome.kind == "staff" and outcome.actor is not None and outcome.actor.name == "李管家"
    assert lobby.tap_card(ctx, "123,045678").kind == "resident"


def test_a_wiegand_26_number_shared_by_two_cards_is_refused(ctx: KioskContext) -> None:
    # In the demo estate 王小明's card 3C00A1B2C3 and 张伟's 04A1B2C3 end in the same 3 bytes
    # A1 B2C3 (facility 161, number 45763): what a W26 reader reports does not say which card.
    for form in ("A1B2C3", "161,45763", "161,045763"):
        outcome = lobby.tap_card(ctx, form)
        assert outcome.kind == "refused" and outcome.actor is None, form
        assert "more than one card" in outcome.message
    with ctx.database().read() as s:
        alerts = [a for a in open_alerts(s, "A") if a.kind == "ambiguous_card"]
    assert len(alerts) == 3
    # The full raw UIDs still work.
    outcome = lobby.tap_card(ctx, "3C00A1B2C3")
    assert outcome.actor is not None and outcome.actor.name == "王小明"
    outcome = lobby.tap_card(ctx, "04A1B2C3")
    assert outcome.actor is not None and outcome.actor.name == "张伟"


def test_wiegand_26_printed_forms_parse() -> None:
    from kiosk.identity import wiegand26_suffix

    assert wiegand26_suffix("123,45678") == "7BB26E"
    assert wiegand26_suffix("123,045678") == "7BB26E"
    assert wiegand26_suffix("12345678") == "7BB26E"
    assert wiegand26_suffix("256,1") is None
    assert wiegand26_suffix("1,65536") is None
    assert wiegand26_suffix("abc") is None


def test_the_ambiguous_card_refusal_reads_in_chinese() -> None:
    from kiosk.i18n import gettext, set_language
    from kiosk.identity import AmbiguousCard

    refusal = AmbiguousCard("0012345678", [1, 2])
    set_language("zh_CN")
    try:
        assert refusal.render(gettext) == "此卡号与多张卡匹配，无法确认身份，请到前台办理。"
    finally:
        set_language("zh_CN")
    assert refusal.code == "card_ambiguous" and refusal.card_ids == [1, 2]
