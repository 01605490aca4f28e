"""Create or upgrade the schema: the core branch plus one Alembic branch per plugin.

Several kiosks may start at once against one PostgreSQL database: upgrades run under an
advisory lock, so the schema is created once and the others find it current.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config

    from kiosk.plugins import KioskPlugins

HERE = Path(__file__).parent / "migrations"
_PG_MIGRATE_LOCK = 0x4B494F534C


def import_all_models(modules: list[str]) -> None:
    """Import core and plugin model modules so their tables join ``Base.metadata``."""
    importlib.import_module("kiosk.db.models")
    for name in modules:
        importlib.import_module(name)


def plugin_sources(plugins: KioskPlugins | None) -> tuple[list[str], list[str]]:
    """(version folders, model modules) contributed by the loaded plugins."""
    if plugins is None:
        return [], []
    folders = [str(p) for p in plugins.call_flat("kiosk_migrations")]
    models = [m if isinstance(m, str) else m.__name__ for m in plugins.call_flat("kiosk_models")]
    return folders, models


def alembic_config(plugins: KioskPlugins | None = None) -> Config:
    from alembic.config import Config  # Alembic only when a migration may run (slow import)

    folders, models = plugin_sources(plugins)
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("version_locations", " ".join([str(HERE / "versions"), *folders]))
    cfg.set_main_option("path_separator", "space")
    cfg.attributes["plugin_model_modules"] = models
    import_all_models(models)
    return cfg


def upgrade(engine: Engine, plugins: KioskPlugins | None = None) -> list[str]:
    """Bring the database to every branch's head; returns the heads now applied."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    cfg = alembic_config(plugins)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # A migration may rightly run longer than an interactive statement may.
            conn.execute(text("SET LOCAL statement_timeout = 0"))
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATE_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")
        return sorted(MigrationContext.configure(conn).get_current_heads())


def status(engine: Engine, plugins: KioskPlugins | None = None) -> tuple[list[str], list[str]]:
    """(revisions applied in the database, revisions the code has but the database lacks).

    The version table only keeps leaves: a plugin branch that depends on the core hides the
    core's revision there, so "applied" is everything reachable from the stored leaves through
    down-revisions and dependencies.
    """
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = alembic_config(plugins)
    script = ScriptDirectory.from_config(cfg)
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()

    def follows(revision: str) -> tuple[str, ...] | None:
        rev = script.get_revision(revision)
        if rev is None:
            return None
        # _all_down_revisions = down revisions plus resolved depends_on.
        return tuple(getattr(rev, "_all_down_revisions", rev.down_revision or ()) or ())

    applied = _reachable(current, follows)
    known = {rev.revision for rev in script.walk_revisions()}
    return sorted(applied), sorted(known - applied)


def _reachable(current: Iterable[str], follows: Callable[[str], Iterable[str] | None]) -> set[str]:
    """The revisions applied: the stored leaves and everything they follow (``follows`` gives
    a revision's down revisions and dependencies, None for one the code does not know)."""
    applied: set[str] = set()
    todo = list(current)
    while todo:
        rev = todo.pop()
        if rev in applied:
            continue
        before = follows(rev)
        if before is None:
            continue
        applied.add(rev)
        todo.extend(before)
    return applied


def not_set_up(engine: Engine, plugins: KioskPlugins | None = None) -> str | None:
    """What to tell the person starting a kiosk or desk on a database ``kiosk init`` has not
    set up (every tap and login would fail on a missing table), or None when it is current."""
    missing = _missing_fast(engine, plugins)
    if missing is None:  # a version file the quick reading does not understand: ask Alembic
        _applied, missing = status(engine, plugins)
    if not missing:
        return None
    where = engine.url.render_as_string(hide_password=True)
    return (
        f"kiosk: the database {where} is not set up (missing: {', '.join(missing)}). "
        "Run 'kiosk init' (add --demo for the demo estate) with the same config, "
        "or pass the kiosk's config with -c."
    )


def _revisions(folders: list[str]) -> dict[str, tuple[str, ...]] | None:
    """revision -> the revisions it follows (down revisions and ``depends_on``), read from the
    version files' assignments without importing Alembic; None when a file is not plain."""
    graph: dict[str, tuple[str, ...]] = {}
    for folder in folders:
        for path in sorted(Path(folder).glob("*.py")):
            values: dict[str, object] = {}
            for node in ast.parse(path.read_text("utf-8")).body:
                target: ast.expr
                value: ast.expr | None
                if isinstance(node, ast.AnnAssign):
                    target, value = node.target, node.value
                elif isinstance(node, ast.Assign):
                    target, value = node.targets[0], node.value
                else:
                    continue
                if (
                    isinstance(target, ast.Name)
                    and target.id in ("revision", "down_revision", "depends_on")
                    and value is not None
                ):
                    try:
                        values[target.id] = ast.literal_eval(value)
                    except ValueError:
                        return None
            rev = values.get("revision")
            if not isinstance(rev, str):
                return None
            follows: list[str] = []
            for key in ("down_revision", "depends_on"):
                v = values.get(key)
                follows += [v] if isinstance(v, str) else list(v or ())  # type: ignore[call-overload]
            graph[rev] = tuple(follows)
    return graph


def _missing_fast(engine: Engine, plugins: KioskPlugins | None) -> list[str] | None:
    """:func:`status`'s missing revisions from the version table and the files (no Alembic
    import: a kiosk's start stays quick); None when the files need Alembic to be read."""
    folders, _models = plugin_sources(plugins)
    graph = _revisions([str(HERE / "versions"), *folders])
    if graph is None:
        return None
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return sorted(graph)
        current = [r for (r,) in conn.execute(text("SELECT version_num FROM alembic_version"))]
    return sorted(set(graph) - _reachable(current, graph.get))
