"""``kiosk parking fee|card|sweep``, the cashier's desk steps (``rent``, ``renew``, ``issue``,
``lost``, ``replace``, ``return``: ``--staff``, the PIN, ``--json``) and ``kiosk report
parking``: thin commands over the service."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

import typer

from kiosk.commands import (
    CommandGroup,
    ConfigOpt,
    CsvOpt,
    JsonOpt,
    PinOpt,
    StaffOpt,
    UnitOpt,
    as_staff,
    chart_report,
    context,
    refusals,
    settings_or_exit,
    show_fields,
)

group = CommandGroup(
    "parking", "Parking: temporary fees, monthly cards.", "plugins.parking.service"
)
parking_app = group.app


@group.app.command("fee")
def fee_cmd(
    minutes: Annotated[int, typer.Option("--minutes", help="Length of the stay in minutes.")],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """The temporary parking fee for a stay (the estate's rule from \\[plugins.parking])."""
    from kiosk.context import KioskContext
    from kiosk.money import format_fen
    from plugins.parking.service import ParkingRules

    with refusals():
        rules = ParkingRules.of(KioskContext(settings_or_exit(config)))
        from plugins.parking.fees import parking_fee

        fen = parking_fee(minutes, rules.fee)
    if as_json:
        typer.echo(json.dumps({"minutes": minutes, "fee_fen": fen, "fee": f"{fen / 100:.2f}"}))
    else:
        typer.echo(f"{minutes // 60} h {minutes % 60:02d} min: {format_fen(fen)}")


@group.app.command("card")
def card_cmd(
    uid: Annotated[str, typer.Argument(help="The card's UID or any printed form of it.")],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """A parking card's holder (masked), plate, validity and its chain of cards."""
    from plugins.parking.taps import card_info

    with refusals():
        info = card_info(context(config), uid)
    data = dataclasses.asdict(info)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, default=str))
        return
    v = info.validity
    assert v is not None
    if v.state == "unpaid":
        typer.echo(f"card {v.card_number}: payment pending (no month paid yet)")
    else:
        typer.echo(f"card {v.card_number}: {v.state}, paid through {v.end_date}")
    typer.echo(f"rental {v.rental_number}  unit {v.unit_code}  holder {v.holder}  plate {v.plate}")
    for c in info.chain:
        typer.echo(
            f"  {c.issued_at:%Y-%m-%d} {c.printed_number} {c.state} deposit {c.deposit_state}"
        )


@group.job("sweep")
def sweep(ctx: Any) -> Any:
    """Apply paid renewals, expire lapsed cards, send reminders (run daily from cron)."""
    return group.service().sweep(ctx)


@chart_report("parking")
def report_parking_cmd(
    staff: StaffOpt,
    pin: PinOpt = None,
    week: Annotated[
        bool, typer.Option("--week", help="The weekly copy for the garage cashier.")
    ] = True,
    as_csv: CsvOpt = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """月租办理记录: every open rental and what changed this week (names and phones masked).
    With --html FILE (a manager), the charts: rentals open, opened, ended and lapsed by month."""
    from plugins.parking.service import records, records_csv, state_label

    _ctx, rows = as_staff(config, staff, pin, records_csv if as_csv else records)
    if as_csv:
        typer.echo(rows, nl=False)
        return
    if as_json:
        typer.echo(
            json.dumps([dataclasses.asdict(r) for r in rows], ensure_ascii=False, default=str)
        )
        return
    for r in rows:
        mark = "*" if r.changed_this_week else " "
        typer.echo(
            f"{mark} {r.date} {r.unit_code:8} {r.owner:6} {r.phone:13} {r.plate:9} "
            f"{r.start}~{r.end} {r.card or '-':12} {state_label(r.state)}"
        )


UidArg = Annotated[str, typer.Argument(help="The card's UID as the reader gives it.")]
RentalArg = Annotated[str, typer.Argument(help="The rental's number (or id).")]
PrintedOpt = Annotated[str, typer.Option("--printed", help="Number printed on the card.")]
MonthsOpt = Annotated[int, typer.Option("--months", help="Whole months.")]
PayMethodOpt = Annotated[str, typer.Option("--method", help="cash or bill.")]


step = group.steps(show_fields)


@step("rent")
def open_rental(
    *,
    unit: UnitOpt,
    plate: Annotated[str, typer.Option("--plate", help="Plate, e.g. 粤B12345.")],
    licence_no: Annotated[str, typer.Option("--licence", help="Driving licence number.")],
    identity_checked: Annotated[
        bool, typer.Option("--id-checked", help="ID card and driving licence checked.")
    ] = False,
    renter: Annotated[str, typer.Option("--renter", help="Owner or tenant of the unit.")] = "",
    car_model: Annotated[str, typer.Option("--car-model", help="Make and model.")] = "",
    months: MonthsOpt = 1,
    method: PayMethodOpt = "cash",
) -> None:
    """Open a monthly rental (月租) for an owner or tenant of the unit."""


@group.staff("renew", show_fields)
def renew_step(
    ctx: Any, actor: Any, rental: RentalArg, months: MonthsOpt = 1, method: PayMethodOpt = "cash"
) -> Any:
    """Renew a rental for whole months, in cash (at once) or on the unit's bill."""
    view, reference = group.service().renew(ctx, actor, rental, months, method)
    return {**dataclasses.asdict(view), "charge": reference or ""}


@step("issue")
def issue_card(rental: RentalArg, uid: UidArg, printed: PrintedOpt = "") -> None:
    """Issue a card for a paid rental (the deposit is taken with a 收据)."""


@step("lost")
def report_lost(uid: UidArg) -> None:
    """Block a lost card at once (its deposit is forfeited)."""


@step("replace")
def replace_lost_card(
    old: Annotated[str, typer.Argument(help="The lost card's UID.")],
    new: Annotated[str, typer.Argument(help="The new card's UID.")],
    printed: PrintedOpt = "",
) -> None:
    """A new card in a lost one's place (the chain is kept)."""


@step("return")
def return_card(
    uid: UidArg,
    reason: Annotated[str, typer.Option("--reason", help="Why it comes back.")] = "rental ended",
) -> None:
    """Take a card back: the deposit is refunded with a refund 收据 and the rental ends."""


def register(cli: Any) -> None:
    group.mount(cli, report=report_parking_cmd)
