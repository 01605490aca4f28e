"""``kiosk report parcels --aging|--register|--storage`` and ``kiosk parcels carrier|aging|
check-in|release|proxy|return-to-sender|store|storage-release|handover``: thin typer commands
over :mod:`plugins.parcels.service`.

Commands that act as a person take ``--staff`` and the PIN (``kiosk.cli_staff``: ``--pin``,
``$KIOSK_PIN`` or a hidden prompt); refusals print ``kiosk: <message>`` and exit 1."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from kiosk.commands import (
    CommandGroup,
    JsonOpt,
    LobbyOpt,
    MaybeSignatureOpt,
    NoteOpt,
    UnitArg,
    UnitOpt,
    chart_report,
    context,
    fail,
    said,
    show_fields,
    table_report,
    usage_error,
)
from kiosk.errors import Refused
from kiosk.export import csv_text
from kiosk.i18n import _

group = CommandGroup("parcels", "Parcels and mail at the desk.", "plugins.parcels.service")
parcels_app = group.app
proxies = group.group(
    "proxy", "Named proxies who may collect a unit's parcels (--staff and a PIN)."
)


@proxies.staff("add", said, _)
def proxy_add(
    ctx: Any,
    actor: Any,
    unit: UnitArg,
    name: Annotated[str, typer.Argument(help="The proxy's name.")],
    phone: Annotated[str, typer.Option("--phone", help="The proxy's phone.")] = "",
    for_resident: Annotated[
        str,
        typer.Option(
            "--for", help="The resident (name or id) they collect for; default: the household."
        ),
    ] = "",
    until: Annotated[
        str, typer.Option("--until", help="Last day (YYYY-MM-DD, estate time); default: none.")
    ] = "",
) -> tuple[Any, str]:
    """Name a proxy for a resident of the unit (or, without --for, the whole household)."""
    from plugins.parcels.service import add_proxy, proxy_until

    end = proxy_until(ctx, until)
    proxy_id = add_proxy(ctx, actor, unit, name, phone, resident=for_resident.strip() or None,
                         until=end)  # fmt: skip
    return {"id": proxy_id, "unit": unit.strip()}, f"proxy {proxy_id} added for {unit}"


ProxyIdArg = Annotated[int, typer.Argument(help="The proxy's id (see `proxy list`).")]
TrackingArg = Annotated[str, typer.Argument(help="The item's tracking number.")]
ReturnReasonOpt = Annotated[str, typer.Option("--reason", help="Why it goes back.")]
ProxyUnitOpt = Annotated[str, typer.Option("--unit", help="Check it belongs to this unit.")]


@proxies.staff("remove", said, _)
def proxy_remove(
    ctx: Any, actor: Any, proxy_id: ProxyIdArg, unit: ProxyUnitOpt = ""
) -> tuple[Any, str]:
    """Withdraw a proxy (kept on record with who removed it and when)."""
    from plugins.parcels.service import remove_proxy

    remove_proxy(ctx, actor, proxy_id, unit)
    return {"id": proxy_id, "removed": True}, f"proxy {proxy_id} removed"


@proxies.staff("list", said, _)
def proxy_list(
    ctx: Any,
    actor: Any,
    unit: UnitArg,
    show_all: Annotated[
        bool, typer.Option("--all", help="Include removed and expired proxies.")
    ] = False,
) -> tuple[Any, str]:
    """The unit's proxies: name, for whom, phone (masked), until."""
    from plugins.parcels.service import desk_proxies

    rows = desk_proxies(ctx, actor, unit, include_inactive=show_all)
    lines = [
        f"{r['id']:>4} {r['name']} for {r['for']} {r['phone'] or '-'}"
        f" until {r['until'] or '-'}{'' if r['valid'] else ' (not valid)'}"
        for r in rows
    ]
    return rows, "\n".join(lines) or f"no proxies for {unit}"


@group.staff("return-to-sender", said, _)
def return_step(
    ctx: Any, actor: Any, tracking: TrackingArg, reason: ReturnReasonOpt = ""
) -> tuple[Any, str]:
    """Hand a waiting item back to the carrier: state returned, the household told."""
    from plugins.parcels.carriers import normalise_tracking
    from plugins.parcels.service import return_by_tracking

    number = normalise_tracking(tracking)
    parcel_id = return_by_tracking(ctx, actor, number, reason)
    return {"id": parcel_id, "tracking": number, "status": "returned"}, (
        f"{number} returned to sender"
    )


@group.staff("check-in", show_fields)
def check_in_step(
    ctx: Any,
    actor: Any,
    tracking: Annotated[str, typer.Argument(help="The tracking number (as scanned).")],
    unit: UnitOpt,
    recipient: Annotated[str, typer.Option("--recipient", help="Addressee, if named.")] = "",
    shelf: Annotated[str, typer.Option("--shelf", help="Where it is kept.")] = "",
    perishable: Annotated[bool, typer.Option("--perishable")] = False,
    signature: Annotated[bool, typer.Option("--signature-required")] = False,
    oversize: Annotated[bool, typer.Option("--oversize")] = False,
    id_check: Annotated[bool, typer.Option("--id-check", help="Release only on ID.")] = False,
) -> Any:
    """Log an item at the desk (邮件签收登记表) and send the unit its pickup code."""
    from plugins.parcels.service import check_in

    r = check_in(
        ctx, actor, tracking=tracking, unit_code=unit, recipient=recipient, shelf=shelf,
        perishable=perishable, signature_required=signature, oversize=oversize,
        id_check=id_check,
    )  # fmt: skip
    return {"tracking": r.tracking_number, "carrier": r.carrier, "unit": r.unit_code}


@group.staff("release", show_fields)
def release_step(
    ctx: Any,
    actor: Any,
    unit: UnitArg,
    picker: Annotated[str, typer.Option("--picker", help="Who collects.")],
    signature: MaybeSignatureOpt = None,
    id_last4: Annotated[str, typer.Option("--id-last4", help="Last 4 of the ID seen.")] = "",
    override: Annotated[
        str, typer.Option("--override", help="A butler's reason to release addressed items.")
    ] = "",
) -> Any:
    """Release every item of the unit waiting at this desk to the picker, signed."""
    from plugins.parcels.service import release_at_desk, waiting_here

    unit_code, here = waiting_here(ctx, unit)
    if not here:
        raise Refused("parcels.nothing_waiting", "Nothing is waiting for {unit} here.",
                      unit=unit_code)  # fmt: skip
    done = release_at_desk(
        ctx, actor, unit_code, [p.id for p in here], picker, signature or [],
        id_last4=id_last4, override_reason=override,
    )  # fmt: skip
    return {"unit": unit_code, "released": len(done.parcel_ids)}


@group.staff("store", show_fields)
def store_step(
    ctx: Any,
    actor: Any,
    unit: UnitOpt,
    depositor: Annotated[str, typer.Option("--depositor", help="Who leaves it.")],
    item: Annotated[str, typer.Option("--item", help="What it is.")],
    category: Annotated[str, typer.Option("--category", help="Kind of item.")] = "other",
    hours: Annotated[int, typer.Option("--hours", help="Collected within hours.")] = 24,
    condition: Annotated[str, typer.Option("--condition", help="How it looks.")] = "",
    phone: Annotated[str, typer.Option("--phone", help="Depositor's phone.")] = "",
) -> Any:
    """Take an item into storage (物品寄存): a ticket to collect it with."""
    from plugins.parcels.service import store_item

    ticket = store_item(
        ctx, actor, unit_code=unit, depositor_name=depositor, description=item,
        category=category, expected_pickup_at=ctx.clock.now() + dt.timedelta(hours=hours),
        condition=condition, depositor_phone=phone,
    )  # fmt: skip
    return {"ticket": ticket.ticket, "unit": unit.strip()}


HandedToOpt = Annotated[str, typer.Option("--to", help="The colleague taking over the shift.")]


@group.staff("handover", show_fields)
def handover_step(ctx: Any, actor: Any, to: HandedToOpt, note: NoteOpt = "") -> Any:
    """Record the shift handover of storage: every stored item present."""
    from plugins.parcels.service import desk_lobby, handover_checklist, record_handover_check

    items = handover_checklist(ctx, desk_lobby(ctx, actor))
    check = record_handover_check(
        ctx, actor, handed_to=to, results={i["id"]: "ok" for i in items}, note=note
    )
    return {"check": check, "items": len(items)}


@group.staff("storage-release", said, _)
def storage_release(
    ctx: Any,
    actor: Any,
    ticket: Annotated[str, typer.Argument(help="The storage ticket, e.g. J123456.")],
    claimant: Annotated[str, typer.Option("--claimant", help="Who collects.")] = "",
    id_last4: Annotated[
        str, typer.Option("--id-last4", help="Last 4 characters of the claimant's ID.")
    ] = "",
    condition: Annotated[
        str, typer.Option("--condition", help="The item's condition as handed back.")
    ] = "",
    signature: MaybeSignatureOpt = None,
) -> tuple[Any, str]:
    """Give a stored item back: the claimant's ID (last 4), the condition and a signature."""
    from plugins.parcels.service import release_stored

    item_id = release_stored(
        ctx, actor, ticket=ticket, claimant_name=claimant, strokes=signature or [],
        id_last4=id_last4, condition=condition,
    )  # fmt: skip
    number = ticket.strip().upper()
    return {"id": item_id, "ticket": number, "status": "released"}, f"{number} given back"


@group.app.command("carrier")
def carrier(
    number: Annotated[str, typer.Argument(help="A tracking number as scanned or typed.")],
    as_json: JsonOpt = False,
) -> None:
    """Guess the carrier from a tracking number's format (exit 1 when it is not one)."""
    from plugins.parcels.carriers import detect_carrier, is_valid_tracking, normalise_tracking

    clean = normalise_tracking(number)
    if not is_valid_tracking(clean):
        fail(f"{number!r} is not a tracking number (8-30 letters and digits)")
    guess = detect_carrier(clean)
    data = {"number": clean, "carrier": guess.carrier, "candidates": list(guess.candidates)}
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
    else:
        typer.echo(
            guess.carrier or f"unknown (candidates: {', '.join(guess.candidates) or 'none'})"
        )


@group.job("aging")
def aging(ctx: Any) -> Any:
    """Send the 3- and 7-day reminders and escalate 15-day items to the desk (run daily)."""
    from plugins.parcels.service import run_aging

    result = run_aging(ctx)
    return {
        "reminded": {str(k): v for k, v in result.reminded.items()},
        "escalated": result.escalated,
    }


@group.job("purge")
def purge(ctx: Any) -> Any:
    """Anonymise names and signatures older than retention.parcel_days (run daily)."""
    from plugins.parcels.service import purge_pii

    return purge_pii(ctx)


AGING_FIELDS = (
    "unit",
    "tracking",
    "carrier",
    "shelf",
    "days",
    "bucket",
    "reminded_3",
    "reminded_7",
    "escalated",
    "lobby",
)


def _csv(rows: list[dict[str, Any]], fields: tuple[str, ...]) -> str:
    """``rows`` as CSV: a header of ``fields``, then each row's values of them."""
    return csv_text(fields, ([row.get(f, "") for f in fields] for row in rows))


@chart_report("parcels")
@table_report
def report_parcels(
    config: Path | None,
    as_csv: bool,
    aging: Annotated[bool, typer.Option("--aging", help="Waiting items by age bucket.")] = False,
    register: Annotated[
        bool, typer.Option("--register", help="The 邮件签收登记表: every item and how it left.")
    ] = False,
    storage: Annotated[
        bool, typer.Option("--storage", help="The storage register (物品寄存).")
    ] = False,
    lobby: LobbyOpt = "",
) -> Any:
    """Parcel reports: --aging lists waiting items in 0-2 / 3-6 / 7-14 / 15+ day buckets;
    --register the 邮件签收登记表; --storage the storage register (names masked, IDs as the last
    4 characters only); --html FILE (a manager: --staff) the charts of the month: waiting
    parcels by age at its end, parcels in and out by week."""
    if aging + register + storage != 1:
        usage_error("choose one report: --aging, --register or --storage")
    if register or storage:
        return _register_report(register, lobby, as_csv, config)
    from kiosk.lobby import named_lobby
    from plugins.parcels.service import aging_report

    ctx = context(config)
    report = aging_report(ctx, named_lobby(ctx, lobby))
    if as_csv:
        return _csv(report["items"], AGING_FIELDS)
    lines = [f"waiting parcels as of {report['as_of']}: {report['waiting']}"]
    lines += [f"  {label:>10}: {count}" for label, count in report["buckets"].items()]
    lines.append(f"  returned to sender: {report['returned']}")
    for item in report["items"]:
        if item["days"] >= 15:
            lines.append(
                f"  overdue: {item['unit']} {item['tracking']} shelf {item['shelf'] or '-'} "
                f"lobby {item['lobby'] or '-'} {item['days']} days"
            )
    return report, "\n".join(lines)


def _register_report(parcels: bool, lobby: str, as_csv: bool, config: Path | None) -> Any:
    from kiosk.lobby import named_lobby
    from plugins.parcels import service

    ctx = context(config)
    scope = named_lobby(ctx, lobby)
    if parcels:
        rows = service.parcel_register(ctx, scope)
        fields: tuple[str, ...] = service.REGISTER_FIELDS
    else:
        rows = service.storage_register(ctx, scope)
        fields = service.STORAGE_REGISTER_FIELDS
    if as_csv:
        return _csv(rows, fields)
    if parcels:
        lines = [
            f"{r['checked_in']} {r['unit']} {r['tracking']} {r['carrier']} {r['status']}"
            + (f" {r['released']} {r['picker']} ({r['via']})" if r["released"] else "")
            + (f" id {r['id_checked']}" if r["id_checked"] else "")
            + (f" override: {r['override']}" if r["override"] else "")
            + (f" {r['returned']} returned: {r['return_reason']}" if r["returned"] else "")
            for r in rows
        ]
    else:
        lines = [
            f"{r['ticket']} {r['unit']} {r['item']} x{r['quantity']} {r['status']} in {r['in']}"
            + (
                f" out {r['released']} to {r['released_to']} id {r['claimant_id']}"
                f" condition: {r['condition_out']}"
                if r["released"]
                else ""
            )
            for r in rows
        ]
    return rows, "\n".join(lines) or "nothing on record"


def register(cli: Any) -> None:
    """Mount the parcels commands on the kiosk CLI."""
    group.mount(cli, report=report_parcels)
