"""The ``kiosk`` command. Exit codes: 0 success, 1 refused or invalid input (one-line reason on
stderr), 2 usage error. ``--json`` prints one JSON document on stdout.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from kiosk import commands
from kiosk.commands import ConfigOpt, JsonOpt, emit, fail, open_ctx, settings_or_exit
from kiosk.config import ConfigError, Settings, load_settings, redact, redact_url
from kiosk.errors import Refused

REPO = Path(__file__).resolve().parent.parent
DEMO_CONFIG = REPO / "config" / "demo.toml"

app = typer.Typer(
    name="kiosk",
    help="Lobby kiosk: resident services, butler desk, devices, reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
report_app = typer.Typer(help="Reports for the office (plugins add theirs).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(report_app, name="report")


@app.callback()
def _root() -> None:
    # KIOSK_NOW (the testing and replay clock) is checked once for every command: a bad value
    # is a refusal naming it, not a traceback deep inside a service.
    from kiosk.clock import NOW_ENV, parse_now

    value = os.environ.get(NOW_ENV, "").strip()
    if value:
        try:
            parse_now(value)
        except ValueError as exc:
            fail(str(exc))


@dataclasses.dataclass
class CommandRegistry:
    """What ``kiosk_register_commands`` receives: the root app, the report group, and what
    every command shares (:mod:`kiosk.commands`: options, context, refusals, staff sign-in)."""

    app: typer.Typer
    report: typer.Typer
    shared: Any = commands


def warn_if_world_readable(settings: Settings) -> None:
    """Config files hold PINs, provider keys and database passwords: a file that group or
    others may read is logged as a warning (``kiosk run``, ``desk``, ``serve``; ``kiosk
    doctor`` lists it with the other insecure settings)."""
    from kiosk.hardening import config_mode_warning

    line = config_mode_warning(settings)
    if line:  # main() sends warnings to stderr; a kiosk's journal keeps them
        logging.getLogger("kiosk").warning("config: %s", line)


# -- set-up ---------------------------------------------------------------------------------


@app.command()
def init(
    demo: Annotated[bool, typer.Option("--demo", help="Add the demo estate.")] = False,
    db: Annotated[str | None, typer.Option("--db", help="Database URL (overrides config).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Create or upgrade the database; with --demo, add the demo estate and print its PINs."""
    settings = settings_or_exit(config, db)
    key = _prepare_audit_key(settings)
    try:
        ctx = open_ctx(settings)
        from kiosk.db.migrate import upgrade

        heads = upgrade(ctx.database().engine, ctx.plugins)
    except Exception as exc:  # noqa: BLE001 - the reason is what the operator needs
        logging.getLogger(__name__).debug("init failed", exc_info=True)
        url = settings.database_url
        reason = redact(str(exc), url)
        fail(f"cannot prepare the database {redact_url(url)}: {type(exc).__name__}: {reason}")
    typer.echo(
        f"database ready: {redact_url(settings.database_url)} (migrations: {', '.join(heads)})"
    )
    _anchor_audit(ctx, key)
    for failure in ctx.plugins.failures:
        typer.echo(f"warning: plugin {failure.plugin} disabled: {failure.error}", err=True)
    if demo:
        from kiosk.demo import seed_demo

        with ctx.database().write() as session:
            creds = seed_demo(session, ctx)
        for line in creds.lines:
            typer.echo(line)


def _run_app(kind: str, settings: Settings, sim: bool) -> None:
    from kiosk.shell import start

    code = start(kind, settings, sim)
    if code:  # e.g. a database never set up: the shell said why as it left
        raise typer.Exit(code)


def _shell_command(kind: str, doc: str) -> Any:
    """``kiosk run`` or ``kiosk desk``: start the ``kind`` shell with ``--config`` and ``--sim``."""

    def command(
        config: ConfigOpt = None,
        sim: Annotated[bool, typer.Option("--sim", help="Use simulated devices.")] = False,
    ) -> None:
        _run_app(kind, settings_or_exit(config), sim)

    command.__doc__ = doc
    return command


run = app.command("run")(_shell_command("lobby", "Start the lobby kiosk."))
desk = app.command("desk")(
    _shell_command("desk", "Start the butler desk (staff card or number + PIN).")
)


@app.command()
def serve(
    desk: Annotated[bool, typer.Option("--desk", help="Serve the butler desk.")] = False,
    links: Annotated[
        bool, typer.Option("--links", help="Serve the one-time notification link pages.")
    ] = False,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (estate network only).")
    ] = "127.0.0.1",
    config: ConfigOpt = None,
) -> None:
    """Serve the butler desk to browsers (textual-serve); each session logs in with staff + PIN.
    With --links, serve the pages notification links open (kiosk.notify_links)."""
    if desk == links:
        typer.echo("kiosk: serve what? pass --desk or --links", err=True)
        raise typer.Exit(2)
    settings = settings_or_exit(config)
    if links:
        from kiosk.notify_links import serve_links

        warn_if_world_readable(settings)
        try:
            serve_links(open_ctx(settings), host, port)
        except OSError as exc:
            fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}")
        return
    warn_if_world_readable(settings)
    from kiosk.i18n import set_language
    from kiosk.ui.web import LOOPBACK, serve_desk

    if host not in LOOPBACK:
        typer.echo(
            f"kiosk: warning: serving the desk on {host}:{port} over plain HTTP; it must be "
            "reachable only on the estate network (firewall it off from everything else)",
            err=True,
        )
    if settings.devices:
        typer.echo(
            f"kiosk: warning: every browser session opens this machine's devices "
            f"({', '.join(sorted(settings.devices))}); serve a config without [devices]",
            err=True,
        )
    source = None if settings.source.startswith("<") else str(Path(settings.source).resolve())
    set_language(settings.language)  # the server's own pages (all sessions in use)
    try:
        serve_desk(source, host, port, settings.desk.allowed_origins, settings.desk.max_sessions)
    except OSError as exc:  # the port is taken, the address is not this machine's
        fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}")


@app.command()
def demo(
    config: Annotated[Path, typer.Option("--config", "-c", help="Demo config.")] = DEMO_CONFIG,
    no_run: Annotated[
        bool, typer.Option("--no-run", help="Prepare the demo database only.")
    ] = False,
) -> None:
    """Demo database + simulated devices + lobby kiosk, in one command."""
    settings = settings_or_exit(config)
    key = _prepare_audit_key(settings)
    ctx = open_ctx(settings, migrate=True)
    _anchor_audit(ctx, key)
    from kiosk.demo import seed_demo

    with ctx.database().write() as session:
        creds = seed_demo(session, ctx)
    for line in creds.lines:
        typer.echo(line)
    ctx.database().dispose()
    if not no_run:
        # Simulated printers keep each slip (bytes and a PNG): `kiosk receipt last` shows it.
        os.environ.setdefault("KIOSK_RECEIPTS_DIR", str(Path("var/receipts").resolve()))
        typer.echo(f"printed slips are kept in {os.environ['KIOSK_RECEIPTS_DIR']}")
        try:
            _run_app("lobby", settings, sim=True)
        finally:
            # The kiosk's screen covered the cheat sheet: show it again on the way out.
            for line in creds.lines:
                typer.echo(line)


# -- inspection -----------------------------------------------------------------------------


@app.command()
def plugins(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """List plugins, their versions and hooks, and any that failed to load."""
    settings = settings_or_exit(config)
    from kiosk.plugins import load_plugins

    loaded = load_plugins(settings.plugins_disabled)
    data = {
        "plugins": [dataclasses.asdict(p) for p in loaded.info()],
        "disabled": loaded.disabled,
        "failures": [
            {"plugin": f.plugin, "stage": f.stage, "error": f.error} for f in loaded.failures
        ],
    }
    lines = [
        f"{p.name} {p.version or ''} ({p.module}): {', '.join(p.hooks)}" for p in loaded.info()
    ]
    lines += [f"disabled: {name}" for name in loaded.disabled]
    lines += [f"FAILED {f.plugin} at {f.stage}: {f.error}" for f in loaded.failures]
    emit(data, as_json, "\n".join(lines) or "no plugins")


@app.command()
def doctor(
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    sim: Annotated[
        bool, typer.Option("--sim", help="A demo: simulated devices and payments are meant.")
    ] = False,
) -> None:
    """Check config, database and migrations, devices and plugins; exit 1 when any fails.
    Insecure settings (demo PINs, simulated payments, readable secrets...) are warned about."""
    from kiosk.doctor import run_checks

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        checks = [{"check": "config", "ok": False, "detail": str(exc)}]
    else:
        checks = run_checks(settings, sim=sim)
    ok = all(c["ok"] for c in checks)

    def mark(c: dict[str, Any]) -> str:
        return "FAIL" if not c["ok"] else "warn" if c.get("warning") else "ok"

    text = "\n".join(f"[{mark(c)}] {c['check']}: {c['detail']}" for c in checks)
    emit({"ok": ok, "checks": checks}, as_json, text)
    if not ok:
        raise typer.Exit(1)


def _on_audit_log(
    config: Path | None,
    step: Callable[[Any, Any], Any],
    failure: type[Exception],
    cannot: Callable[[Exception], str],
) -> Any:
    """``step(ctx, session)`` on the audit log of ``config``'s database; a missing or wrong
    audit key, or a ``failure`` (``cannot`` says what it means), is a refusal."""
    from kiosk import audit

    settings = settings_or_exit(config)
    try:
        ctx = open_ctx(settings)
        with ctx.database().read() as session:
            return step(ctx, session)
    except audit.AuditKeyError as exc:
        fail(str(exc))
    except failure as exc:  # verify: anything that stops reading; checkpoint: the file
        fail(cannot(exc))


@audit_app.command("verify")
def audit_verify(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Check the chain and its checkpoints; exit 1 with one line saying what does not hold."""
    from kiosk import audit

    result = _on_audit_log(
        config,
        lambda ctx, session: audit.verify(session),
        Exception,
        lambda exc: f"cannot read the audit log: {type(exc).__name__}: {exc}",
    )
    for warning in result.warnings:
        typer.echo(f"kiosk: warning: {warning}", err=True)
    if result.ok:
        anchored = f", checkpoint at {result.checkpoint}" if result.checkpoint is not None else ""
        keyed = "keyed" if result.keyed else "UNKEYED"
        emit(
            dataclasses.asdict(result),
            as_json,
            f"audit chain intact: {result.events} events ({keyed}{anchored})",
        )
        return
    if result.kind == "no-checkpoint":
        line = f"audit chain NOT ANCHORED: {result.reason} ({result.events} events verified)"
    elif result.broken_seq is None:
        line = f"audit chain BROKEN: {result.reason}"
    else:
        line = (
            f"audit chain BROKEN at event {result.broken_seq}: {result.reason} "
            f"({result.events} events before it verified)"
        )
    emit(dataclasses.asdict(result), as_json, line)
    raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Verify the chain, then append its count and head, signed, to the checkpoint file (cron)."""
    from kiosk import audit

    def anchor(ctx: Any, session: Any) -> Any:
        key = ctx.database().audit_key
        if key is None:
            where = ctx.settings.audit.key_file or "[audit] key_file"
            fail(f"no audit key at {where} (kiosk init)")
        return key, audit.anchor(session, key, ctx.clock.now(), ctx.kiosk_id)

    key, result = _on_audit_log(
        config, anchor, OSError, lambda exc: f"cannot write the checkpoint: {exc}"
    )
    if not result.ok:
        fail(f"not checkpointed, the audit chain does not verify: {result.reason}")
    emit(
        dataclasses.asdict(result),
        as_json,
        f"audit checkpoint: {result.events} events, head {result.head[:16]} -> {key.checkpoints}",
    )


report_app.command("month")(
    commands.html_report_command(
        "",
        """The manager's monthly report with charts: every plugin's figures (repairs timeliness
    and rework, complaints by grade, parcel aging, umbrella stock, parking rentals) in one
    HTML file to open in a browser. Managers only.""",
    )
)


def _prepare_audit_key(settings: Settings) -> Any:
    """``kiosk init``/``demo``: make the audit key when missing (before the database opens)."""
    from kiosk import audit

    try:
        key, created = audit.ensure_key(settings)
    except (audit.AuditKeyError, OSError) as exc:
        fail(f"audit key: {exc}")
    if key is None:
        typer.echo("kiosk: warning: no [audit] key_file: the audit chain is unkeyed", err=True)
    elif created:
        typer.echo(f"audit key created: {key.path} (mode 0600; keep it off the database host)")
    return key


def _anchor_audit(ctx: Any, key: Any) -> None:
    """The first checkpoint, when there is none: it fixes where keyed events begin."""
    from kiosk import audit

    if key is None or key.checkpoints.exists():
        return
    with ctx.database().read() as session:
        result = audit.anchor(session, key, ctx.clock.now(), ctx.kiosk_id)
    if result.ok:
        typer.echo(f"audit checkpoint: {result.events} events -> {key.checkpoints}")
    else:
        typer.echo(f"kiosk: warning: audit chain not anchored: {result.reason}", err=True)


@app.command()
def purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be anonymised.")
    ] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Anonymise visitor and parcel PII past the \\[retention] days (closed records only)."""
    settings = settings_or_exit(config)
    from kiosk.db import retention

    ctx = open_ctx(settings)
    try:
        report = retention.purge(ctx, dry_run=dry_run)
    except retention.PurgeFailed as exc:
        fail(f"purge failed: {exc}")
    except Exception as exc:  # noqa: BLE001 - the reason is what the operator needs
        fail(f"cannot purge: {type(exc).__name__}: {exc}")
    finally:
        ctx.database().dispose()
    emit(report.as_dict(), as_json, report.summary())


@app.command()
def simulate(
    names: Annotated[list[str] | None, typer.Argument(help="Scenario names.")] = None,
    run_all: Annotated[bool, typer.Option("--all", help="Run every scenario.")] = False,
    as_json: JsonOpt = False,
    list_only: Annotated[bool, typer.Option("--list", help="List the scenarios.")] = False,
    config: ConfigOpt = None,
    soak: Annotated[
        int | None,
        typer.Option("--soak", min=1, metavar="N", help="Soak: N randomised steps, then checks."),
    ] = None,
    faults: Annotated[bool, typer.Option("--faults", help="Soak: inject device faults.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Soak: random seed.")] = 1,
    backend: Annotated[
        str, typer.Option("--backend", help="Soak: sqlite or postgresql (throw-away database).")
    ] = "sqlite",
) -> None:
    """Scripted runs of the real app, headless, with simulated devices and a transcript."""
    if soak is not None or faults:
        if soak is None or names or run_all or list_only or backend not in ("sqlite", "postgresql"):
            typer.echo(
                "kiosk: --soak N [--faults] [--seed S] [--backend sqlite|postgresql]", err=True
            )
            raise typer.Exit(2)
        from kiosk import soak as soaking

        result = soaking.soak(
            soak, faults=faults, seed=seed, backend=backend, settings=settings_or_exit(config)
        )
        emit(result, as_json, soaking.summary(result))
        if result["violations"]:
            raise typer.Exit(1)
        return
    if not names and not run_all and not list_only:
        typer.echo("kiosk: name scenarios or pass --all (see --list)", err=True)
        raise typer.Exit(2)
    settings = settings_or_exit(
        config if config else (DEMO_CONFIG if DEMO_CONFIG.exists() else None)
    )
    from kiosk.ui.simulate import available_scenarios, run_scenarios_sync

    if list_only:
        scenarios = available_scenarios(settings)
        emit(
            [{"name": s.name, "description": s.description} for s in scenarios],
            as_json,
            "\n".join(f"{s.name}: {s.description}" for s in scenarios),
        )
        return
    try:
        results = run_scenarios_sync(None if run_all else list(names or []), settings)
    except Refused as exc:
        fail(exc.render())
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in results], ensure_ascii=False, indent=2))
    else:
        for r in results:
            typer.echo(f"== {r.name}: {'PASS' if r.ok else 'FAIL'} ({r.seconds:.2f} s)")
            for line in r.transcript:
                typer.echo(f"   {line}")
            if r.error:
                typer.echo(f"   ERROR: {r.error}")
        passed = sum(r.ok for r in results)
        typer.echo(f"{passed} passed, {len(results) - passed} failed")
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Benchmark name (a file in bench/).")],
    as_json: JsonOpt = False,
) -> None:
    """Run a benchmark from bench/ and print its figures (extra options go to the benchmark)."""
    path = REPO / "bench" / f"{name}.py"
    if not path.exists():
        known = sorted(p.stem for p in (REPO / "bench").glob("*.py") if not p.stem.startswith("_"))
        fail(f"no benchmark {name!r} (known: {', '.join(known)})")
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    takes_args = bool(inspect.signature(module.run).parameters)
    if ctx.args and not takes_args:
        fail(f"benchmark {name!r} takes no options (got {' '.join(ctx.args)})")
    try:
        result = module.run(list(ctx.args)) if takes_args else module.run()
    except SystemExit as exc:  # argparse inside the benchmark: a usage error
        raise typer.Exit(2 if exc.code else 0) from None
    emit(result, as_json, "\n".join(f"{k}: {v}" for k, v in result.items()))


def _mount_optional() -> None:
    """Device commands and plugin commands; a broken plugin only loses its own commands."""
    try:
        from kiosk.cli_devices import devices_app, receipt_app

        app.add_typer(devices_app, name="devices")
        app.add_typer(receipt_app, name="receipt")
    except ImportError as exc:
        logging.getLogger(__name__).warning("device commands unavailable: %s", exc)
    from kiosk.cli_notify import notify_app

    app.add_typer(notify_app, name="notify")
    try:
        settings = load_settings()
    except ConfigError:
        settings = Settings()
    from kiosk.plugins import load_plugins

    load_plugins(settings.plugins_disabled).call(
        "kiosk_register_commands", cli=CommandRegistry(app=app, report=report_app)
    )


# The kiosk shells paint before they load plugins; mounting plugin commands first would load
# every plugin (and pluggy) on the path to the first frame.
_SHELL_COMMANDS = {"run", "desk"}


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=os.environ.get("KIOSK_LOG_LEVEL", "WARNING"), stream=sys.stderr)
    if not (len(sys.argv) > 1 and sys.argv[1] in _SHELL_COMMANDS):
        _mount_optional()
    try:
        app()
    except Refused as exc:
        typer.echo(f"kiosk: {exc.render()}", err=True)
        sys.exit(1)
    except ConfigError as exc:
        typer.echo(f"kiosk: bad config: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:
        # A database that is not there or not set up is a sentence, not a trace (the log,
        # with KIOSK_LOG_LEVEL=DEBUG, keeps the detail).
        from sqlalchemy.exc import DBAPIError

        if not isinstance(exc, DBAPIError):
            raise
        logging.getLogger("kiosk").debug("database error", exc_info=True)
        text = str(exc.orig).lower()
        if "no such table" in text or "does not exist" in text and "relation" in text:
            typer.echo(
                "kiosk: the database is not set up for this command: run 'kiosk init' with "
                "the same config (or pass the right one with -c / $KIOSK_CONFIG)",
                err=True,
            )
        else:
            typer.echo(f"kiosk: the database refused: {str(exc.orig).splitlines()[0]}", err=True)
        sys.exit(1)
