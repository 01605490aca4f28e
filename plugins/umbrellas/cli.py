"""``kiosk umbrellas stock|overdue|remind|register|add|condition|retire|replace``: thin typer
commands over the service; the stock commands act as a signed-in butler (``--staff``, the PIN)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from kiosk.commands import (
    CommandGroup,
    as_data,
    html_report_command,
    said,
    show_fields,
    show_records,
)

group = CommandGroup("umbrellas", "Umbrella lending at the desk.", "plugins.umbrellas.service")
umbrellas_app = group.app


@group.read("stock", said)
def stock(ctx: Any) -> tuple[Any, str]:
    """Umbrellas per lobby and state."""
    data = group.service().stock(ctx)
    return data, "\n".join(
        f"{lobby}: " + ", ".join(f"{k} {v}" for k, v in states.items())
        for lobby, states in sorted(data.items())
    )


def _overdue_line(r: Any) -> str:
    return f"{r.tag} {r.unit_code} {r.borrower} {r.days_late} days late"


@group.read("overdue", show_records(_overdue_line, indent=None))
def overdue(ctx: Any) -> Any:
    """Loans past their due time (borrowers masked)."""
    return group.service().overdue_loans(ctx)


@group.job("remind")
def remind(ctx: Any) -> Any:
    """Remind households with overdue umbrellas (at most daily; run from cron)."""
    return {"reminded": group.service().send_reminders(ctx)}


def _replacement_line(ctx: Any, x: Any) -> str:
    from kiosk.money import format_fen

    when = ctx.local_time(x.reported_at) if x.reported_at else "-"
    return f"{x.lobby} {x.tag} {x.kind} {x.state} {format_fen(x.price_fen)} {when} {x.unit_code}"


@group.read("replacement", said)
def replacement(ctx: Any) -> tuple[Any, str]:
    """上报物业部更换: damaged and lost umbrellas to replace."""
    lines = group.service().replacement_report(ctx)
    return as_data(lines), "\n".join(_replacement_line(ctx, x) for x in lines) or (
        "nothing to replace"
    )


step = group.steps(show_fields)


@step("register", document=True)
def loan_register_csv() -> None:
    """The loan register (物品借取登记表) as CSV on stdout."""


TagArg = Annotated[str, typer.Argument(help="The umbrella's tag, e.g. U-0007.")]
NewTagArg = Annotated[str, typer.Argument(help="The new umbrella's tag.")]
ConditionArg = Annotated[str, typer.Argument(help="How it looks, e.g. 'one bent rib'.")]
PriceOpt = Annotated[str, typer.Option("--price", help="Original price in yuan, e.g. 35.")]
KindOpt = Annotated[str, typer.Option("--kind", help="long or short.")]
StandOpt = Annotated[str, typer.Option("--lobby", help="Whose stand (default: this one).")]


def _tag(text: str) -> str:
    """A tag as the service keeps it (spaces dropped, upper case: u-0007 is U-0007)."""
    return text.strip().upper()


@group.staff("add", show_fields)
def add_step(
    ctx: Any, actor: Any, tag: TagArg, price: PriceOpt, kind: KindOpt = "long", lobby: StandOpt = ""
) -> Any:
    """Put a new umbrella on a lobby's stand."""
    from kiosk.money import typed_amount

    fen = typed_amount(price, most=group.service().MOST_PRICE_FEN)
    umbrella_id = group.service().add_umbrella(
        ctx, actor, tag=tag, kind=kind, price_fen=fen, lobby=lobby.strip()
    )
    return {"id": umbrella_id, "tag": _tag(tag), "state": "available"}


@group.staff("condition", show_fields)
def condition_step(ctx: Any, actor: Any, tag: TagArg, condition: ConditionArg) -> Any:
    """Record how an umbrella on the stand looks (the next loan carries it)."""
    group.service().note_condition(ctx, actor, tag, condition)
    return {"tag": _tag(tag), "condition": condition.strip()}


@group.staff("retire", show_fields)
def retire_step(ctx: Any, actor: Any, tag: TagArg) -> Any:
    """Take an umbrella out of service for good (not while it is lent)."""
    group.service().retire(ctx, actor, tag)
    return {"tag": _tag(tag), "state": "retired"}


@group.staff("replace", show_fields)
def replace_step(ctx: Any, actor: Any, tag: TagArg, new_tag: NewTagArg) -> Any:
    """A damaged or lost umbrella is retired and a new one of its kind takes its place."""
    new_id = group.service().replace_umbrella(ctx, actor, tag, new_tag)
    return {"replaced": _tag(tag), "id": new_id, "tag": _tag(new_tag)}


def register(cli: Any) -> None:
    report = html_report_command(
        "umbrellas",
        "The umbrella stock by state and lobby and the month's loans by week, as charts in an "
        "HTML file (--html FILE; a manager).",
    )
    group.mount(cli, report=report)
