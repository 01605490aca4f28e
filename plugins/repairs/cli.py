"""``kiosk report repairs --month YYYY-MM``, ``kiosk repairs sla|renotify|sweep|daily-check``
and the lifecycle steps as the desk takes them (``file``, ``confirm``, ``grade``, ``reclassify``,
``quote``, ``consent``, ``dispatch``, ``start``, ``defer``, ``complete``, ``visit``, ``close``,
``reopen``, ``judge``, ``forward``, ``reply``, ``list``): each acts as a signed-in staff member
(``--staff`` and the PIN) and prints the ticket (``--json``: one JSON document)."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Annotated, Any

import typer

from kiosk.commands import (
    CommandGroup,
    Into,
    NoteOpt,
    SignatureOpt,
    UnitOpt,
    chart_report,
    context,
    emit,
    show_records,
    table_report,
    usage_error,
)
from kiosk.export import csv_writer
from kiosk.i18n import N_
from kiosk.money import typed_amount

group = CommandGroup("repairs", "Repair requests and complaints.", "plugins.repairs.service")
repairs_app = group.app


def _show_sla(panel: Any, as_json: bool) -> None:
    lines = [
        f"open {panel.open_count}, respond breached {panel.breached_respond}, "
        f"resolve breached {panel.breached_resolve}, visits due {panel.visits_due}"
    ]
    for t in panel.timers:
        mark = "BREACHED" if t.seconds_left < 0 else f"{t.seconds_left // 60} min left"
        lines.append(f"  {t.number} {t.unit_code or '-'} {t.category} {t.clock}: {mark}")
    emit(dataclasses.asdict(panel), as_json, "\n".join(lines), indent=None)


@group.read("sla", _show_sla)
def sla(ctx: Any) -> Any:
    """The desk's SLA panel: breaches and the most urgent running clocks."""
    return group.service().sla_panel(ctx)


@group.job("renotify")
def renotify(ctx: Any) -> Any:
    """Notify engineering again about dispatched tickets nobody took (run every few minutes)."""
    return {"renotified": group.service().renotify_unclaimed(ctx)}


@group.job("daily-check")
def daily_check(ctx: Any) -> Any:
    """The 17:00 check: slips not returned, return visits not done or late, complaints not
    forwarded or answered in time; stale complaints become major (run from cron)."""
    return group.service().daily_check(ctx)


@group.job("sweep")
def sweep(ctx: Any) -> Any:
    """The SLA sweep (every few minutes from cron): reminders, stale complaints made major,
    missed deadlines."""
    return group.service().sweep(ctx)


# -- the lifecycle, step by step ----------------------------------------------------------------

NumberArg = Annotated[str, typer.Argument(help="Ticket number, e.g. R261202-00001.")]


def _line(r: Any) -> str:
    flags = " ".join(x for x in ("EMERGENCY" if r.emergency else "", r.severity) if x)
    return f"{r.number} {r.kind} {r.status} {r.unit_code or '-'} {r.category} {flags}".rstrip()


_emit = show_records(_line)


def _when(ctx: Any, text: str, what: str) -> Any:
    """A local time as the desk types it (``2026-12-02 14:00``) -> UTC."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from kiosk.errors import Refused
    from kiosk.i18n import _

    try:
        at = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise Refused("repairs.when", "Write the {what} as YYYY-MM-DD HH:MM, not {text}.",
                      what=_(what), text=text) from None  # fmt: skip
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(ctx.settings.estate.timezone))
    return at.astimezone(dt.UTC)


@group.staff("file", _emit)
def file_step(
    ctx: Any,
    actor: Any,
    category: Annotated[str, typer.Option("--category", help="Category code, e.g. plumbing.leak.")],
    unit: UnitOpt = "",
    description: Annotated[str, typer.Option("--description", help="What is wrong.")] = "",
    common_area: Annotated[
        bool, typer.Option("--common-area", help="In a common area, not in the home.")
    ] = False,
    floor: Annotated[int | None, typer.Option("--floor", help="Floor of a common area.")] = None,
    building: Annotated[str, typer.Option("--building", help="Building of a common area.")] = "",
    reporter: Annotated[str, typer.Option("--reporter", help="Who reports it.")] = "",
    phone: Annotated[str, typer.Option("--phone", help="Contact phone.")] = "",
    appointment: Annotated[
        str, typer.Option("--appointment", help="Booked slot, local YYYY-MM-DD HH:MM.")
    ] = "",
    urgent: Annotated[
        bool, typer.Option("--urgent", help="The resident says it is urgent.")
    ] = False,
    external: Annotated[bool, typer.Option("--external", help="Needs an outside party.")] = False,
    severity: Annotated[str, typer.Option("--severity", help="Complaint grade.")] = "",
) -> Any:
    """Register a request taken at the desk (a call or a visit)."""
    return group.service().file_ticket(
        ctx, actor, category=category, unit_code=unit, description=description,
        location="common_area" if common_area else "in_home", floor=floor,
        building=building, reporter=reporter, contact_phone=phone,
        appointment_at=_when(ctx, appointment, N_("appointment")) if appointment else None,
        urgent=urgent, external=external, severity=severity,
    )  # fmt: skip


step = group.steps(_emit)


@step("confirm")
def confirm(
    number: NumberArg,
    *,
    severity: Annotated[
        str | None, typer.Option("--severity", help="Complaint grade: minor, important, major.")
    ] = None,
    external: Annotated[
        bool | None, typer.Option("--external/--in-house", help="Needs an outside party.")
    ] = None,
    note: NoteOpt = "",
) -> None:
    """The desk confirms the request with the resident (a complaint may be graded here)."""


@step("grade")
def grade(
    number: NumberArg, severity: Annotated[str, typer.Argument(help="minor, important or major.")]
) -> None:
    """Grade a complaint; important and major are reported to the superior at once."""


@step("reclassify")
def reclassify(
    number: NumberArg,
    *,
    emergency: Annotated[
        bool, typer.Option("--emergency/--ordinary", help="Emergency or ordinary request.")
    ] = True,
    note: NoteOpt = "",
) -> None:
    """Correct the classification (an emergency missed calls engineering at once)."""


@step("quote")
def quote(
    number: NumberArg,
    amount: Annotated[str, typer.Argument(help="Price in yuan, e.g. 80.00."), Into(typed_amount)],
) -> None:
    """Make it a paid repair at this price (the resident must consent before dispatch)."""


@step("consent")
def consent(
    number: NumberArg,
    accepted: Annotated[
        bool, typer.Option("--accept/--decline", help="The resident agrees or declines.")
    ] = True,
) -> None:
    """Record the resident's answer to the price (declining cancels the ticket)."""


@step("dispatch")
def dispatch(
    number: NumberArg,
    to: Annotated[str, typer.Option("--to", help="Engineer or department.")] = "",
) -> None:
    """Hand the ticket to engineering (or the department concerned)."""


@step("start")
def start(number: NumberArg) -> None:
    """On site: the work starts (stops the respond clock)."""


UntilOpt = Annotated[str, typer.Option("--until", help="Local YYYY-MM-DD HH:MM.")]
WaitReasonOpt = Annotated[str, typer.Option("--reason", help="Why it waits.")]


@group.staff("defer", _emit)
def defer_step(
    ctx: Any, actor: Any, number: NumberArg, until: UntilOpt, reason: WaitReasonOpt
) -> Any:
    """Postpone the work to a committed date; the resident is told."""
    return group.service().defer(ctx, actor, number, _when(ctx, until, N_("date")), reason)


@step("complete")
def complete(
    number: NumberArg,
    signature: SignatureOpt,
    *,
    charge_fen: Annotated[
        str | None,
        typer.Option("--charge", help="Charge in yuan (at most the agreed price)."),
        Into(typed_amount),
    ] = None,
) -> None:
    """Work done, signed by the resident; a paid repair is charged."""


@step("visit")
def record_visit(
    number: NumberArg,
    rating: Annotated[int, typer.Argument(help="The resident's rating, 1-5.")],
    comment: Annotated[str, typer.Option("--comment")] = "",
) -> None:
    """The return visit: a low rating reopens a repair or escalates a complaint."""


@step("close")
def close(number: NumberArg) -> None:
    """Close a completed ticket without a visit answer."""


@step("reopen")
def reopen(
    number: NumberArg, reason: Annotated[str, typer.Option("--reason", help="What came back.")]
) -> None:
    """The problem came back: reopen a completed or closed ticket."""


@step("judge")
def judge(
    number: NumberArg,
    valid: Annotated[bool, typer.Option("--valid/--invalid", help="The supervisor's judgement.")],
    explanation: Annotated[
        str, typer.Option("--explanation", help="Why (required for an invalid complaint).")
    ] = "",
) -> None:
    """Judge a complaint valid or invalid; an invalid one closes with its explanation."""


@step("forward")
def forward(
    number: NumberArg, to: Annotated[str, typer.Option("--to", help="Who takes it over.")]
) -> None:
    """Forward a complaint not settled on the spot (within 10 minutes of hearing it)."""


@step("reply")
def reply(
    number: NumberArg, text: Annotated[str, typer.Argument(help="What the complainant is told.")]
) -> None:
    """Tell the complainant the result (recorded with its time; sent by SMS)."""


@step("list")
def list_tickets(
    *,
    status: Annotated[str, typer.Option("--status", help="Only this status.")] = "",
    kind: Annotated[str, typer.Option("--kind", help="repair, complaint or suggestion.")] = "",
    limit: Annotated[int, typer.Option("--limit")] = 100,
) -> None:
    """The desk's list of tickets, newest first (phones masked)."""


@chart_report("repairs")
@table_report
def report_repairs(
    config: Path | None,
    as_csv: bool,
    month: Annotated[str | None, typer.Option("--month", help="The month, YYYY-MM.")] = None,
) -> Any:
    """Monthly statistics: counts by category and status, SLA met %, average rating, charges.
    With --html FILE (a manager: --staff), the charts: timeliness (及时率) by week and month,
    rework (返修率), complaints by grade (default: this month)."""
    from kiosk.money import format_fen
    from plugins.repairs.service import monthly_report

    if not month:
        usage_error("choose the month: --month YYYY-MM")
    report = monthly_report(context(config), month)
    if as_csv:
        out = io.StringIO()
        w = csv_writer(out, lineterminator="\n")
        w.writerow(["section", "key", "value"])
        for section in ("by_kind", "by_category", "by_status"):
            for key, n in report[section].items():
                w.writerow([section.removeprefix("by_"), key, n])
        for key in ("total", "sla_measured", "sla_met", "sla_met_pct", "rated",
                    "average_rating", "paid_repairs", "paid_charges_fen", "emergencies",
                    "reopens", "return_visits_late"):  # fmt: skip
            w.writerow(["summary", key, "" if report[key] is None else report[key]])
        return out.getvalue()
    pct = "-" if report["sla_met_pct"] is None else f"{report['sla_met_pct']}%"
    avg = "-" if report["average_rating"] is None else str(report["average_rating"])
    lines = [
        f"repairs and complaints, {month}: {report['total']} tickets",
        "  by kind: " + ", ".join(f"{k} {v}" for k, v in report["by_kind"].items()),
        "  by status: " + ", ".join(f"{k} {v}" for k, v in report["by_status"].items()),
        "  by category:",
        *[f"    {k}: {v}" for k, v in report["by_category"].items()],
        f"  SLA met: {pct} ({report['sla_met']} of {report['sla_measured']})",
        f"  average rating: {avg} ({report['rated']} rated)",
        f"  paid repairs: {report['paid_repairs']}, charges {format_fen(report['paid_charges_fen'])}",
        f"  return visits late: {report['return_visits_late']}",
    ]
    return report, "\n".join(lines)


def register(cli: Any) -> None:
    group.mount(cli, report=report_repairs)
