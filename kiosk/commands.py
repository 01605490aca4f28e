"""What every ``kiosk`` command shares, core and plugins alike: the ``--config`` and ``--json``
options, opening the context, refusing in one line (exit 1), printing text or one JSON document,
and the staff sign-in of commands that act as a person.

A plugin's ``cli.py`` imports these (they are also on the :class:`kiosk.cli.CommandRegistry` its
``kiosk_register_commands`` receives), so the exit codes and messages are the same everywhere:
0 success, 1 refused or invalid input (``kiosk: <reason>`` on stderr), 2 usage error.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import os
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from kiosk.cli_staff import PIN_ENV, PinOpt, StaffOpt, resolve_pin
from kiosk.config import ConfigError, load_settings
from kiosk.errors import Refused

if TYPE_CHECKING:
    from kiosk.config import Settings

__all__ = [
    "ConfigOpt",
    "HtmlOpt",
    "HtmlPinOpt",
    "HtmlStaffOpt",
    "JsonOpt",
    "LangOpt",
    "MonthOpt",
    "PinOpt",
    "StaffOpt",
    "AmountArg",
    "NoteOpt",
    "UnitArg",
    "UnitOpt",
    "as_data",
    "as_staff",
    "emit",
    "fail",
    "html_report",
    "html_report_command",
    "lazy_module",
    "one_format",
    "print_text",
    "usage_error",
    "open_ctx",
    "refusals",
    "run_as_staff",
    "said",
    "settings_or_exit",
    "show_fields",
    "show_records",
    "sign_in",
    "staff_command",
    "context",
    "SignatureOpt",
    "read_strokes",
]

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Config file (default: $KIOSK_CONFIG).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
SignatureOpt = Annotated[
    str, typer.Option("--signature", help="The signer's strokes from a pad as JSON, or @file.")
]
HtmlOpt = Annotated[
    Path | None,
    typer.Option("--html", help="Write the report with its charts to this HTML file (staff)."),
]
# A report whose table needs no sign-in takes the staff and PIN for --html only: the PIN is
# asked for when the chart report is written, not on every table.
HtmlStaffOpt = Annotated[
    str | None, typer.Option("--staff", help="Staff number or card (a manager), for --html.")
]
HtmlPinOpt = Annotated[
    str | None,
    typer.Option(
        "--pin", envvar=[PIN_ENV], show_envvar=False,
        help=f"Staff PIN for --html (or ${PIN_ENV}; asked for when left out).",
    ),
]  # fmt: skip
MonthOpt = Annotated[
    str | None, typer.Option("--month", help="YYYY-MM (default: this month, estate time).")
]
LangOpt = Annotated[
    str | None,
    typer.Option("--lang", help="Language of the report: zh_CN or en (default: the desk's)."),
]


def fail(message: str) -> NoReturn:
    """Refuse with a one-line reason on stderr and exit 1."""
    typer.echo(f"kiosk: {message}", err=True)
    raise typer.Exit(1)


def usage_error(message: str) -> NoReturn:
    """A command used the wrong way: the reason on stderr and exit 2."""
    typer.echo(f"kiosk: {message}", err=True)
    raise typer.Exit(2)


def one_format(as_json: bool, as_csv: bool) -> None:
    """``--json`` and ``--csv`` of a report exclude each other (a usage error)."""
    if as_json and as_csv:
        usage_error("--json and --csv are exclusive")


def settings_or_exit(config: Path | None, db: str | None = None) -> Settings:
    """The settings of ``config`` (or ``$KIOSK_CONFIG``); a bad file is a refusal, not a trace."""
    try:
        if db:
            os.environ["KIOSK_DATABASE_URL"] = db
        return load_settings(config)
    except ConfigError as exc:
        fail(f"bad config: {exc}")


def open_ctx(settings: Settings, migrate: bool = False) -> Any:
    """A loaded context (database and plugins) for ``settings``; ``migrate`` upgrades first."""
    from kiosk.context import open_context

    ctx = open_context(settings)
    if migrate:
        from kiosk.db.migrate import upgrade

        upgrade(ctx.database().engine, ctx.plugins)
    return ctx


def context(config: Path | str | None) -> Any:
    """The loaded context of a command's ``--config``."""
    return open_ctx(settings_or_exit(None if config is None else Path(config)))


def emit(data: Any, as_json: bool, text: str) -> None:
    """Print ``data`` as one JSON document with ``--json``, else ``text``."""
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        typer.echo(text)


def said(result: tuple[Any, str], as_json: bool) -> None:
    """The ``show`` of a :func:`staff_command` step that returns ``(data, text)``: the data
    with ``--json``, else the text."""
    emit(result[0], as_json, result[1])


@contextmanager
def refusals(translate: Callable[[str], str] | None = None) -> Iterator[None]:
    """A refusal (bad input, wrong PIN, missing role) is a message and exit 1, not a trace;
    ``translate`` (``kiosk.i18n._``) gives it in the current language, else in English."""
    try:
        yield
    except Refused as exc:
        fail(exc.render(translate))


def sign_in(ctx: Any, who: str, pin: str | None) -> Any:
    """The staff member ``who`` signed in with ``pin`` (asked for when not given)."""
    from kiosk.lobby import staff_login

    return staff_login(ctx, who, resolve_pin(pin))


def as_staff(
    config: Path | str | None,
    who: str,
    pin: str | None,
    act: Callable[[Any, Any], Any],
    translate: Callable[[str], str] | None = None,
) -> tuple[Any, Any]:
    """The step most desk commands are: open the context, sign ``who`` in, run ``act(ctx,
    actor)``; a refusal anywhere is ``kiosk: <reason>`` and exit 1. Returns (ctx, result)."""
    with refusals(translate):
        ctx = context(config)
        return ctx, act(ctx, sign_in(ctx, who, pin))


def run_as_staff(
    config: Path | str | None,
    who: str,
    pin: str | None,
    as_json: bool,
    act: Callable[[Any, Any], Any],
    text: Callable[[Any], str] = str,
) -> None:
    """:func:`as_staff`, then print the result: JSON as it is, else ``text(result)``."""
    _ctx, result = as_staff(config, who, pin, act)
    emit(result, as_json, text(result))


def staff_command(
    app: typer.Typer,
    name: str,
    show: Callable[[Any, bool], None],
    translate: Callable[[str], str] | None = None,
    *,
    json_option: bool = True,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``step(ctx, actor, ...)`` as the command ``name`` of ``app`` acting as a signed-in
    staff member: besides the step's own parameters (typer annotations, after ``ctx`` and
    ``actor``) it takes ``--staff``, the PIN, ``--json`` and ``--config``, runs the step through
    :func:`as_staff` (refusals in ``translate``'s language) and prints the result with
    ``show(result, as_json)``. The step's docstring is the command's help. A command whose
    output has one form only (a CSV register: ``show`` :func:`print_text`) takes no ``--json``
    (``json_option=False``)."""

    def register(step: Callable[..., Any]) -> Callable[..., Any]:
        hints = typing.get_type_hints(step, include_extras=True)
        own = [
            p.replace(annotation=hints[p.name])
            for p in list(inspect.signature(step).parameters.values())[2:]
        ]
        kw = inspect.Parameter.KEYWORD_ONLY
        shared = [
            inspect.Parameter("staff", kw, annotation=StaffOpt),
            inspect.Parameter("pin", kw, annotation=PinOpt, default=None),
            inspect.Parameter("as_json", kw, annotation=JsonOpt, default=False),
            inspect.Parameter("config", kw, annotation=ConfigOpt, default=None),
        ]
        if not json_option:
            del shared[2]
        params = [p.replace(kind=kw) for p in own if p.default is p.empty]
        params += shared[:1] + [p.replace(kind=kw) for p in own if p.default is not p.empty]
        params += shared[1:]

        def command(**values: Any) -> None:
            who, pin = values.pop("staff"), values.pop("pin")
            as_json, config = values.pop("as_json", False), values.pop("config")
            _ctx, result = as_staff(
                config, who, pin, lambda ctx, a: step(ctx, a, **values), translate
            )
            show(result, as_json)

        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        command.__doc__ = step.__doc__
        command.__name__ = f"{step.__name__}_cmd"
        app.command(name)(command)
        return step

    return register


def html_report(
    config: Path | str | None,
    who: str | None,
    pin: str | None,
    path: Path,
    month: str | None,
    lang: str | None,
    report: str = "",
    as_json: bool = False,
) -> None:
    """``kiosk report ... --html FILE``: sign the manager in, write the report of ``month``
    (``report``'s figures, or every plugin's) drawn by :mod:`kiosk.reports` in ``lang`` (or
    the desk's language), and say where it went."""
    from kiosk.i18n import _, language, set_language

    if not who:
        usage_error("--html needs the staff member: --staff S005 (a manager)")
    settings = settings_or_exit(None if config is None else Path(config))
    before = language()
    try:
        set_language(lang or settings.language)
    except ValueError as exc:
        usage_error(str(exc))
    from kiosk.reports import write_report

    try:
        with refusals(_):
            ctx = open_ctx(settings)
            actor = sign_in(ctx, who, pin)
            figures = write_report(ctx, actor, str(path), month, report)
    finally:
        set_language(before)  # a command run in process (tests) leaves the language as it was
    data = {"html": str(path), "figures": [f.key for f in figures]}
    emit(data, as_json, f"report written: {path} ({len(figures)} figures)")


def html_report_command(report: str, doc: str) -> Callable[..., None]:
    """A ``kiosk report <report>`` command that only draws: ``--html FILE`` (required),
    ``--staff`` and the PIN (a manager), ``--month``, ``--lang``, ``--json``, ``--config``;
    ``report`` "" is every plugin's figures (``kiosk report month``)."""

    def command(
        html_file: Annotated[
            Path, typer.Option("--html", help="Write the report to this HTML file.")
        ],
        staff: StaffOpt,
        pin: PinOpt = None,
        month: MonthOpt = None,
        lang: LangOpt = None,
        as_json: JsonOpt = False,
        config: ConfigOpt = None,
    ) -> None:
        html_report(config, staff, pin, html_file, month, lang, report, as_json)

    command.__doc__ = doc
    command.__name__ = f"report_{report or 'month'}"
    return command


def read_strokes(text: str) -> Any:
    """A ``--signature`` value: strokes JSON, or ``@file`` holding it. Unreadable JSON gives
    None, which the service's signature check refuses; an unreadable file is refused here."""
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError:
            raise Refused("kiosk.signature_file", "Cannot read the signature file.") from None
    try:
        return json.loads(text)
    except ValueError:
        return None


# -- what plugin commands print, and the options several of them declare ------------------------


def as_data(value: Any) -> Any:
    """``value`` as JSON takes it: a dataclass as its dict, a list item by item."""
    if isinstance(value, list):
        return [as_data(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def show_fields(result: Any, as_json: bool) -> None:
    """The ``show`` of a :func:`staff_command` step that returns a record (a dict or a
    dataclass): the record as JSON with ``--json``, else ``key: value`` on one line, empty
    fields left out. A list of records is a line of values each (``none`` when empty)."""
    data = as_data(result)
    if isinstance(data, list):
        text = "\n".join(" ".join(str(v) for v in row.values()) for row in data) or "none"
    else:
        text = " ".join(f"{k}: {v}" for k, v in data.items() if v not in ("", None))
    emit(data, as_json, text)


def show_records(
    line: Callable[[Any], str], *, indent: int | None = 2, empty: str = ""
) -> Callable[[Any, bool], None]:
    """A ``show`` for commands that give a record (a dataclass) or a list of them: JSON (the
    record, or the list), else ``line(record)`` for each (a text row as it is) and ``empty``
    when the list is."""

    def show(result: Any, as_json: bool) -> None:
        rows = result if isinstance(result, list) else [result]
        if as_json:
            typer.echo(json.dumps(as_data(result), ensure_ascii=False, indent=indent, default=str))
            return
        for row in rows:
            typer.echo(row if isinstance(row, str) else line(row))
        if not rows and empty:
            typer.echo(empty)

    return show


def print_text(text: str, _as_json: bool = False) -> None:
    """The ``show`` of a step that returns a document ready to print (a CSV register)."""
    typer.echo(text, nl=False)


def lazy_module(name: str) -> Callable[[], Any]:
    """The module ``name``, imported when first asked for: a plugin's commands load its service
    only when one of them runs (``kiosk --help`` stays quick)."""
    return lambda: importlib.import_module(name)


UnitOpt = Annotated[str, typer.Option("--unit", help="Unit, e.g. 3-1205.")]
UnitArg = Annotated[str, typer.Argument(help="Unit, e.g. 3-1205.")]
AmountArg = Annotated[str, typer.Argument(help="Amount in yuan.")]
NoteOpt = Annotated[str, typer.Option("--note", help="A note kept on the record.")]
