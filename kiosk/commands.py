"""What every ``kiosk`` command shares, core and plugins alike: the ``--config`` and ``--json``
options, opening the context, refusing in one line (exit 1), printing text or one JSON document,
and the staff sign-in of commands that act as a person.

A plugin's ``cli.py`` imports these (they are also on the :class:`kiosk.cli.CommandRegistry` its
``kiosk_register_commands`` receives), so the exit codes and messages are the same everywhere:
0 success, 1 refused or invalid input (``kiosk: <reason>`` on stderr), 2 usage error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import inspect
import json
import os
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Protocol

import typer

from kiosk.cli_staff import PIN_ENV, PinOpt, StaffOpt, resolve_pin
from kiosk.config import ConfigError, load_settings
from kiosk.errors import Refused

if TYPE_CHECKING:
    from kiosk.config import Settings

__all__ = [
    "CommandGroup",
    "ConfigOpt",
    "CsvOpt",
    "HtmlOpt",
    "HtmlPinOpt",
    "HtmlStaffOpt",
    "Into",
    "JsonOpt",
    "LangOpt",
    "LobbyOpt",
    "MonthOpt",
    "PinOpt",
    "StaffOpt",
    "AmountArg",
    "NoteOpt",
    "UnitArg",
    "UnitOpt",
    "as_data",
    "as_staff",
    "chart_report",
    "day_option",
    "emit",
    "fail",
    "fields_of",
    "html_report",
    "html_report_command",
    "job_command",
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
    "service_steps",
    "staff_command",
    "table_report",
    "typed_day",
    "context",
    "SignatureOpt",
    "MaybeSignatureOpt",
    "read_command",
    "read_strokes",
]

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="Config file (default: $KIOSK_CONFIG).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
# A report's --csv excludes --json (one_format).
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print the report as CSV.")]
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


def emit(data: Any, as_json: bool, text: str, indent: int | None = 2) -> None:
    """Print ``data`` as one JSON document with ``--json`` (on one line with ``indent`` None),
    else ``text``."""
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=indent, default=str))
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
        own = _typed_parameters(step)[2:]
        _mount_staff_step(app, name, step, own, show, translate, json_option)
        return step

    return register


class ServiceStep(Protocol):
    """What :func:`service_steps` returns: ``step(name)`` or ``step(name, document=True)``, the
    decorator that registers a declaration as the command ``name``."""

    def __call__(
        self, name: str, *, document: bool = False
    ) -> Callable[[Callable[..., None]], Callable[..., None]]: ...


def service_steps(
    app: typer.Typer,
    service: Callable[[], Any],
    show: Callable[[Any, bool], None],
    translate: Callable[[str], str] | None = None,
    *,
    json_option: bool = True,
) -> ServiceStep:
    """Declare ``app``'s steps that are one call of the ``service`` module (a
    :func:`lazy_module`): ``@step(name)`` on ``def method(...)``, a signature and a docstring
    with no body, registers the :func:`staff_command` ``name`` with those parameters and that
    help, which runs ``service().method(ctx, actor, ...)`` and shows what it returns. The
    declaration mirrors the method's signature: its parameters are passed in order, those after
    a ``*`` by name, each as typed or as its :class:`Into` makes it (strokes, fen, a date). A
    step that needs more (the context to read a value, a result reshaped for the desk) is a
    :func:`staff_command` of its own. ``@step(name, document=True)`` declares a method that
    returns a document ready to print (a CSV register): it is printed as it is, and the command
    takes no ``--json``."""

    def step(
        name: str, *, document: bool = False
    ) -> Callable[[Callable[..., None]], Callable[..., None]]:
        def register(declaration: Callable[..., None]) -> Callable[..., None]:
            method = declaration.__name__
            own = _typed_parameters(declaration)
            in_order = [p.name for p in own if p.kind is not p.KEYWORD_ONLY]

            def call(ctx: Any, actor: Any, **values: Any) -> Any:
                args = [values.pop(key) for key in in_order]
                return getattr(service(), method)(ctx, actor, *args, **values)

            call.__doc__, call.__name__ = declaration.__doc__, method
            if document:
                _mount_staff_step(app, name, call, own, print_text, translate, False)
            else:
                _mount_staff_step(app, name, call, own, show, translate, json_option)
            return declaration

        return register

    return step


def job_command(
    app: typer.Typer, name: str
) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
    """Register ``job(ctx)`` as the command ``name`` of ``app`` that cron (or a person) runs: it
    takes ``--config`` only and prints what the job returns as one line of JSON (a dataclass as
    its dict). The job's docstring is the command's help."""

    def register(job: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def command(config: ConfigOpt = None) -> None:
            typer.echo(json.dumps(as_data(job(context(config))), ensure_ascii=False))

        command.__doc__ = job.__doc__
        command.__name__ = f"{job.__name__}_cmd"
        app.command(name)(command)
        return job

    return register


def _typed_parameters(function: Callable[..., Any]) -> list[inspect.Parameter]:
    """``function``'s parameters with their annotations resolved (``Annotated`` kept)."""
    hints = typing.get_type_hints(function, include_extras=True)
    parameters = inspect.signature(function).parameters.values()
    return [p.replace(annotation=hints[p.name]) for p in parameters]


def read_command(
    app: typer.Typer, name: str, show: Callable[[Any, bool], None]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``read(ctx, ...)`` as the command ``name`` of ``app`` that reads without a
    sign-in: besides the read's own parameters (typer annotations, after ``ctx``) it takes
    ``--json`` and ``--config``, runs the read on the context of ``--config`` and prints the
    result with ``show(result, as_json)``; a refusal is ``kiosk: <reason>`` and exit 1. The
    read's docstring is the command's help."""

    def register(read: Callable[..., Any]) -> Callable[..., Any]:
        kw = inspect.Parameter.KEYWORD_ONLY
        params = [p.replace(kind=kw) for p in _typed_parameters(read)[1:]]
        params += [
            inspect.Parameter("as_json", kw, annotation=JsonOpt, default=False),
            inspect.Parameter("config", kw, annotation=ConfigOpt, default=None),
        ]

        def command(**values: Any) -> None:
            as_json, config = values.pop("as_json"), values.pop("config")
            with refusals():
                result = read(context(config), **values)
            show(result, as_json)

        app.command(name)(_with_signature(command, params, read.__doc__, f"{read.__name__}_cmd"))
        return read

    return register


def _with_signature(
    command: Callable[..., None], params: list[inspect.Parameter], doc: str | None, name: str
) -> Callable[..., None]:
    """``command`` (which takes ``**values``) as typer is to see it: ``params`` its
    parameters, ``doc`` its help, ``name`` its name."""
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = doc
    command.__name__ = name
    return command


def _mount_staff_step(
    app: typer.Typer,
    name: str,
    step: Callable[..., Any],
    own: list[inspect.Parameter],
    show: Callable[[Any, bool], None],
    translate: Callable[[str], str] | None,
    json_option: bool,
) -> None:
    """The command ``name`` of :func:`staff_command`: the ``own`` parameters without a default,
    ``--staff``, those with a default, then the PIN, ``--json`` and ``--config``; a parameter
    annotated :class:`Into` reaches ``step`` converted."""
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
    conversions = {
        p.name: meta.convert
        for p in own
        for meta in getattr(p.annotation, "__metadata__", ())
        if isinstance(meta, Into)
    }

    def act(ctx: Any, actor: Any, values: dict[str, Any]) -> Any:
        for key, convert in conversions.items():
            if values[key] is not None:
                values[key] = convert(values[key])
        return step(ctx, actor, **values)

    def command(**values: Any) -> None:
        who, pin = values.pop("staff"), values.pop("pin")
        as_json, config = values.pop("as_json", False), values.pop("config")
        _ctx, result = as_staff(config, who, pin, lambda ctx, a: act(ctx, a, values), translate)
        show(result, as_json)

    app.command(name)(_with_signature(command, params, step.__doc__, f"{step.__name__}_cmd"))


class CommandGroup:
    """A plugin's ``kiosk <name> ...`` commands: the typer group ``app``, the plugin's ``service``
    module (imported when a command first calls ``service()``: :func:`lazy_module`), and the
    decorators that put commands on the group, :func:`staff_command`, :func:`read_command`,
    :func:`job_command` and :func:`service_steps` with the group's app and service."""

    def __init__(self, name: str, help: str, service: str) -> None:
        self.name = name
        self.app = typer.Typer(help=help, no_args_is_help=True)
        self.module = service
        self.service = lazy_module(service)

    def group(self, name: str, help: str) -> CommandGroup:
        """The group ``kiosk <this> <name> ...``, on this one's service."""
        sub = CommandGroup(name, help, self.module)
        self.app.add_typer(sub.app, name=name)
        return sub

    def staff(
        self,
        name: str,
        show: Callable[[Any, bool], None],
        translate: Callable[[str], str] | None = None,
        *,
        json_option: bool = True,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """:func:`staff_command` ``name`` of this group."""
        return staff_command(self.app, name, show, translate, json_option=json_option)

    def read(
        self, name: str, show: Callable[[Any, bool], None]
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """:func:`read_command` ``name`` of this group."""
        return read_command(self.app, name, show)

    def job(self, name: str) -> Callable[[Callable[[Any], Any]], Callable[[Any], Any]]:
        """:func:`job_command` ``name`` of this group."""
        return job_command(self.app, name)

    def steps(
        self,
        show: Callable[[Any, bool], None],
        translate: Callable[[str], str] | None = None,
        *,
        json_option: bool = True,
    ) -> ServiceStep:
        """:func:`service_steps` of this group's service."""
        return service_steps(self.app, self.service, show, translate, json_option=json_option)

    def mount(self, cli: Any, report: Callable[..., None] | None = None) -> None:
        """Put the group on the ``kiosk`` command (``cli``, a :class:`kiosk.cli.CommandRegistry`)
        and ``report``, if any, as ``kiosk report <name>``."""
        cli.app.add_typer(self.app, name=self.name)
        if report is not None:
            cli.report.command(self.name)(report)


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


def chart_report(
    report: str, month_help: str = ""
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """``kiosk report <report>`` printing its table, and drawing its charts with ``--html FILE``:
    the command gains ``--html``, ``--staff`` and the PIN (a manager, asked for with --html
    only), ``--month`` (``month_help``, else :data:`MonthOpt`'s) and ``--lang``, before
    ``--config``; an option the table declares itself stays where it is. With ``--html`` the
    charts are written by :func:`html_report` in place of the table (``--json`` and ``--csv``
    still exclude each other)."""

    def decorate(table: Callable[..., None]) -> Callable[..., None]:
        own = _typed_parameters(table)
        names = [p.name for p in own]
        month: Any = MonthOpt
        if month_help:
            month = Annotated[str | None, typer.Option("--month", help=month_help)]
        kw = inspect.Parameter.KEYWORD_ONLY
        options = [("html", HtmlOpt), ("staff", HtmlStaffOpt), ("pin", HtmlPinOpt)]
        options += [("month", month), ("lang", LangOpt)]
        chart = [
            inspect.Parameter(name, kw, annotation=annotation, default=None)
            for name, annotation in options
            if name not in names
        ]
        at = names.index("config")
        params = [p.replace(kind=kw) for p in own[:at]] + chart
        params += [p.replace(kind=kw) for p in own[at:]]

        def command(**values: Any) -> None:
            if values["html"] is None:
                table(**{name: values[name] for name in names})
                return
            one_format(values["as_json"], values.get("as_csv", False))
            html_report(
                values["config"],
                values["staff"],
                values["pin"],
                values["html"],
                values["month"],
                values["lang"],
                report,
                values["as_json"],
            )

        return _with_signature(command, params, table.__doc__, table.__name__)

    return decorate


def table_report(table: Callable[..., Any]) -> Callable[..., None]:
    """A ``kiosk report`` command printing its table as text, ``--json`` or ``--csv``: the
    command takes ``table``'s own options (after its ``config`` and ``as_csv``), then ``--json``,
    ``--csv`` and ``--config``; the two formats exclude each other. ``table(config, as_csv, ...)``
    checks its options, opens the context of ``config`` and gives the CSV document with
    ``as_csv``, else ``(data, text)``: the data as JSON with ``--json``, else the text. A
    refusal is one line and exit 1. :func:`chart_report` over it adds the charts."""
    kw = inspect.Parameter.KEYWORD_ONLY
    params = [p.replace(kind=kw) for p in _typed_parameters(table)[2:]]
    params += [
        inspect.Parameter("as_json", kw, annotation=JsonOpt, default=False),
        inspect.Parameter("as_csv", kw, annotation=CsvOpt, default=False),
        inspect.Parameter("config", kw, annotation=ConfigOpt, default=None),
    ]

    def command(**values: Any) -> None:
        as_json, as_csv, config = values.pop("as_json"), values.pop("as_csv"), values.pop("config")
        one_format(as_json, as_csv)
        with refusals():
            result = table(config, as_csv, **values)
        if as_csv:
            print_text(result)
        else:
            emit(result[0], as_json, result[1])

    return _with_signature(command, params, table.__doc__, table.__name__)


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
        if Path(text).is_file():  # a file named without its @: say how, read nothing unasked
            raise Refused(
                "kiosk.signature_file", "To read the signature from {path}, write @{path}.",
                path=text,
            ) from None  # fmt: skip
        return None


def typed_day(text: str, code: str) -> dt.date:
    """A day as a staff step's option gives it (``YYYY-MM-DD``, spaces around it ignored);
    anything else is refused under ``code``, saying how to write it."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise Refused(code, "Write the date as YYYY-MM-DD, not {text}.", text=text) from None


def day_option(text: str) -> dt.date:
    """A report's ``--day`` (``YYYY-MM-DD``); anything else is a usage error."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        usage_error(f"--day {text!r} is not a date (YYYY-MM-DD)")


# -- what plugin commands print, and the options several of them declare ------------------------


def as_data(value: Any) -> Any:
    """``value`` as JSON takes it: a dataclass as its dict, a list item by item."""
    if isinstance(value, list):
        return [as_data(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def fields_of(record: Any, *names: str) -> dict[str, Any]:
    """The fields ``names`` of ``record`` (a row, a view), in that order: what a command prints
    of a record whose JSON keys are its own field names."""
    return {name: getattr(record, name) for name in names}


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


@dataclasses.dataclass(frozen=True)
class Into:
    """``Annotated`` metadata of a staff step's parameter: the step receives ``convert(value)``,
    not the text typed (a value left out as None stays None). It runs after the sign-in, so
    what it refuses is a one-line refusal like the step's own."""

    convert: Callable[[Any], Any]


SignatureOpt = Annotated[
    str,
    typer.Option("--signature", help="The signer's strokes from a pad as JSON, or @file."),
    Into(read_strokes),
]
# Where a step may go unsigned (the service then says a signature is needed, or takes none).
MaybeSignatureOpt = Annotated[
    str | None,
    typer.Option("--signature", help="The signer's strokes from a pad as JSON, or @file."),
    Into(read_strokes),
]
UnitOpt = Annotated[str, typer.Option("--unit", help="Unit, e.g. 3-1205.")]
UnitArg = Annotated[str, typer.Argument(help="Unit, e.g. 3-1205.")]
AmountArg = Annotated[str, typer.Argument(help="Amount in yuan.")]
NoteOpt = Annotated[str, typer.Option("--note", help="A note kept on the record.")]
LobbyOpt = Annotated[str, typer.Option("--lobby", help="Only this lobby (default: every lobby).")]
