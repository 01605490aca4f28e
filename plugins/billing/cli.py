"""``kiosk emv ...``, ``kiosk billing ...`` and ``kiosk report billing``: thin typer commands
over :mod:`plugins.billing.emv` and :mod:`plugins.billing.service`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from kiosk.commands import (
    AmountArg,
    CommandGroup,
    ConfigOpt,
    JsonOpt,
    UnitArg,
    context,
    day_option,
    emit,
    fail,
    fields_of,
    said,
)
from kiosk.money import typed_amount

emv_app = typer.Typer(help="EMV merchant-presented QR payloads.", no_args_is_help=True)


@emv_app.command("decode")
def emv_decode(
    payload: Annotated[str, typer.Argument(help="The QR payload text.")],
    as_json: JsonOpt = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Also require EMVCo's 52, 59 and 60.")
    ] = False,
) -> None:
    """Check and show an EMV payload: exit 0 valid, 1 invalid (the reason names the tag)."""
    from plugins.billing import emv

    try:
        qr, warnings = emv.decode_with_warnings(payload, strict=strict)
    except emv.EMVError as exc:
        if as_json:
            typer.echo(json.dumps({"valid": False, "tag": exc.tag, "reason": exc.reason}))
        fail(exc.render())
        return
    data = emv.as_dict(qr, warnings)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    lines = ["valid EMV merchant-presented QR (" + ("dynamic" if qr.dynamic else "static") + ")"]
    for key, value in data.items():
        if key in ("valid", "dynamic", "warnings") or value in ("", None, {}, []):
            continue
        lines.append(
            f"  {key}: {value if not isinstance(value, dict) else json.dumps(value, ensure_ascii=False)}"
        )
    lines += [f"  warning: {w}" for w in warnings]
    typer.echo("\n".join(lines))


group = CommandGroup(
    "billing",
    "Bills, payments, deposits and refunds (state changes need --staff and a PIN).",
    "plugins.billing.service",
)
billing_app = group.app

MethodOpt = Annotated[str, typer.Option("--method", help="cash or card.")]
BillArg = Annotated[str, typer.Argument(help="Bill number, e.g. B202611-3-1205.")]
RefundReasonOpt = Annotated[str, typer.Option("--reason", help="Why the money goes back.")]
ReceiptArg = Annotated[str, typer.Argument(help="Payment receipt number (SK...).")]
DepositArg = Annotated[str, typer.Argument(help="Deposit receipt number (SJ...).")]
DepositReasonOpt = Annotated[str, typer.Option("--reason", help="Why it is given back.")]
OrderArg = Annotated[str, typer.Argument(help="Payment order number (KO...).")]
CreditReasonOpt = Annotated[str, typer.Option("--reason", help="Why the bill is reduced.")]


def _id_of(ctx: Any, number_column: Any, number: str) -> int | None:
    """The id of the row whose ``number_column`` (a bill's number, a receipt's) is ``number``."""
    from sqlalchemy import select

    model = number_column.class_
    with ctx.database().read() as session:
        found = session.scalar(select(model.id).where(number_column == number.strip()))
    return None if found is None else int(found)


def _bill_id(ctx: Any, number: str) -> int:
    from kiosk.errors import Refused
    from plugins.billing.models import Bill

    found = _id_of(ctx, Bill.number, number)
    if found is None:
        raise Refused("billing.no_bill", "There is no bill {number}.", number=number)
    return found


@group.staff("statement", said)
def statement(ctx: Any, actor: Any, unit: UnitArg) -> tuple[Any, str]:
    """A unit's bills (with today's late fee), payments and deposits."""
    from kiosk.money import format_fen
    from plugins.billing import service

    st = service.unit_statement(ctx, actor, unit)
    data = {
        "unit": st.unit_code,
        "owed_fen": st.owed_fen,
        "bills": [
            {
                "number": b.number,
                "period": b.period,
                "due_date": b.due_date.isoformat(),
                "status": b.status,
                "balance_fen": b.balance_fen,
                "late_fee_now_fen": b.late_fee_now_fen,
                "lines": [ln.__dict__ for ln in b.lines],
            }
            for b in st.bills
        ],
        "payments": list(st.payments),
        "deposits": list(st.deposits),
    }
    lines = [f"unit {st.unit_code}: owes {format_fen(st.owed_fen)} today"]
    for b in st.bills:
        late = f" + late fee {format_fen(b.late_fee_now_fen)}" if b.late_fee_now_fen else ""
        lines.append(
            f"  {b.number} {b.period} due {b.due_date} {b.status}: {format_fen(b.balance_fen)}{late}"
        )
        lines += [
            f"      {ln.kind:<13} {format_fen(ln.amount_fen):>12}  {ln.description}"
            for ln in b.lines
        ]
    lines += [
        f"  paid {p['receipt_no']} {p['method']} {format_fen(p['amount_fen'])}" for p in st.payments
    ]
    lines += [
        f"  deposit {d['receipt_no']} {d['kind']} {format_fen(d['amount_fen'])} {d['status']}"
        for d in st.deposits
    ]
    return data, "\n".join(lines)


@group.staff("pay", said)
def pay(
    ctx: Any, actor: Any, bill: BillArg, amount: AmountArg, method: MethodOpt = "cash"
) -> tuple[Any, str]:
    """Record a cash or card payment taken by the cashier (a receipt is printed)."""
    from kiosk.money import format_fen
    from plugins.billing import service

    p = service.record_desk_payment(ctx, actor, _bill_id(ctx, bill), typed_amount(amount), method)
    return (
        fields_of(p, "receipt_no", "amount_fen", "late_fee_fen"),
        f"paid {format_fen(p.amount_fen)} on {bill}: receipt {p.receipt_no}",
    )


@group.staff("refund", said)
def refund(
    ctx: Any, actor: Any, receipt: ReceiptArg, amount: AmountArg, reason: RefundReasonOpt
) -> tuple[Any, str]:
    """Refund (part of) a payment: manager only; QR payments go back through their provider."""
    from kiosk.errors import Refused
    from kiosk.money import format_fen
    from plugins.billing import service
    from plugins.billing.models import Payment

    fen = typed_amount(amount)
    pid = _id_of(ctx, Payment.receipt_no, receipt)
    if pid is None:
        raise Refused("billing.no_payment", "There is no payment {receipt}.", receipt=receipt)
    r = service.refund_payment(ctx, actor, pid, fen, reason)
    note = (
        "\n  the payment service has not confirmed it yet: it stays requested under this number"
        " and is settled by `kiosk billing refunds resolve` (never sent under a new number)"
        if r.status == "requested"
        else ""
    )
    return (
        fields_of(r, "refund_no", "amount_fen", "status"),
        f"refund {r.refund_no}: {format_fen(r.amount_fen)} ({r.status}){note}",
    )


refunds = group.group("refunds", "Refunds at the payment providers.")


@refunds.app.command("resolve")
def refunds_resolve(
    older_than: Annotated[
        int | None,
        typer.Option(
            "--older-than",
            min=0,
            help="Minutes a refund must have waited (default: refund_resolve_minutes, 10).",
        ),
    ] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Settle refunds whose provider answer never came (a timeout, a process killed midway):
    each is asked of its provider and recorded; one the provider never received is sent again
    with its own number. Exit 1 while any is still unsettled."""
    import dataclasses
    import datetime as dt

    from kiosk.money import format_fen
    from plugins.billing import service

    ctx = context(config)
    done = service.resolve_refunds(
        ctx, None if older_than is None else dt.timedelta(minutes=older_than)
    )
    emit(
        [dataclasses.asdict(r) for r in done],
        as_json,
        "\n".join(
            f"{r.refund_no} {r.out_trade_no} {format_fen(r.amount_fen)}: {r.before} -> {r.after}"
            for r in done
        )
        or "no open refunds",
    )
    if any(r.after == "requested" for r in done):
        raise typer.Exit(1)


@group.staff("refund-flagged", said)
def refund_flagged(
    ctx: Any, actor: Any, order: OrderArg, reason: RefundReasonOpt
) -> tuple[Any, str]:
    """Send back money that arrived but could not be applied (manager only)."""
    from plugins.billing import service

    status = service.refund_flagged_order(ctx, actor, order, reason)
    return {"order": order, "status": status}, f"refund of {order}: {status}"


@group.read("flagged", said)
def flagged(ctx: Any) -> tuple[Any, str]:
    """Payments received that could not be applied and still wait for a refund."""
    import dataclasses

    from kiosk.money import format_fen
    from plugins.billing import service

    rows = service.flagged_orders(ctx)
    return [dataclasses.asdict(r) for r in rows], "\n".join(
        f"{r.out_trade_no} {r.unit_code} {r.provider} {r.flag} "
        f"{format_fen(r.received_fen if r.received_fen is not None else r.order_fen)}"
        for r in rows
    ) or "nothing to refund"


ChargeKindArg = Annotated[
    str, typer.Argument(help="repair, umbrella, parking_rent, utilities, other.")
]


@group.staff("charge", said)
def charge(
    ctx: Any,
    actor: Any,
    unit: UnitArg,
    kind: ChargeKindArg,
    amount: AmountArg,
    description: Annotated[str, typer.Argument(help="What it is for.")],
    period: Annotated[
        str | None, typer.Option("--period", help="Month (default: this one).")
    ] = None,
) -> tuple[Any, str]:
    """Add a charge line to a unit's bill (repair, umbrella compensation, parking rent...)."""
    from kiosk.money import format_fen
    from plugins.billing import service

    fen = typed_amount(amount)
    line_id = service.add_charge(ctx, actor, unit, kind, fen, description, period=period)
    return {"line_id": line_id, "amount_fen": fen}, f"charged {format_fen(fen)} to {unit}"


@group.staff("credit", said)
def credit(
    ctx: Any, actor: Any, bill: BillArg, amount: AmountArg, reason: CreditReasonOpt
) -> tuple[Any, str]:
    """Issue a credit note (红冲) reducing a bill: manager only."""
    from kiosk.money import format_fen
    from plugins.billing import service

    note = service.issue_credit_note(ctx, actor, _bill_id(ctx, bill), typed_amount(amount), reason)
    return (
        fields_of(note, "number", "amount_fen"),
        f"credit note {note.number}: {format_fen(note.amount_fen)} off {bill}",
    )


deposits = group.group("deposit", "Deposits (押金): their own ledger and 收据.")


@deposits.staff("take", said)
def deposit_take(
    ctx: Any,
    actor: Any,
    unit: UnitArg,
    kind: Annotated[str, typer.Argument(help="e.g. parking_card, renovation.")],
    amount: AmountArg,
    description: Annotated[str, typer.Option("--description", help="Note on the 收据.")] = "",
    method: MethodOpt = "cash",
) -> tuple[Any, str]:
    """Receive a deposit (cashier); a 收据 is printed."""
    from kiosk.money import format_fen
    from plugins.billing import service

    dep = service.take_deposit(
        ctx, actor, unit, kind, typed_amount(amount), description, method=method
    )
    return (
        fields_of(dep, "receipt_no", "amount_fen"),
        f"deposit {dep.receipt_no}: {format_fen(dep.amount_fen)} from {unit}",
    )


@deposits.staff("refund", said)
def deposit_refund(
    ctx: Any, actor: Any, receipt: DepositArg, reason: DepositReasonOpt
) -> tuple[Any, str]:
    """Give a deposit back, once (manager); a refund 收据 is printed."""
    from kiosk.money import format_fen
    from plugins.billing import service

    dep = service.refund_deposit(ctx, actor, receipt, reason)
    return (
        fields_of(dep, "receipt_no", "refund_no", "amount_fen"),
        f"deposit {dep.receipt_no} refunded ({dep.refund_no}): {format_fen(dep.amount_fen)}",
    )


@group.staff("import", said)
def import_csv(
    ctx: Any,
    actor: Any,
    file: Annotated[str, typer.Argument(help="CSV: unit,kind,description,amount.")],
    period: Annotated[str, typer.Option("--period", help="Month, YYYY-MM.")],
    due: Annotated[str | None, typer.Option("--due", help="Due date YYYY-MM-DD.")] = None,
) -> tuple[Any, str]:
    """Import a month's bills from CSV (all rows or none; a month only once)."""
    import datetime as dt

    from kiosk.money import format_fen
    from plugins.billing import service

    try:
        text = Path(file).read_text(encoding="utf-8")
        due_date = dt.date.fromisoformat(due) if due else None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        fail(f"cannot read {file}: {exc}")
    r = service.import_bills_csv(ctx, actor, text, period, due_date)
    return (
        r.__dict__,
        f"imported {r.lines} lines on {r.bills} bills for {r.period}: {format_fen(r.total_fen)}",
    )


@group.staff("issue", said)
def issue(
    ctx: Any,
    actor: Any,
    period: Annotated[str, typer.Option("--period", help="Month, YYYY-MM.")],
) -> tuple[Any, str]:
    """Send each household its open bill of the month, with a link to pay it (once a bill)."""
    from kiosk.money import format_fen
    from plugins.billing import service

    r = service.issue_bills(ctx, actor, period)
    return (
        r.__dict__,
        f"{r.period}: {r.issued} bills sent ({format_fen(r.total_fen)}), {r.already} sent before",
    )


@group.read("expire", said)
def expire(ctx: Any) -> tuple[Any, str]:
    """Close payment orders past their expiry (asking each provider first)."""
    from plugins.billing import service

    closed = service.expire_orders(ctx)
    return {"closed": closed}, f"closed {len(closed)} expired orders"


@group.read("providers", said)
def list_providers(ctx: Any) -> tuple[Any, str]:
    """The enabled payment providers and their (redacted) configuration."""
    from plugins.billing import service

    data = {name: p.describe() for name, p in service.providers(ctx).items()}
    return data, "\n".join(
        f"{n}: {json.dumps(d, ensure_ascii=False)}" for n, d in data.items()
    ) or "no providers"


@group.app.command("notify-server")
def notify_server(
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.")] = 8089,
    config: ConfigOpt = None,
) -> None:
    """Receive provider notifications on POST /notify/<provider> (behind the reverse proxy);
    also closes expired orders and settles unconfirmed refunds every minute."""
    import threading

    from plugins.billing import service
    from plugins.billing.notify_server import make_server

    ctx = context(config)
    try:
        server = make_server(ctx, host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc}")
        return
    stop = threading.Event()

    def expire_loop() -> None:
        while not stop.wait(60):
            for job in (service.expire_orders, service.resolve_refunds, service.flush_rejections):
                try:
                    job(ctx)
                except Exception as exc:  # noqa: BLE001 - keep serving notifications
                    typer.echo(f"kiosk: {job.__name__} failed: {type(exc).__name__}", err=True)

    threading.Thread(target=expire_loop, daemon=True).start()
    typer.echo(f"listening on http://{host}:{server.server_address[1]}/notify/<provider>")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
        service.flush_rejections(ctx)


def report_billing(
    day: Annotated[str, typer.Option("--day", help="Day to reconcile, YYYY-MM-DD (estate time).")],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Reconcile a day's QR payments and refunds against every provider's statement; exit 1
    when anything differs (each mismatch listed)."""
    import dataclasses

    from kiosk.identity import SYSTEM
    from kiosk.money import format_fen
    from plugins.billing import service

    the_day = day_option(day)
    ctx = context(config)
    rec = service.reconcile(ctx, SYSTEM, the_day)
    data = {
        "day": the_day.isoformat(),
        "ok": rec.ok,
        "matched": rec.matched,
        "totals_fen": rec.totals_fen,
        "mismatches": [dataclasses.asdict(m) for m in rec.mismatches],
        "unavailable": rec.unavailable,
    }
    lines = [f"billing reconciliation {the_day}: {'OK' if rec.ok else 'MISMATCHES'}"]
    for name, n in rec.matched.items():
        lines.append(f"  {name}: {n} matched, net {format_fen(rec.totals_fen.get(name, 0))}")
    for m in rec.mismatches:
        ours = format_fen(m.ours_fen) if m.ours_fen is not None else "-"
        theirs = format_fen(m.theirs_fen) if m.theirs_fen is not None else "-"
        lines.append(
            f"  MISMATCH {m.provider} {m.out_trade_no}: {m.problem} (ours {ours}, theirs {theirs})"
        )
    for name, why in rec.unavailable.items():
        lines.append(f"  UNAVAILABLE {name}: {why}")
    emit(data, as_json, "\n".join(lines))
    if not rec.ok:
        raise typer.Exit(1)


def register(cli: Any) -> None:
    """Mount the billing commands on the kiosk CLI."""
    cli.app.add_typer(emv_app, name="emv")
    group.mount(cli, report=report_billing)


@group.staff("pay-arrears", said)
def pay_arrears(
    ctx: Any, actor: Any, unit: UnitArg, amount: AmountArg, method: MethodOpt = "cash"
) -> tuple[Any, str]:
    """Take one cash or card payment for all of a unit's open bills, oldest first (one
    receipt lists each bill); refused unless AMOUNT, what was counted, is what the unit owes
    in all today."""
    from kiosk.money import format_fen
    from plugins.billing import service

    paid = service.record_desk_arrears_payment(ctx, actor, unit, typed_amount(amount), method)
    return (
        [fields_of(p, "receipt_no", "bill_id", "amount_fen", "late_fee_fen") for p in paid],
        f"paid {format_fen(sum(p.amount_fen for p in paid))} on {len(paid)} bills of {unit}: "
        f"receipts {', '.join(p.receipt_no for p in paid)}",
    )
