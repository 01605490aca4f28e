"""``kiosk simulate`` scenarios for repairs, driving the real screens headless."""

from __future__ import annotations

from typing import Any

from kiosk.hookspecs import Scenario
from kiosk.ui.scenarios import open_as_resident

RESIDENT_CARD = "3C00A1B2C3"  # 王小明, owner of 3-1205 (demo estate)


async def _open(run: Any) -> Any:
    from plugins.repairs.screens import RepairScreen

    await open_as_resident(run, RESIDENT_CARD, "repairs", RepairScreen)
    for _ in range(3):
        await run.pilot.pause()
    return run.app.screen


async def _file(run: Any, parent: str, leaf: str, slot: bool) -> Any:
    from plugins.repairs.screens import RepairFiledScreen

    await _open(run)
    await run.click(f"#cat-{parent}")
    await run.pilot.pause()
    await run.click(f"#cat-{parent}--{leaf}")
    await run.pilot.pause()
    if slot:
        await run.click("#slot-0")
    await run.click("#send")
    for _ in range(3):
        await run.pilot.pause()
    screen = run.app.screen
    assert isinstance(screen, RepairFiledScreen), f"expected the ticket number, got {screen}"
    run.note(f"filed {screen.ticket.number} ({screen.ticket.category})")
    return screen.ticket


async def emergency(run: Any) -> None:
    """Burst pipe in two taps: the desk and engineering are alerted at once."""
    from sqlalchemy import select

    from kiosk.db.models import DeskAlert

    ticket = await _file(run, "plumbing", "burst_pipe", slot=False)
    assert ticket.emergency
    with run.ctx.database().read() as s:
        alerts = list(
            s.scalars(select(DeskAlert.message).where(DeskAlert.kind == "repair_emergency"))
        )
    assert any(ticket.number in a for a in alerts), alerts
    run.note(f"desk alert: {alerts[-1]}")


async def lifecycle(run: Any) -> None:
    """File a leak with an appointment -> confirm -> dispatch -> start -> resident signs on the
    pad -> return visit rating 5 -> closed."""
    from kiosk.identity import Actor
    from plugins.repairs import service
    from plugins.repairs.screens import RepairSignScreen, SignaturePad, draw_signature

    ticket = await _file(run, "plumbing", "leak", slot=True)
    butler = Actor("staff", 1, "李管家", frozenset({"butler"}))
    engineer = Actor("staff", 3, "赵工程", frozenset({"engineer"}))
    service.confirm(run.ctx, butler, ticket.number)
    service.dispatch(run.ctx, butler, ticket.number, assignee="赵工程")
    service.start(run.ctx, engineer, ticket.number)
    run.note("confirmed, dispatched to 赵工程, work started")
    await run.app.push_screen(RepairSignScreen(run.ctx, ticket.number, engineer))
    await run.pilot.pause()
    screen = run.app.screen
    await run.click("#confirm")  # an empty pad is refused
    await run.pilot.pause()
    assert screen.done is None
    pad = screen.query_one(SignaturePad)
    await draw_signature(run.pilot, pad)
    run.note(f"signed: {len(pad.strokes)} strokes")
    await run.click("#confirm")
    await run.pilot.pause()
    assert screen.done is not None and screen.done.status == "completed", screen.done
    closed = service.record_visit(run.ctx, butler, ticket.number, 5, "fixed")
    run.note(f"return visit: rating 5 -> {closed.status}")
    assert closed.status == "closed"


async def complaint_escalation(run: Any) -> None:
    """A resident complains at the kiosk about noise in building 3; four neighbours call the
    desk about the same noise: five customers about one event, all five become major and the
    manager is alerted at once."""
    from sqlalchemy import select

    from kiosk.db.models import DeskAlert, Notification
    from kiosk.identity import Actor
    from plugins.repairs import service
    from plugins.repairs.models import RepairTicket

    first = await _file(run, "complaint", "noise", slot=False)
    assert first.kind == "complaint" and first.severity == ""
    butler = Actor("staff", 1, "李管家", frozenset({"butler"}))
    numbers = [first.number]
    for i, unit in enumerate(("3-101", "3-302", "3-605", "3-806")):
        run.ctx.clock.advance(minutes=20)
        t = service.file_ticket(run.ctx, butler, category="complaint.noise", unit_code=unit,
                                contact_phone=f"1391234000{i}")  # fmt: skip
        numbers.append(t.number)
        run.note(f"desk: complaint {t.number} from {unit} -> {t.severity or 'not graded'}")
    with run.ctx.database().read() as s:
        grades = dict(s.execute(select(RepairTicket.number, RepairTicket.severity)
                                .where(RepairTicket.number.in_(numbers))).tuples().all())  # fmt: skip
        alerts = list(
            s.scalars(select(DeskAlert.message).where(DeskAlert.kind == "complaint_major"))
        )
        up = list(s.scalars(select(Notification).where(
            Notification.template == "complaint_reported_up")))  # fmt: skip
    assert set(grades.values()) == {"major"}, grades
    assert len(alerts) == 1 and all(n in alerts[0] for n in numbers), alerts
    assert up and up[0].recipient == "manager", up
    run.note(f"five customers about one event: all major; alert: {alerts[0]}")


async def booked_appointment(run: Any) -> None:
    """A leak booked for a slot: the respond clock runs from the slot, and engineering is not
    urged again while the slot is still ahead; after it, nobody came, they are."""
    import datetime as dt

    from sqlalchemy import select

    from kiosk.clock import as_utc
    from kiosk.identity import Actor
    from plugins.repairs import service
    from plugins.repairs.models import RepairTicket

    ticket = await _file(run, "plumbing", "leak", slot=True)
    with run.ctx.database().read() as s:
        row = s.scalars(select(RepairTicket).where(RepairTicket.number == ticket.number)).one()
        slot, respond_due = as_utc(row.appointment_at), as_utc(row.respond_due_at)
    assert respond_due == slot + dt.timedelta(minutes=5), (slot, respond_due)
    run.note(f"booked for {ticket.appointment}: respond due 5 min after the slot")
    butler = Actor("staff", 1, "李管家", frozenset({"butler"}))
    service.confirm(run.ctx, butler, ticket.number)
    service.dispatch(run.ctx, butler, ticket.number, assignee="赵工程")
    run.ctx.clock.advance(minutes=15)
    assert slot - run.ctx.clock.now() > dt.timedelta(minutes=0)
    assert service.renotify_unclaimed(run.ctx) == []
    assert service.sla_panel(run.ctx).breached_respond == 0
    run.note("15 min after dispatch, slot still ahead: no reminder, no breach")
    run.ctx.clock.advance(seconds=(slot - run.ctx.clock.now()).total_seconds() + 11 * 60)
    assert service.renotify_unclaimed(run.ctx) == [ticket.number]
    assert service.sla_panel(run.ctx).breached_respond == 1
    run.note("11 min after the slot, nobody came: engineering reminded, respond breached")


def scenarios() -> list[Scenario]:
    return [
        Scenario("repairs-emergency", "burst pipe in two taps; desk and engineering alerted",
                 emergency),
        Scenario("repairs-lifecycle", "file with a slot, dispatch, sign on the pad, visit, close",
                 lifecycle),
        Scenario("complaint-escalation",
                 "five customers about one event: all major, the manager alerted",
                 complaint_escalation),
        Scenario("booked-appointment",
                 "respond clock from the booked slot; no reminder before it", booked_appointment),
    ]  # fmt: skip
