"""PII scan of the office exports and the printed receipts: on a demo estate filled through the
real services with full mobile and ID numbers, every CSV / JSON / text export of the ``kiosk``
command and every receipt in the print queue is rendered and must show no unmasked phone or ID
number (``kiosk.pii.find_unmasked``), nor any of the raw numbers used, verbatim.

Screens are scanned elsewhere (tests/ui/test_simulate.py::test_snapshots_show_no_unmasked_pii).
On SQLite and PostgreSQL (the ``ctx`` fixture)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select

from devices.printer import Receipt, render_escpos
from devices.receipt_decode import decode_escpos
from kiosk import printing
from kiosk.context import KioskContext
from kiosk.db.models import PrintJob, Resident, Unit
from kiosk.identity import Actor
from kiosk.pii import find_unmasked
from plugins.billing import service as billing
from plugins.parcels import service as parcels
from plugins.parking import service as parking
from plugins.repairs import service as repairs
from plugins.umbrellas import service as umbrellas
from plugins.visitors import service as visitors
from tests.core.test_cli import kiosk
from tests.core.test_retention import BUTLER, SIGNED
from tests.plugins.parking.parking_helpers import CASHIER, resident_of

# The FixedClock starts at 2026-11-23 02:00 UTC: 10:00 on the 23rd in the estate (Shanghai).
DAY = "2026-11-23"
MONTH = "2026-11"
# The demo staff (kiosk/demo.py DEMO_STAFF): S001 butler, S002 cashier.
BUTLER_LOGIN = ("--staff", "S001", "--pin", "2580")
CASHIER_LOGIN = ("--staff", "S002", "--pin", "1357")
MANAGER_LOGIN = ("--staff", "S005", "--pin", "1470")
# The manager's picture reports write HTML to a file: /dev/stdout puts the page in the scan.
HTML_OUT = ("--html", "/dev/stdout", "--month", MONTH, *MANAGER_LOGIN)
CARD_UID = "00C0FFEE01"  # the parking card issued (and kept) below
RETURNED_CARD_UID = "00C0FFEE02"

# Full 11-digit mainland mobiles and 18-character ID numbers, as people give them.
VISITOR_PHONE, VISITOR_ID = "13912345678", "310101199001011234"
SECOND_VISITOR_PHONE, SECOND_VISITOR_ID = "15887654321", "31010419850505123X"
INVITE_PHONE = "13800001111"
PROXY_PHONE = "17755550123"
DEPOSITOR_PHONE = "18611112222"
SECOND_DEPOSITOR_PHONE = "13698765432"
REPAIR_PHONE = "13512348765"
REPAIR_PHONE_INTL = "+86 137-1234-5678"  # stored as +8613712345678
LICENCE = "440305198807071234"
SECOND_LICENCE = "44030519920202567x"
RAW_NUMBERS = (
    VISITOR_PHONE, VISITOR_ID, SECOND_VISITOR_PHONE, SECOND_VISITOR_ID, INVITE_PHONE,
    PROXY_PHONE, DEPOSITOR_PHONE, SECOND_DEPOSITOR_PHONE, REPAIR_PHONE, "13712345678",
    "8613712345678", LICENCE, SECOND_LICENCE, SECOND_LICENCE.upper(),
)  # fmt: skip

# What the population below prints, by print-job kind: each must be there, so the receipt
# scan cannot pass on an empty queue.
RECEIPT_KINDS = {
    "visitor-pass",  # a host approves a walk-up; an invite is redeemed; a reprint (补打)
    "parcel-pickup",  # a resident by card, a proxy by code
    "storage-ticket",  # 物品寄存
    "umbrella_loan",
    "parking-rent",  # 月租 taken in cash
    "billing-deposit",  # the parking card's deposit
    "billing-deposit-refund",  # a parking card given back
    "billing-payment",  # the cashier takes a bill payment
    "repair_ticket",
}


def resident(ctx: KioskContext, unit: str, name: str | None = None) -> Actor:
    """A demo resident of ``unit`` (its first owner, or the one called ``name``) as an actor."""
    with ctx.database().read() as session:
        q = select(Resident).join(Unit, Unit.id == Resident.unit_id).where(Unit.code == unit)
        q = q.where(Resident.name == name) if name else q.where(Resident.role == "owner")
        r = session.scalars(q.order_by(Resident.id)).first()
        assert r is not None, f"no resident {name or 'owner'} in {unit}"
        return Actor.of_resident(r)


def populate(ctx: KioskContext) -> None:
    """Visitors, parcels, storage, umbrellas, parking, repairs and a bill payment, each with the
    personal data the service takes; some of it backdated so the overdue lists are not empty."""
    start = ctx.clock.now()
    # -- twenty days ago: an umbrella not returned since and a parcel still on the shelf, so
    #    `umbrellas overdue` and the 15+ day lines of `report parcels --aging` list them
    #    (the CLI runs on the wall clock; the FixedClock starts on today's date).
    ctx.clock.advance(days=-20)
    umbrellas.lend(ctx, resident(ctx, "1-101", "张伟"), "U002", condition_out="intact")
    parcels.check_in(
        ctx, BUTLER, tracking="SF1000000000009", unit_code="3-1205", recipient="王小明",
        shelf="C3",
    )  # fmt: skip
    ctx.clock.advance(days=20)
    assert ctx.clock.now() == start
    host = resident(ctx, "1-101")

    # -- visitors: a walk-up with an ID number, approved, ID checked, signed out
    walk_up = visitors.register_walkup(
        ctx, name="赵六一", phone=VISITOR_PHONE, unit_code="1-101", purpose="探亲",
        id_number=VISITOR_ID, party_size=2,
    ).id  # fmt: skip
    visitors.decide(ctx, host, walk_up, approve=True)
    visitors.mark_id_checked(ctx, BUTLER, walk_up)
    ctx.clock.advance(minutes=30)
    visitors.sign_out_by_desk(ctx, BUTLER, walk_up)
    declined = visitors.register_walkup(
        ctx, name="钱七七", phone=SECOND_VISITOR_PHONE, unit_code="1-101",
        purpose=f"送货 请回电 {SECOND_VISITOR_PHONE}",  # a number typed into free text
        id_number=SECOND_VISITOR_ID.lower(),
    ).id  # fmt: skip
    visitors.decide(ctx, host, declined, approve=False)
    visitors.register_walkup(  # still waiting for the host
        ctx, name="Alice Wong", phone=VISITOR_PHONE, unit_code="3-1205", purpose="拜访"
    )
    now = ctx.clock.now()
    invite = visitors.create_invite(
        ctx, host, visitor_name="吴十", visitor_phone=INVITE_PHONE, valid_from=now,
        valid_until=now + dt.timedelta(days=1), purpose="聚餐",
    )  # fmt: skip
    redeemed = visitors.redeem_invite(ctx, invite.code)
    assert redeemed.print_job_id is not None
    printing.reprint(ctx.database(), redeemed.print_job_id, actor=BUTLER.label, at=now)

    # -- parcels: a pickup by card with a signature, a proxy's pickup by code, one waiting,
    #    one returned; storage deposited with the depositor's phone, one collected
    mine = parcels.check_in(
        ctx, BUTLER, tracking="SF1000000000001", unit_code="1-101", recipient="张伟", shelf="A1"
    )
    pickup = parcels.start_pickup_by_card(ctx, host)
    parcels.release(ctx, pickup, [mine.parcel_id], SIGNED)
    parcels.add_proxy(ctx, BUTLER, "2-803", "钱代取", phone=PROXY_PHONE)
    theirs = parcels.check_in(
        ctx, BUTLER, tracking="YT1234567890123", unit_code="2-803", recipient="刘芳", shelf="B2"
    )
    by_code = parcels.start_pickup_by_code(ctx, "2-803", theirs.code)
    by_code = parcels.identify_picker(ctx, by_code, "钱代取")
    parcels.release(ctx, by_code, [theirs.parcel_id], SIGNED)
    parcels.check_in(
        ctx, BUTLER, tracking="SF1000000000002", unit_code="3-1205", recipient="王小明"
    )
    returned = parcels.check_in(
        ctx, BUTLER, tracking="SF1000000000003", unit_code="1-101", recipient="张伟"
    ).parcel_id
    parcels.return_to_sender(ctx, BUTLER, returned, "refused by the recipient")
    pickup_by = ctx.clock.now() + dt.timedelta(hours=5)
    stored = parcels.store_item(
        ctx, BUTLER, unit_code="1-101", depositor_name="张伟", description="行李箱 suitcase",
        category="luggage", expected_pickup_at=pickup_by, depositor_phone=DEPOSITOR_PHONE,
    )  # fmt: skip
    parcels.release_stored(
        ctx,
        BUTLER,
        ticket=stored.ticket,
        claimant_name="张伟",
        strokes=SIGNED,
        id_last4="1234",
        condition="intact",
    )
    parcels.store_item(
        ctx, BUTLER, unit_code="2-803", depositor_name="刘芳",
        description=f"纸箱 box, 取件人电话 {SECOND_DEPOSITOR_PHONE}",
        category="box", expected_pickup_at=pickup_by, depositor_phone=SECOND_DEPOSITOR_PHONE,
    )  # fmt: skip

    # -- umbrellas: a loan today
    umbrellas.lend(
        ctx, resident(ctx, "3-1205", "王小明"), "U001",
        condition_out=f"intact; 借伞人电话 {INVITE_PHONE}",
    )  # fmt: skip

    # -- parking: a monthly rental in cash with the driving licence, its card (deposit taken);
    #    a second rental whose card comes back (deposit refunded, rental ended)
    rental = parking.open_rental(
        ctx, CASHIER, unit="3-1205", resident_id=resident_of(ctx, "3-1205").id, plate="粤B88888",
        car_model="丰田 卡罗拉", licence_no=LICENCE, identity_checked=True, months=1,
        method="cash",
    )  # fmt: skip
    parking.issue_card(ctx, CASHIER, rental.number, CARD_UID)
    ended = parking.open_rental(
        ctx, CASHIER, unit="2-803", resident_id=resident_of(ctx, "2-803").id, plate="粤B66666",
        car_model=f"本田 雅阁 {DEPOSITOR_PHONE}", licence_no=SECOND_LICENCE, identity_checked=True, months=2,
        method="cash",
    )  # fmt: skip
    parking.issue_card(ctx, CASHIER, ended.number, RETURNED_CARD_UID)
    parking.return_card(ctx, CASHIER, RETURNED_CARD_UID, "moved out")

    # -- repairs: a resident files with a contact phone; the desk takes a call for a unit
    slot = repairs.appointment_slots(ctx)[0]
    repairs.file_ticket(
        ctx, resident(ctx, "1-101", "张伟"), category="plumbing.leak", appointment_at=slot,
        contact_phone=REPAIR_PHONE, description=f"厨房水槽下漏水，另可联系 {PROXY_PHONE}",
    )  # fmt: skip
    repairs.file_ticket(
        ctx, BUTLER, category="plumbing.leak", unit_code="2-803", reporter="刘芳",
        contact_phone=REPAIR_PHONE_INTL,
    )  # fmt: skip
    repairs.file_ticket(ctx, resident(ctx, "3-1205", "王小明"), category="doors.window")

    # -- billing: the cashier takes a payment on the unit's oldest bill
    bill = billing.open_bills(ctx, "3-1205")[0]
    billing.record_desk_payment(ctx, CASHIER, bill.id, bill.balance_fen, "cash")


def raw_numbers(ctx: KioskContext) -> tuple[str, ...]:
    """Every raw number that must never appear verbatim: the ones used above and every demo
    resident's phone and ID number (rentals and repairs take the resident's own)."""
    with ctx.database().read() as session:
        stored = session.execute(select(Resident.phone, Resident.id_number)).all()
    return RAW_NUMBERS + tuple(n for row in stored for n in row if n)


def leaks(text: str, raw: tuple[str, ...]) -> list[str]:
    """Unmasked numbers in ``text``: what the scan finds, and raw numbers found verbatim."""
    return sorted(set(find_unmasked(text)) | {n for n in raw if n in text})


# -- the office exports -------------------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    """One invocation of the ``kiosk`` command that prints people's records."""

    args: tuple[str, ...]
    expect: str  # shows the populated data reached the export (the scan is not vacuous)
    exit_codes: tuple[int, ...] = (0,)

    @property
    def name(self) -> str:
        return "kiosk " + " ".join(self.args)


EXPORTS = (
    # kiosk report ... (every subcommand: see test_every_report_subcommand_is_scanned)
    Export(("report", "visitors", "--day", DAY, "--csv"), "139****5678"),
    Export(("report", "visitors", "--day", DAY, "--json"), "139****5678"),
    Export(("report", "visitors", "--day", DAY), "139****5678"),
    Export(("report", "parcels", "--aging", "--csv"), "SF1000000000002"),
    Export(("report", "parcels", "--aging", "--json"), "SF1000000000002"),
    Export(("report", "parcels", "--aging"), "SF1000000000009"),
    Export(("report", "parcels", "--register", "--csv"), "refused by the recipient"),
    Export(("report", "parcels", "--register", "--json"), "YT1234567890123"),
    Export(("report", "parcels", "--register"), "YT1234567890123"),
    Export(("report", "parcels", "--storage", "--csv"), "****1234"),
    Export(("report", "parcels", "--storage", "--json"), "****1234"),
    Export(("report", "parcels", "--storage"), "****1234"),
    Export(("parcels", "proxy", "list", "2-803", "--json", *BUTLER_LOGIN), "177****0123"),
    Export(("parcels", "proxy", "list", "2-803", *BUTLER_LOGIN), "177****0123"),
    Export(("report", "parking", "--week", "--csv", *CASHIER_LOGIN), "粤B88888"),
    Export(("report", "parking", "--week", "--json", *CASHIER_LOGIN), "粤B88888"),
    Export(("report", "parking", "--week", *CASHIER_LOGIN), "粤B88888"),
    Export(("report", "repairs", "--month", MONTH, "--csv"), "plumbing.leak"),
    Export(("report", "repairs", "--month", MONTH, "--json"), "plumbing.leak"),
    Export(("report", "repairs", "--month", MONTH), "plumbing.leak"),
    # Reconciliation exits 1 when a provider's statement is unavailable or differs.
    Export(("report", "billing", "--day", DAY, "--json"), DAY, (0, 1)),
    Export(("report", "billing", "--day", DAY), DAY, (0, 1)),
    # registers and lists
    Export(
        ("report", "repairs", "--month", MONTH, "--html", "/dev/stdout", *MANAGER_LOGIN), "<html"
    ),  # fmt: skip
    Export(("report", "umbrellas", *HTML_OUT), "<html"),
    Export(("report", "parcels", *HTML_OUT), "<html"),
    Export(("report", "parking", *HTML_OUT), "<html"),
    Export(("report", "month", *HTML_OUT), "<html"),
    Export(("report", "surveys", "--json"), '"households"'),
    Export(("report", "surveys", "--csv"), ","),
    Export(("report", "surveys"), "%"),
    Export(("umbrellas", "register", *BUTLER_LOGIN), "U001"),
    Export(("umbrellas", "overdue"), "U002"),
    Export(("umbrellas", "overdue", "--json"), "U002"),
    Export(("parking", "card", CARD_UID), "粤B88888"),
    Export(("parking", "card", CARD_UID, "--json"), "粤B88888"),
    Export(("billing", "statement", "3-1205", *CASHIER_LOGIN), "paid SK"),
    Export(("billing", "statement", "3-1205", "--json", *CASHIER_LOGIN), '"receipt_no": "SK'),
    Export(("billing", "flagged"), ""),  # no QR payment here is flagged: scanned for its form
    Export(("billing", "flagged", "--json"), "["),
    Export(("repairs", "sla"), "R261123-"),
    Export(("repairs", "sla", "--json"), "R261123-"),
    Export(("audit", "verify", "--json"), '"ok": true'),
)


def test_office_exports_show_no_unmasked_pii(ctx: KioskContext) -> None:
    populate(ctx)
    raw = raw_numbers(ctx)
    url = ctx.database().engine.url.render_as_string(hide_password=False)
    ctx.database().dispose()  # the commands below open the database themselves
    env = {"KIOSK_DATABASE_URL": url}
    # Side by side, as several desks and the office use one database.
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda e: kiosk(*e.args, env=env), EXPORTS))
    problems = []
    for export, result in zip(EXPORTS, results, strict=True):
        if result.returncode not in export.exit_codes:
            problems.append(f"{export.name}: exit {result.returncode}: {result.stderr.strip()}")
            continue
        output = result.stdout + result.stderr
        if export.expect not in result.stdout:
            problems.append(f"{export.name}: {export.expect!r} not in its output:\n{output}")
        found = leaks(output, raw)
        if found:
            problems.append(f"{export.name} prints unmasked PII {found}:\n{output}")
    assert not problems, "\n\n".join(problems)


def test_every_report_subcommand_is_scanned() -> None:
    """A new plugin's ``kiosk report`` cannot skip the scan: every subcommand the real CLI
    mounts (plugins included) has a row in EXPORTS."""
    listing = (
        "import typer\n"
        "from kiosk.cli import _mount_optional, app\n"
        "_mount_optional()\n"
        "root = typer.main.get_command(app)\n"
        "report = root.commands['report']\n"
        "print('\\n'.join(sorted(report.commands)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_")}
    result = subprocess.run(
        [sys.executable, "-c", listing], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    mounted = set(result.stdout.split())
    assert {"visitors", "parcels", "parking", "repairs", "billing"} <= mounted, mounted
    scanned = {e.args[1] for e in EXPORTS if e.args[0] == "report"}
    assert mounted <= scanned, f"kiosk report subcommands not in EXPORTS: {mounted - scanned}"


# -- the printed receipts -----------------------------------------------------------------------


def test_receipts_show_no_unmasked_pii(ctx: KioskContext) -> None:
    populate(ctx)
    raw = raw_numbers(ctx)
    with ctx.database().read() as session:
        jobs = [(j.id, j.kind, j.document) for j in session.scalars(select(PrintJob))]
    kinds = {kind for _id, kind, _doc in jobs}
    assert kinds >= RECEIPT_KINDS, f"receipts not printed: {RECEIPT_KINDS - kinds}"
    problems = []
    for job_id, kind, document in jobs:
        receipt = Receipt.from_dict(document)
        for paper in (80, 58):
            decoded = decode_escpos(render_escpos(receipt, paper))
            assert decoded.lines, f"{kind} receipt (print job {job_id}) decodes to nothing"
            printed = "\n".join([decoded.text, *decoded.qr_codes, *decoded.barcodes])
            found = leaks(printed, raw)
            if found:
                problems.append(
                    f"{kind} receipt (print job {job_id}, {paper} mm) prints unmasked PII "
                    f"{found}:\n{decoded.text}"
                )
        # A number wrapped across two printed lines escapes the line scan: the stored
        # document is scanned unwrapped too.
        stored = json.dumps(document, ensure_ascii=False)
        found = leaks(stored, raw)
        if found:
            problems.append(
                f"{kind} receipt (print job {job_id}) holds unmasked PII {found}: {stored}"
            )
    assert not problems, "\n\n".join(problems)
