"""``kiosk report parcels --aging`` and ``kiosk parcels carrier|aging``: thin typer commands over
:mod:`plugins.parcels.service`."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from kiosk.export import csv_dict_writer

parcels_app = typer.Typer(help="Parcels and mail at the desk.", no_args_is_help=True)
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Config file (default: $KIOSK_CONFIG).")
]


def _ctx(config: Path | None) -> Any:
    from kiosk.cli import open_ctx, settings_or_exit

    return open_ctx(settings_or_exit(config))


@parcels_app.command("carrier")
def carrier(
    number: Annotated[str, typer.Argument(help="A tracking number as scanned or typed.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Guess the carrier from a tracking number's format (exit 1 when it is not one)."""
    from plugins.parcels.carriers import detect_carrier, is_valid_tracking, normalise_tracking

    clean = normalise_tracking(number)
    if not is_valid_tracking(clean):
        typer.echo(
            f"kiosk: {number!r} is not a tracking number (8-30 letters and digits)", err=True
        )
        raise typer.Exit(1)
    guess = detect_carrier(clean)
    data = {"number": clean, "carrier": guess.carrier, "candidates": list(guess.candidates)}
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
    else:
        typer.echo(
            guess.carrier or f"unknown (candidates: {', '.join(guess.candidates) or 'none'})"
        )


@parcels_app.command("aging")
def aging(config: ConfigOpt = None) -> None:
    """Send the 3- and 7-day reminders and escalate 15-day items to the desk (run daily)."""
    from plugins.parcels.service import run_aging

    result = run_aging(_ctx(config))
    typer.echo(
        json.dumps(
            {
                "reminded": {str(k): v for k, v in result.reminded.items()},
                "escalated": result.escalated,
            }
        )
    )


@parcels_app.command("purge")
def purge(config: ConfigOpt = None) -> None:
    """Anonymise names and signatures older than retention.parcel_days (run daily)."""
    from plugins.parcels.service import purge_pii

    typer.echo(json.dumps(purge_pii(_ctx(config))))


def report_parcels(
    aging: Annotated[bool, typer.Option("--aging", help="Waiting items by age bucket.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the items as CSV.")] = False,
    lobby: Annotated[
        str, typer.Option("--lobby", help="Only this lobby's shelves (default: every lobby).")
    ] = "",
    config: ConfigOpt = None,
) -> None:
    """Parcel reports: --aging lists waiting items in 0-2 / 3-6 / 7-14 / 15+ day buckets."""
    if not aging:
        typer.echo("kiosk: choose a report: --aging", err=True)
        raise typer.Exit(2)
    if as_json and as_csv:
        typer.echo("kiosk: --json and --csv are exclusive", err=True)
        raise typer.Exit(2)
    from plugins.parcels.service import aging_report

    report = aging_report(_ctx(config), lobby.strip() or None)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    if as_csv:
        out = io.StringIO()
        fields = [
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
        ]
        writer = csv_dict_writer(out, fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(report["items"])
        typer.echo(out.getvalue(), nl=False)
        return
    lines = [f"waiting parcels as of {report['as_of']}: {report['waiting']}"]
    lines += [f"  {label:>10}: {count}" for label, count in report["buckets"].items()]
    lines.append(f"  returned to sender: {report['returned']}")
    for item in report["items"]:
        if item["days"] >= 15:
            lines.append(
                f"  overdue: {item['unit']} {item['tracking']} shelf {item['shelf'] or '-'} "
                f"lobby {item['lobby'] or '-'} {item['days']} days"
            )
    typer.echo("\n".join(lines))


def register(cli: Any) -> None:
    """Mount the parcels commands on the kiosk CLI."""
    cli.app.add_typer(parcels_app, name="parcels")
    cli.report.command("parcels")(report_parcels)
