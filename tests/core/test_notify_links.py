"""A host approves a walk-up from the link in an email; links work once, expire, and say
nothing without their token. Pickup codes are kept only as keyed digests."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re

import aiohttp
from aiohttp import web
from notify_servers import SmtpServer, free_port
from sqlalchemy import select

from kiosk.config import NotifySettings
from kiosk.context import KioskContext
from kiosk.db.models import NotifyLink, Resident, Unit
from kiosk.identity import Actor
from kiosk.notify import run_dispatch
from kiosk.notify_links import make_app
from tests.conftest import CHROMIUM, need_chromium

BUTLER = Actor("staff", 1, "李管家", frozenset({"butler"}))
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/l/[A-Za-z0-9_\-]+\.[0-9a-f]+)")


def configure(ctx: KioskContext, link_port: int, **notify: object) -> None:
    ctx.settings = dataclasses.replace(
        ctx.settings,
        notify=NotifySettings(link_base=f"http://127.0.0.1:{link_port}", **notify),  # type: ignore[arg-type]
    )


def give_emails(ctx: KioskContext) -> None:
    with ctx.database().write() as s:
        for r in s.scalars(
            select(Resident).join(Unit, Unit.id == Resident.unit_id).where(Unit.code == "3-1205")
        ):
            r.email = "emily@home.test" if r.name == "Emily Wang" else "wang@home.test"


class LinkServer:
    def __init__(self, ctx: KioskContext, port: int) -> None:
        self.ctx, self.port = ctx, port

    async def __aenter__(self) -> LinkServer:
        self.runner = web.AppRunner(make_app(self.ctx))
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


async def test_a_walk_up_approved_from_the_emailed_link_gets_its_pass(ctx) -> None:
    from plugins.visitors import service as visitors

    port = free_port()
    with SmtpServer() as smtp:
        configure(ctx, port, resident=(smtp.url(),))
        give_emails(ctx)
        visit = visitors.register_walkup(
            ctx, name="赵六一", phone="13912345678", unit_code="3-1205", purpose="探亲 family"
        )
        report = run_dispatch(ctx)
        assert report.ok and report.sent >= 1
        emily = next(m for m in smtp.mails if m.to == ["emily@home.test"])
        assert {m.to[0] for m in smtp.mails} == {"emily@home.test", "wang@home.test"}
    assert "Visitor for 3-1205" in emily.subject and "赵*一" in emily.body
    assert "13912345678" not in emily.body  # the visitor's phone is not the host's business
    link = LINK.search(emily.body).group(1)
    async with LinkServer(ctx, port), aiohttp.ClientSession() as http:
        async with http.get(link) as page:
            html = await page.text()
            assert page.status == 200 and "Approve" in html and "赵*一" in html
            assert page.headers["Cache-Control"] == "no-store"
        assert visitors.visit_status(ctx, visit.id).status == "pending"  # a GET decides nothing
        async with http.post(link, data={"answer": "approve"}) as page:
            assert page.status == 200 and "approved" in await page.text()
        view = visitors.visit_status(ctx, visit.id)
        assert view.status == "approved" and view.qr.startswith("KP1.")
        assert view.print_job_id is not None  # the pass slip waits at the visitor's kiosk
        # The kiosk's waiting screen sees the pass, and the pass checks out at the gate.
        assert visitors.check_pass(ctx, view.qr).id == visit.id
        async with http.post(link, data={"answer": "decline"}) as again:
            assert again.status == 404  # used
        async with http.get(link) as again:
            assert again.status == 404
    # The other resident's link is now too late.
    wang = next(m for m in smtp.mails if m.to == ["wang@home.test"])
    assert "访客" in wang.subject or "有访客" in wang.subject


async def test_bad_expired_and_forged_tokens_all_get_the_same_404(ctx) -> None:
    from plugins.visitors import service as visitors

    port = free_port()
    with SmtpServer() as smtp:
        configure(ctx, port, resident=(smtp.url(),), link_minutes=5)
        give_emails(ctx)
        visit = visitors.register_walkup(
            ctx, name="赵六一", phone="13912345678", unit_code="3-1205", purpose="探亲"
        )
        run_dispatch(ctx)
        link = LINK.search(smtp.mails[0].body).group(1)
    token_id, mac = link.rsplit("/", 1)[1].split(".")
    base = f"http://127.0.0.1:{port}"
    forged = f"{base}/l/{token_id}.{'0' * len(mac)}"
    unknown = f"{base}/l/AAAAAAAAAAAAAAAA.{mac}"
    async with LinkServer(ctx, port), aiohttp.ClientSession() as http:
        bodies = set()
        odd = f"{base}/l/{token_id}.%C3%A9%00"
        for url in (forged, unknown, odd, f"{base}/l/x", f"{base}/", f"{base}/l/{token_id}"):
            async with http.get(url) as r:
                assert r.status == 404
                bodies.add(await r.text())
            async with http.post(url, data={"answer": "approve"}) as r:
                assert r.status == 404
        assert visitors.visit_status(ctx, visit.id).status == "pending"
        # The host answers within the visitor's wait but after the link's own expiry.
        ctx.clock.advance(minutes=6)
        async with http.post(link, data={"answer": "approve"}) as r:
            assert r.status == 404
            bodies.add(await r.text())
        assert len(bodies) == 1 and "赵" not in bodies.pop()


async def test_a_parcel_code_link_shows_the_code_once_then_forgets_it(ctx) -> None:
    from plugins.parcels import service as parcels

    port = free_port()
    with SmtpServer() as smtp:
        configure(ctx, port, resident=(smtp.url(),))
        give_emails(ctx)
        result = parcels.check_in(ctx, BUTLER, tracking="SF7100000000001", unit_code="3-1205")
        run_dispatch(ctx)
        mail = next(m for m in smtp.mails if m.to == ["emily@home.test"])
    assert result.code in mail.body
    link = LINK.search(mail.body).group(1)
    async with LinkServer(ctx, port), aiohttp.ClientSession() as http:
        async with http.get(link) as page:
            assert page.status == 200 and result.code in await page.text()
        async with http.get(link) as page:
            assert page.status == 404 and result.code not in await page.text()
    with ctx.database().read() as s:
        rows = s.scalars(select(NotifyLink)).all()
        assert [r.secret for r in rows if r.used_at is not None] == [""]
        # The other resident's link is unused: its copy of the code goes when it expires.
        assert [r.secret for r in rows if r.used_at is None] == [result.code]
    ctx.clock.advance(days=4)
    run_dispatch(ctx)
    with ctx.database().read() as s:
        assert all(row.secret == "" for row in s.scalars(select(NotifyLink)))


def test_pickup_code_digests_are_keyed(ctx) -> None:
    """A stolen database does not give the codes back by hashing all million of them."""
    from plugins.parcels import service as parcels
    from plugins.parcels.models import PickupCode

    result = parcels.check_in(ctx, BUTLER, tracking="SF7200000000001", unit_code="1-101")
    with ctx.database().read() as s:
        unit_id = s.scalar(select(Unit.id).where(Unit.code == "1-101"))
        digests = set(s.scalars(select(PickupCode.digest).where(PickupCode.unit_id == unit_id)))
    unkeyed = {hashlib.sha256(f"{unit_id}:{c:06d}".encode()).hexdigest() for c in range(1_000_000)}
    assert not digests & unkeyed
    # The code still opens the unit's parcels; another estate's key would not.
    assert parcels.start_pickup_by_code(ctx, "1-101", result.code).parcels
    other = dataclasses.replace(ctx.settings, notify=NotifySettings(secret="another estate"))
    assert (
        parcels._digest(dataclasses.replace(ctx, settings=other), unit_id, result.code)
        not in digests
    )


async def test_the_approval_page_in_chromium(ctx, tmp_path) -> None:
    need_chromium()
    from playwright.async_api import async_playwright

    from plugins.visitors import service as visitors

    port = free_port()
    with SmtpServer() as smtp:
        configure(ctx, port, resident=(smtp.url(),))
        give_emails(ctx)
        visit = visitors.register_walkup(
            ctx, name="赵六一", phone="13912345678", unit_code="3-1205", purpose="探亲 family"
        )
        run_dispatch(ctx)
        mail = next(m for m in smtp.mails if m.to == ["wang@home.test"])
    link = LINK.search(mail.body).group(1)
    async with LinkServer(ctx, port), async_playwright() as pw:
        # The browser is not ours: under `faketime` (make test-anyday) libfaketime preloaded
        # into Chromium's processes stalls the page load, so the browser keeps the real clock.
        real_clock = {
            k: v for k, v in os.environ.items() if not k.startswith(("LD_PRELOAD", "FAKETIME"))
        }
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, env=real_clock
        )
        page = await browser.new_page(viewport={"width": 390, "height": 640})
        await page.goto(link)
        await page.screenshot(path=str(tmp_path / "approve.png"))
        if os.environ.get("KIOSK_SCREENSHOTS"):  # refresh the picture in docs/notify.md
            await page.screenshot(path=os.environ["KIOSK_SCREENSHOTS"] + "/notify-approve.png")
        await page.get_by_role("button", name="同意").click()
        await page.wait_for_selector("text=已同意")
        await browser.close()
    assert (tmp_path / "approve.png").stat().st_size > 1000
    assert visitors.visit_status(ctx, visit.id).status == "approved"


async def test_a_bill_link_shows_its_pay_qr_once(ctx) -> None:
    from notify_servers import Webhook

    from kiosk.money import format_fen
    from kiosk.notify import queue_notification
    from plugins.billing import service as billing

    bill = billing.open_bills(ctx, "3-1205")[0]
    port = free_port()
    hook = Webhook().start()
    try:
        configure(ctx, port, resident=(hook.url("send/{phone}"),))
        with ctx.database().write() as s:
            unit_id = s.scalar(select(Unit.id).where(Unit.code == "3-1205"))
            queue_notification(
                s,
                channel="sms",
                template="bill.issued",
                at=ctx.clock.now(),
                unit_id=unit_id,
                payload={
                    "bill": bill.id,
                    "amount": format_fen(bill.due_now_fen),
                    "period": bill.period,
                    "due": bill.due_date.isoformat(),
                },
            )
        assert run_dispatch(ctx).sent == 1
        message = hook.received[0].body["message"]
    finally:
        hook.stop()
    assert format_fen(bill.due_now_fen) in message
    link = LINK.search(message).group(1)
    async with LinkServer(ctx, port), aiohttp.ClientSession() as http:
        async with http.get(link) as page:
            body = await page.text()
            assert page.status == 200 and "<svg" in body and bill.number in body
        async with http.get(link) as page:
            assert page.status == 404
    with ctx.database().read() as s:
        from plugins.billing.models import PaymentOrder

        orders = s.scalars(select(PaymentOrder).where(PaymentOrder.bill_id == bill.id)).all()
        assert len(orders) == 1 and orders[0].status == "pending"


def test_invite_codes_are_kept_as_keyed_digests(ctx) -> None:
    import datetime as dt

    from plugins.visitors import service as visitors
    from plugins.visitors.models import Invite

    with ctx.database().read() as s:
        r = s.scalars(
            select(Resident)
            .join(Unit, Unit.id == Resident.unit_id)
            .where(Unit.code == "3-1205", Resident.name == "王小明")
        ).one()
        host = Actor.of_resident(r)
    start = ctx.clock.now()
    invite = visitors.create_invite(
        ctx,
        host,
        visitor_name="钱七",
        valid_from=start,
        valid_until=start + dt.timedelta(hours=2),
    )
    with ctx.database().read() as s:
        stored = s.get(Invite, invite.id).code
    assert stored != invite.code and invite.code not in stored
    assert stored == visitors.invite_digest(ctx, invite.code)
    # Typed or scanned, the code still gives the pass.
    assert visitors.redeem_invite(ctx, invite.code).status == "approved"


async def test_what_a_visitor_typed_is_escaped_on_the_page_and_in_the_email(ctx) -> None:
    from plugins.visitors import service as visitors

    port = free_port()
    with SmtpServer() as smtp:
        configure(ctx, port, resident=(smtp.url(),))
        give_emails(ctx)
        visitors.register_walkup(
            ctx,
            name="赵六一",
            phone="13912345678",
            unit_code="3-1205",
            purpose='<script>alert(1)</script><img src=x onerror="x">',
        )
        run_dispatch(ctx)
        mail = smtp.mails[0]
    # Sent as plain text, or as HTML with the visitor's text escaped: never live markup.
    assert "<script>" not in mail.html and "<img" not in mail.html
    assert "<script>" in mail.body  # the plain text says what was typed, harmlessly
    link = LINK.search(mail.body).group(1)
    async with LinkServer(ctx, port), aiohttp.ClientSession() as http:
        async with http.get(link) as page:
            html = await page.text()
    assert page.status == 200 and "&lt;script&gt;" in html
    assert "<script>" not in html and "<img" not in html
    assert "script-src" not in page.headers["Content-Security-Policy"]  # no script at all
