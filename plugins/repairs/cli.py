"""``kiosk report repairs --month YYYY-MM`` and ``kiosk repairs sla|renotify|daily-check``."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from kiosk.export import csv_writer

repairs_app = typer.Typer(help="Repair requests and complaints.", no_args_is_help=True)
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Config file (default: $KIOSK_CONFIG).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _ctx(config: Path | None) -> Any:
    from kiosk.cli import open_ctx, settings_or_exit

    return open_ctx(settings_or_exit(config))


@repairs_app.command("sla")
def sla_cmd(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """The desk's SLA panel: breaches and the most urgent running clocks."""
    from plugins.repairs.service import sla_panel

    panel = sla_panel(_ctx(config))
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(panel), ensure_ascii=False, default=str))
        return
    typer.echo(
        f"open {panel.open_count}, respond breached {panel.breached_respond}, "
        f"resolve breached {panel.breached_resolve}, visits due {panel.visits_due}"
    )
    for t in panel.timers:
        mark = "BREACHED" if t.seconds_left < 0 else f"{t.seconds_left // 60} min left"
        typer.echo(f"  {t.number} {t.unit_code or '-'} {t.category} {t.clock}: {mark}")


@repairs_app.command("renotify")
def renotify_cmd(config: ConfigOpt = None) -> None:
    """Notify engineering again about dispatched tickets nobody took (run every few minutes)."""
    from plugins.repairs.service import renotify_unclaimed

    typer.echo(json.dumps({"renotified": renotify_unclaimed(_ctx(config))}))


@repairs_app.command("daily-check")
def daily_check_cmd(config: ConfigOpt = None) -> None:
    """The 17:00 check: slips not returned and return visits not done (run from cron)."""
    from plugins.repairs.service import daily_check

    typer.echo(json.dumps(dataclasses.asdict(daily_check(_ctx(config)))))


REPORT_FIELDS = ["section", "key", "count"]


def report_repairs(
    month: Annotated[str | None, typer.Option("--month", help="The month, YYYY-MM.")] = None,
    as_json: JsonOpt = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the figures as CSV.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Monthly statistics: counts by category and status, SLA met %, average rating, charges."""
    from kiosk.errors import Refused
    from kiosk.money import format_fen
    from plugins.repairs.service import monthly_report

    if not month:
        typer.echo("kiosk: choose the month: --month YYYY-MM", err=True)
        raise typer.Exit(2)
    if as_json and as_csv:
        typer.echo("kiosk: --json and --csv are exclusive", err=True)
        raise typer.Exit(2)
    try:
        report = monthly_report(_ctx(config), month)
    except Refused as exc:
        typer.echo(f"kiosk: {exc.render()}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    if as_csv:
        out = io.StringIO()
        w = csv_writer(out, lineterminator="\n")
        w.writerow(["section", "key", "value"])
        for section in ("by_kind", "by_category", "by_status"):
            for key, n in report[section].items():
                w.writerow([section.removeprefix("by_"), key, n])
        for key in ("total", "sla_measured", "sla_met", "sla_met_pct", "rated",
                    "average_rating", "paid_repairs", "paid_charges_fen", "emergencies",
                    "reopens"):  # fmt: skip
            w.writerow(["summary", key, "" if report[key] is None else report[key]])
        typer.echo(out.getvalue(), nl=False)
        return
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
    ]
    typer.echo("\n".join(lines))


def register(cli: Any) -> None:
    cli.app.add_typer(repairs_app, name="repairs")
    cli.report.command("repairs")(report_repairs)
