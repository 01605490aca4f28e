"""Steps declared by signature (service_steps), options that convert themselves (Into) and the
chart options of a report (chart_report): what reaches the service, and the options typer sees."""

from __future__ import annotations

import inspect
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import pytest
import typer
from typer.testing import CliRunner

from kiosk import commands
from kiosk.commands import ConfigOpt, Into, JsonOpt, chart_report, service_steps, show_fields
from kiosk.errors import Refused

NumberArg = Annotated[str, typer.Argument()]


@pytest.fixture
def signed_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """The sign-in without a database: ``act`` runs with a stand-in context and actor."""

    def as_staff(config: Any, who: str, pin: Any, act: Any, translate: Any = None) -> Any:
        with commands.refusals(translate):
            return None, act("ctx", f"actor {who}")

    monkeypatch.setattr(commands, "as_staff", as_staff)


def test_a_declared_step_passes_its_options_as_the_method_takes_them(signed_in: None) -> None:
    calls, app, step = _service_of("grade")

    @step("grade")
    def grade(
        number: NumberArg,
        severity: Annotated[str, typer.Option("--severity")],
        *,
        note: Annotated[str, typer.Option("--note")] = "",
    ) -> None:
        """Grade a ticket."""

    result = CliRunner().invoke(
        app, ["R1", "--severity", "major", "--staff", "S1", "--pin", "1", "--note", "n"]
    )
    assert result.exit_code == 0, result.output
    assert calls == [(("ctx", "actor S1", "R1", "major"), {"note": "n"})]
    assert "number: R1" in result.output
    help_text = CliRunner().invoke(app, ["--help"]).output
    assert "Grade a ticket." in help_text


def test_an_into_option_reaches_the_step_converted_and_none_stays_none(signed_in: None) -> None:
    calls, app, step = _service_of("price")

    @step("price")
    def price(
        number: NumberArg,
        *,
        charge_fen: Annotated[str | None, typer.Option("--charge"), Into(_fen)] = None,
    ) -> None:
        """Price a ticket."""

    runner = CliRunner()
    assert (
        runner.invoke(app, ["R1", "--staff", "S1", "--pin", "1", "--charge", "80.5"]).exit_code == 0
    )
    assert runner.invoke(app, ["R2", "--staff", "S1", "--pin", "1"]).exit_code == 0
    refused = runner.invoke(app, ["R3", "--staff", "S1", "--pin", "1", "--charge", "lots"])
    assert refused.exit_code == 1
    assert "lots is not an amount." in refused.output
    assert calls == [
        (("ctx", "actor S1", "R1"), {"charge_fen": 8050}),
        (("ctx", "actor S1", "R2"), {"charge_fen": None}),
    ]


def test_a_chart_report_adds_the_chart_options_before_config_and_draws_with_html(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn: list[tuple[Any, ...]] = []
    printed: list[dict[str, Any]] = []
    monkeypatch.setattr(commands, "html_report", lambda *args: drawn.append(args))

    @chart_report("things", month_help="With --html: YYYY-MM.")
    def report_things(
        as_json: JsonOpt = False,
        as_csv: Annotated[bool, typer.Option("--csv")] = False,
        config: ConfigOpt = None,
    ) -> None:
        """The things."""
        printed.append({"as_json": as_json, "as_csv": as_csv, "config": config})

    app = typer.Typer()
    app.command("things")(report_things)
    app.command("other")(lambda: None)
    runner = CliRunner()
    assert runner.invoke(app, ["things", "--json"]).exit_code == 0
    assert printed == [{"as_json": True, "as_csv": False, "config": None}]
    chart = ["things", "--html", "t.html", "--staff", "S5", "--month", "2026-11"]
    assert runner.invoke(app, chart).exit_code == 0
    assert drawn == [(None, "S5", None, Path("t.html"), "2026-11", None, "things", False)]
    assert runner.invoke(app, [*chart, "--json", "--csv"]).exit_code == 2
    names = [p.name for p in inspect.signature(report_things).parameters.values()]
    assert names == ["as_json", "as_csv", "html", "staff", "pin", "month", "lang", "config"]


def test_a_document_step_prints_what_the_method_returns_and_takes_no_json(
    signed_in: None,
) -> None:
    app = typer.Typer()
    calls: list[tuple[Any, ...]] = []

    def record(*args: Any) -> str:
        calls.append(args)
        return "unit,key\n1-101,K0001\n"

    step = service_steps(app, lambda: SimpleNamespace(register_csv=record), show_fields)

    @step("register", document=True)
    def register_csv(year: Annotated[int | None, typer.Option("--year")] = None) -> None:
        """The register as CSV."""

    result = CliRunner().invoke(app, ["--staff", "S1", "--pin", "1", "--year", "2026"])
    assert result.exit_code == 0, result.output
    assert result.output == "unit,key\n1-101,K0001\n"
    assert calls == [("ctx", "actor S1", 2026)]
    options = [p.name for p in inspect.signature(_registered(app)).parameters.values()]
    assert options == ["staff", "year", "pin", "config"]


def test_a_job_command_takes_config_only_and_prints_one_line_of_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dataclasses

    @dataclasses.dataclass
    class Done:
        reminded: list[int]
        note: str

    seen: list[Any] = []
    monkeypatch.setattr(commands, "context", lambda config: seen.append(config) or "ctx")
    app = typer.Typer()

    @commands.job_command(app, "remind")
    def remind(ctx: Any) -> Any:
        """Remind everyone (run from cron)."""
        return Done([3, 4], f"{ctx} 已提醒")

    result = CliRunner().invoke(app, ["--config", "k.toml"])
    assert result.exit_code == 0, result.output
    assert result.output == '{"reminded": [3, 4], "note": "ctx 已提醒"}\n'
    assert seen == [Path("k.toml")]
    assert "Remind everyone (run from cron)." in CliRunner().invoke(app, ["--help"]).output
    assert remind(ctx="c").reminded == [3, 4]  # the job itself stays callable


def test_a_typed_day_is_a_date_and_anything_else_a_refusal_under_its_code() -> None:
    import datetime as dt

    assert commands.typed_day(" 2026-12-03 ", "notices.date") == dt.date(2026, 12, 3)
    with pytest.raises(Refused) as refused:
        commands.typed_day("3/12", "surveys.date")
    assert refused.value.code == "surveys.date"
    assert refused.value.render() == "Write the date as YYYY-MM-DD, not 3/12."


def test_a_day_option_that_is_no_date_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    import datetime as dt

    assert commands.day_option("2026-12-03") == dt.date(2026, 12, 3)
    with pytest.raises(typer.Exit) as exited:
        commands.day_option("tomorrow")
    assert exited.value.exit_code == 2
    assert capsys.readouterr().err == "kiosk: --day 'tomorrow' is not a date (YYYY-MM-DD)\n"


def _registered(app: typer.Typer) -> Any:
    """The one command registered on ``app`` (its callback)."""
    (info,) = app.registered_commands
    return info.callback


def _service_of(method: str) -> tuple[list[tuple[Any, ...]], typer.Typer, Any]:
    """The calls of a service's ``method`` (recorded), an app and the declarer of its steps."""
    calls: list[tuple[Any, ...]] = []
    app = typer.Typer()
    service = SimpleNamespace(**{method: _record(calls)})
    return calls, app, service_steps(app, lambda: service, show_fields)


def _fen(amount: str) -> int:
    if not amount.replace(".", "").isdigit():
        raise Refused("test.amount", "{amount} is not an amount.", amount=amount)
    return round(float(amount) * 100)


def _record(calls: list[tuple[Any, ...]]) -> Any:
    def method(*args: Any, **kwargs: Any) -> dict[str, str]:
        calls.append((args, kwargs))
        return {"number": args[2]}

    return method
