"""Two lobbies on one database: kiosk and desk of lobby A (the ``ctx`` fixture) and of lobby B.

Parcel shelves, stored items and the visitor log belong to a lobby: desk B does not list lobby
A's, a B kiosk does not release an A parcel and says where it waits. Residents, cards, bills and
invites are estate-wide. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text

from kiosk.context import KioskContext
from kiosk.db import Database
from kiosk.db.models import Resident, Unit
from kiosk.errors import Refused
from kiosk.identity import Actor
from kiosk.lobby import household_file, tap_card
from kiosk.notify import dispatch_outbox, open_alerts
from plugins.billing import service as billing
from plugins.parcels import service as parcels
from plugins.parcels.models import Parcel, PickupCode
from plugins.visitors import service as visitors
from tests.conftest import settings_for

BUTLER_A = Actor("staff", 1, "李管家", frozenset({"butler"}), lobby="A")
BUTLER_B = Actor("staff", 6, "钱管家", frozenset({"butler"}), lobby="B")
MANAGER = Actor("staff", 5, "周经理", frozenset({"manager"}))  # Staff.lobby "": every lobby
SIGNED = [[[2, 5], [4, 3], [6, 6], [9, 2], [12, 5]], [[13, 4], [16, 4]]]
WANG_CARD = "3C00A1B2C3"  # 王小明, 3-1205 (demo)


@pytest.fixture
def ctx_b(ctx: KioskContext) -> Iterator[KioskContext]:
    """A kiosk / desk of lobby B on the same database and clock as ``ctx`` (lobby A)."""
    url = ctx.database().url
    other = KioskContext(
        settings=settings_for(url, lobby="B", kiosk_id="kiosk-b"),
        clock=ctx.clock,
        db=Database(url),
        plugins=ctx.plugins,
    )
    yield other
    other.database().dispose()


def _wang(ctx: KioskContext) -> Actor:
    outcome = tap_card(ctx, WANG_CARD)
    assert outcome.kind == "resident" and outcome.actor is not None
    return outcome.actor


def _status(ctx: KioskContext, parcel_id: int) -> str:
    with ctx.database().read() as s:
        return s.get(Parcel, parcel_id).status  # type: ignore[union-attr]


# -- parcels ---------------------------------------------------------------------------------


def test_each_desk_lists_its_own_lobbys_parcels(ctx: KioskContext, ctx_b: KioskContext) -> None:
    a = parcels.check_in(ctx, BUTLER_A, tracking="SF1000000000011", unit_code="1-101", shelf="A1")
    b = parcels.check_in(ctx_b, BUTLER_B, tracking="SF1000000000012", unit_code="1-101")
    with ctx.database().read() as s:
        assert s.get(Parcel, a.parcel_id).lobby == "A"  # type: ignore[union-attr]
        assert s.get(Parcel, b.parcel_id).lobby == "B"  # type: ignore[union-attr]

    def ids(c: KioskContext, actor: Actor) -> set[int]:
        report = parcels.aging_report(c, parcels.desk_lobby(c, actor))
        return {i["id"] for i in report["items"]}

    assert b.parcel_id in ids(ctx_b, BUTLER_B) and a.parcel_id not in ids(ctx_b, BUTLER_B)
    assert a.parcel_id in ids(ctx, BUTLER_A) and b.parcel_id not in ids(ctx, BUTLER_A)
    # A butler of lobby A sitting at desk B sees desk B's shelves.
    assert parcels.desk_lobby(ctx_b, BUTLER_A) == "B"
    # The manager (no lobby) sees every lobby, each item with its lobby.
    every = parcels.aging_report(ctx_b, parcels.desk_lobby(ctx_b, MANAGER))
    lobbies = {i["id"]: i["lobby"] for i in every["items"]}
    assert lobbies[a.parcel_id] == "A" and lobbies[b.parcel_id] == "B"
    # Desk B cannot return lobby A's item to the carrier; desk A can.
    with pytest.raises(Refused) as refused:
        parcels.return_to_sender(ctx_b, BUTLER_B, a.parcel_id, "refused by household")
    assert refused.value.code == "parcels.at_lobby" and refused.value.params["lobby"] == "A"
    parcels.return_to_sender(ctx, BUTLER_A, a.parcel_id, "refused by household")
    assert _status(ctx, a.parcel_id) == "returned"


def test_a_b_kiosk_says_where_a_parcels_wait_and_releases_none(
    ctx: KioskContext, ctx_b: KioskContext
) -> None:
    wang_b = _wang(ctx_b)
    at_b = parcels.start_pickup_by_card(ctx_b, wang_b)
    # The demo's two parcels for 3-1205 wait at lobby A.
    assert at_b.parcels == () and len(at_b.elsewhere) == 2
    assert {p.lobby for p in at_b.elsewhere} == {"A"}
    ids = [p.id for p in at_b.elsewhere]
    # Even a pickup naming A's items (a stale or forged screen) releases nothing at B.
    forged = parcels.Pickup(at_b.unit_id, at_b.unit_code, "card", at_b.elsewhere,
                            picker=at_b.picker)  # fmt: skip
    with pytest.raises(Refused) as refused:
        parcels.release(ctx_b, forged, ids, SIGNED)
    assert refused.value.code == "parcels.elsewhere" and refused.value.params["lobby"] == "A"
    assert {_status(ctx, i) for i in ids} == {"waiting"}
    # At lobby A the same resident collects them.
    at_a = parcels.start_pickup_by_card(ctx, _wang(ctx))
    assert [p.id for p in at_a.parcels] == ids and at_a.elsewhere == ()
    done = parcels.release(ctx, at_a, ids, SIGNED)
    assert done.parcel_ids == tuple(ids) and {_status(ctx, i) for i in ids} == {"released"}


def test_a_pickup_code_is_per_unit_and_opens_only_the_kiosks_lobby(
    ctx: KioskContext, ctx_b: KioskContext
) -> None:
    a = parcels.check_in(ctx, BUTLER_A, tracking="SF1000000000021", unit_code="2-803")
    b = parcels.check_in(ctx_b, BUTLER_B, tracking="SF1000000000022", unit_code="2-803")
    at_b = parcels.start_pickup_by_code(ctx_b, "2-803", b.code)
    assert [p.id for p in at_b.parcels] == [b.parcel_id]
    assert [(p.id, p.lobby) for p in at_b.elsewhere] == [(a.parcel_id, "A")]
    picked = parcels.identify_picker(ctx_b, at_b, "刘芳")
    assert picked.elsewhere == at_b.elsewhere
    parcels.release(ctx_b, picked, [b.parcel_id], SIGNED)
    assert _status(ctx, a.parcel_id) == "waiting" and _status(ctx, b.parcel_id) == "released"
    # A's item is still waiting, so the unit has a live code (the other one or a fresh one):
    with ctx.database().read() as s:
        unit_id = s.scalar(select(Unit.id).where(Unit.code == "2-803"))
        active = s.scalars(
            select(PickupCode).where(PickupCode.unit_id == unit_id, PickupCode.status == "active")
        ).all()
    assert active
    at_a = parcels.start_pickup_by_code(ctx, "2-803", a.code)
    assert [p.id for p in at_a.parcels] == [a.parcel_id] and at_a.elsewhere == ()


def test_parcels_from_before_the_lobby_column_belong_to_every_lobby(
    ctx: KioskContext, ctx_b: KioskContext
) -> None:
    """Rows without a lobby (migrated, or bulk-loaded below the ORM) get "" by the server
    default: every desk lists them and any kiosk may release them."""
    with ctx.database().write() as s:
        unit_id = s.scalar(select(Unit.id).where(Unit.code == "1-102"))
        s.execute(
            text(
                "INSERT INTO parcel (tracking_number, carrier, unit_id, recipient_name, shelf, "
                "perishable, signature_required, oversize, status, checked_in_at, checked_in_by, "
                "returned_by, return_reason) VALUES ('OLD000000001', 'SF', :u, '', '', "
                ":f, :f, :f, 'waiting', :at, 'staff:1', '', '')"
            ),
            {"u": unit_id, "f": False, "at": ctx.clock.now()},
        )
        old = s.scalar(select(Parcel).where(Parcel.tracking_number == "OLD000000001"))
        assert old is not None and old.lobby == ""
        old_id = old.id
    for c, actor in ((ctx, BUTLER_A), (ctx_b, BUTLER_B)):
        report = parcels.aging_report(c, parcels.desk_lobby(c, actor))
        assert old_id in {i["id"] for i in report["items"]}
    with ctx.database().read() as s:
        resident = s.scalars(select(Resident).where(Resident.unit_id == unit_id)).first()
        assert resident is not None
        who = Actor.of_resident(resident)
    pickup = parcels.start_pickup_by_card(ctx_b, who)
    assert [p.id for p in pickup.parcels] == [old_id]
    parcels.release(ctx_b, pickup, [old_id], SIGNED)
    assert _status(ctx, old_id) == "released"


def test_storage_belongs_to_the_desk_that_took_it(ctx: KioskContext, ctx_b: KioskContext) -> None:
    later = ctx.clock.now() + dt.timedelta(hours=24)
    kept = parcels.store_item(ctx, BUTLER_A, unit_code="1-101", depositor_name="张伟",
                           description="行李箱", category="luggage", expected_pickup_at=later)  # fmt: skip
    assert [i["ticket"] for i in parcels.handover_checklist(ctx, "A")] == [kept.ticket]
    assert parcels.handover_checklist(ctx_b, "B") == []
    assert [i["lobby"] for i in parcels.handover_checklist(ctx_b, None)] == ["A"]
    # Desk B's handover has nothing to check; its butler cannot give A's item back.
    parcels.record_handover_check(ctx_b, BUTLER_B, handed_to="夜班", results={})
    with pytest.raises(Refused) as refused:
        parcels.release_stored(ctx_b, BUTLER_B, ticket=kept.ticket, claimant_name="张伟",
                               strokes=SIGNED, id_last4="1234", condition="intact")  # fmt: skip
    assert refused.value.code == "parcels.storage_at_lobby"
    parcels.release_stored(
        ctx,
        BUTLER_A,
        ticket=kept.ticket,
        claimant_name="张伟",
        strokes=SIGNED,
        id_last4="1234",
        condition="intact",
    )


# -- visitors --------------------------------------------------------------------------------


def test_each_desk_lists_its_own_lobbys_visitors(ctx: KioskContext, ctx_b: KioskContext) -> None:
    a = visitors.register_walkup(ctx, name="赵六", phone="13800001111", unit_code="1-101",
                                 purpose="探亲")  # fmt: skip
    b = visitors.register_walkup(ctx_b, name="钱七", phone="13800002222", unit_code="1-101",
                                 purpose="送货")  # fmt: skip

    def pending(c: KioskContext, actor: Actor) -> set[int]:
        return {p["id"] for p in visitors.pending_visits(c, visitors.desk_lobby(c, actor))}

    assert pending(ctx, BUTLER_A) == {a.id} and pending(ctx_b, BUTLER_B) == {b.id}
    every = visitors.pending_visits(ctx_b, visitors.desk_lobby(ctx_b, MANAGER))
    assert {p["id"]: p["lobby"] for p in every} == {a.id: "A", b.id: "B"}
    # The desk alert of a waiting visitor goes to its lobby's desk, whichever kiosk sends it.
    dispatch_outbox(ctx_b)
    with ctx.database().read() as s:
        alerts_b = [al.message for al in open_alerts(s, "B") if al.kind == "visitor.waiting"]
        alerts_a = [al.message for al in open_alerts(s, "A") if al.kind == "visitor.waiting"]
    assert len(alerts_a) == 1 and "赵" in alerts_a[0]
    assert len(alerts_b) == 1 and "钱" in alerts_b[0]
    visitors.decide(ctx, BUTLER_A, a.id, approve=True)
    visitors.decide(ctx_b, BUTLER_B, b.id, approve=True)
    assert [i["id"] for i in visitors.inside_now(ctx_b, "B")] == [b.id]
    assert [i["id"] for i in visitors.inside_now(ctx, "A")] == [a.id]
    assert len(visitors.inside_now(ctx, None)) == 2
    log_b = visitors.daily_log(ctx_b, lobby="B")
    assert [r["大堂"] for r in log_b] == ["B"] and log_b[0]["来访事由"] == "送货"
    assert sorted(r["大堂"] for r in visitors.daily_log(ctx, lobby=None)) == ["A", "B"]
    assert "送货" not in visitors.daily_log_csv(ctx, lobby="A")


def test_an_invite_is_valid_at_any_lobby(ctx: KioskContext, ctx_b: KioskContext) -> None:
    now = ctx.clock.now()
    invite = visitors.create_invite(ctx, BUTLER_A, unit_code="3-1205", visitor_name="孙八",
                                    valid_from=now, valid_until=now + dt.timedelta(hours=3))  # fmt: skip
    view = visitors.redeem_invite(ctx_b, invite.code)
    assert view.status == "approved"
    assert [i["id"] for i in visitors.inside_now(ctx_b, "B")] == [view.id]
    assert visitors.inside_now(ctx, "A") == []
    # The pass works at any lobby's kiosk (the visitor may leave by another gate).
    visitors.sign_out(ctx, view.qr)


# -- estate-wide -----------------------------------------------------------------------------


def test_residents_cards_and_bills_are_estate_wide(ctx: KioskContext, ctx_b: KioskContext) -> None:
    assert _wang(ctx) == _wang(ctx_b)
    file_a = household_file(ctx, BUTLER_A, "3-1205")
    file_b = household_file(ctx_b, BUTLER_B, "3-1205")
    assert file_a == file_b and file_b.residents and file_b.cards
    bills_a = billing.open_bills(ctx, "3-1205")
    assert bills_a and billing.open_bills(ctx_b, "3-1205") == bills_a


# -- what the screens show (SQLite, headless) -----------------------------------------------


async def test_the_b_kiosk_screen_and_the_desks_show_the_lobby(sqlite_demo_url: str) -> None:
    from textual.app import App
    from textual.widgets import Checkbox, Label, Static

    from kiosk.clock import FixedClock
    from kiosk.i18n import language, set_language
    from plugins.parcels.screens import ParcelsDeskPanel, PickupScreen

    clock = FixedClock()
    a = KioskContext(settings_for(sqlite_demo_url), clock, Database(sqlite_demo_url))
    b = KioskContext(settings_for(sqlite_demo_url, lobby="B"), clock, Database(sqlite_demo_url))
    parcels.store_item(a, BUTLER_A, unit_code="1-101", depositor_name="张伟", description="行李箱",
                    category="luggage", expected_pickup_at=clock.now() + dt.timedelta(hours=5))  # fmt: skip

    class Harness(App[None]):
        def __init__(self, first: object = None, panel: object = None) -> None:
            super().__init__()
            self.first, self.panel = first, panel

        def compose(self):  # type: ignore[no-untyped-def]
            if self.panel is not None:
                yield self.panel

        def on_mount(self) -> None:
            if self.first is not None:
                self.push_screen(self.first)  # type: ignore[arg-type]

    async def kiosk_b() -> str:
        app = Harness(PickupScreen(b, parcels.start_pickup_by_card(b, _wang(b))))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert not app.screen.query(Checkbox)  # nothing to tick at lobby B
            return "\n".join(str(w.render()) for w in app.screen.query(Label))

    async def desk(ctx: KioskContext, actor: Actor) -> str:
        app = Harness(panel=ParcelsDeskPanel(ctx, actor))
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.pause()
            return str(app.query_one("#report", Static).render())

    before = language()
    set_language("en")
    try:
        shown = await kiosk_b()
        assert "Nothing is waiting for your unit at this lobby." in shown
        assert shown.count("at lobby A") == 2
        assert "Items in storage: 0" in await desk(b, BUTLER_B)
        manager = await desk(b, MANAGER)
        assert "Items in storage: 1" in manager and "(A) J" in manager
        butler_a = await desk(a, BUTLER_A)
        assert "Items in storage: 1" in butler_a and "(A)" not in butler_a
    finally:
        set_language(before)
        a.database().dispose()
        b.database().dispose()


def test_only_the_visitors_own_lobby_desk_answers_and_checks_the_id(
    ctx: KioskContext, ctx_b: KioskContext
) -> None:
    b = visitors.register_walkup(ctx_b, name="钱七", phone="13800002222", unit_code="1-101",
                                 purpose="送货")  # fmt: skip
    # The desk of lobby A cannot see the visitor standing in lobby B.
    for act in (
        lambda: visitors.decide(ctx, BUTLER_A, b.id, approve=True),
        lambda: visitors.mark_id_checked(ctx, BUTLER_A, b.id),
    ):
        with pytest.raises(Refused) as refused:
            act()
        assert refused.value.code == "visitors.other_lobby" and refused.value.params["lobby"] == "B"
    assert visitors.visit_status(ctx, b.id).status == "pending"
    visitors.mark_id_checked(ctx_b, BUTLER_B, b.id)
    # The manager (no lobby of their own) may answer anywhere.
    assert visitors.decide(ctx, MANAGER, b.id, approve=True).status == "approved"


def test_a_lobby_filter_is_read_in_any_case_and_an_unknown_lobby_is_refused(
    ctx: KioskContext,
) -> None:
    from kiosk.lobby import named_lobby

    assert named_lobby(ctx, " b ") == "B"
    assert named_lobby(ctx, "") is None  # nothing typed: every lobby
    with pytest.raises(Refused) as err:
        named_lobby(ctx, "Z")
    assert err.value.code == "lobby.unknown" and err.value.render() == "There is no lobby Z."


@pytest.mark.parametrize(
    ("module", "name", "args"),
    [
        ("plugins.parcels.cli", "parcels", ["report", "parcels", "--aging"]),
        ("plugins.parcels.cli", "parcels", ["report", "parcels", "--register"]),
        ("plugins.visitors.cli", "visitors", ["report", "visitors"]),
    ],
)
def test_the_desk_reports_refuse_a_lobby_the_estate_has_not(
    ctx: KioskContext, tmp_path, module: str, name: str, args: list[str]
) -> None:  # type: ignore[no-untyped-def]
    import importlib

    from typer.testing import CliRunner

    from tests.plugins.demo_people import cli_with, config_for

    app = cli_with(name, importlib.import_module(module).register)
    cfg = ["-c", config_for(ctx, tmp_path)]
    out = CliRunner().invoke(app, [*args, "--lobby", "Q", *cfg])
    assert out.exit_code == 1 and "There is no lobby Q." in out.output
    assert "Traceback" not in out.output
    assert CliRunner().invoke(app, [*args, "--lobby", "b", *cfg]).exit_code == 0
