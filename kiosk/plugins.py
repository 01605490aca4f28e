"""Loading plugins and calling their hooks, with isolation.

Built-in and third-party plugins both come from the ``kiosk.plugins`` entry-point group. A
plugin that fails to import, implements an unknown hook, or whose hook raises is recorded as a
:class:`PluginFailure`, unregistered, and the other services keep working. The desk and
``kiosk doctor`` show the failures.
"""

from __future__ import annotations

import importlib
import logging
import sys
import tomllib
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from kiosk import hookspecs

log = logging.getLogger(__name__)
GROUP = "kiosk.plugins"


@dataclass
class PluginFailure:
    """Why a plugin was disabled."""

    plugin: str
    stage: str  # "import", "validate" or the hook's name
    error: str
    detail: str = ""


@dataclass
class PluginInfo:
    name: str
    module: str
    version: str | None
    hooks: list[str]
    builtin: bool


@dataclass
class KioskPlugins:
    """The loaded plugins; call hooks through :meth:`call` / :meth:`first`, never raw pluggy."""

    pm: pluggy.PluginManager
    failures: list[PluginFailure] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    _dists: dict[str, str | None] = field(default_factory=dict)

    def register(self, module: ModuleType | object, name: str, version: str | None = None) -> bool:
        """Register one plugin object; unknown hooks are rejected here (reported, not fatal)."""
        try:
            self.pm.register(module, name=name)
            # Reject hookimpls that match no hookspec, like tox 4: a typo is a load-time error.
            for hook_caller in self.pm.hook.__dict__.values():
                if isinstance(hook_caller, pluggy.HookCaller) and not hook_caller.has_spec():
                    for impl in hook_caller.get_hookimpls():
                        if impl.plugin_name == name:
                            raise pluggy.PluginValidationError(
                                module, f"unknown hook {hook_caller.name!r} (typo?)"
                            )
        except Exception as exc:  # a broken plugin must never take the kiosk down
            self.disable(name, "validate", exc, plugin=module)
            return False
        self._dists[name] = version
        return True

    def disable(
        self, name: str, stage: str, exc: BaseException, plugin: object | None = None
    ) -> None:
        """The one way a failing plugin goes: the failure is recorded (the desk and ``kiosk
        doctor`` show it) and the plugin unregistered, so its tiles, panels and hooks are gone
        until the next start. ``plugin`` is the object when it may not be registered yet."""
        self._fail(name, stage, exc)
        found = plugin if plugin is not None else self.pm.get_plugin(name)
        if found is not None and self.pm.is_registered(found):
            self.pm.unregister(found)

    def _fail(self, name: str, stage: str, exc: BaseException) -> None:
        log.error("plugin %s disabled (%s): %s", name, stage, exc, exc_info=exc)
        self.failures.append(
            PluginFailure(
                plugin=name,
                stage=stage,
                error=f"{type(exc).__name__}: {exc}",
                detail="".join(traceback.format_exception(exc)),
            )
        )

    def _answers(self, hook: str, kwargs: dict[str, Any]) -> Iterator[Any]:
        """Each plugin's non-None answer to ``hook``, in registration order; a plugin whose
        hook raises is disabled and skipped. The database going away (or too busy to answer)
        is not the plugin's fault: that error goes to the caller, whose outage path it is,
        and the plugin stays (disabled, it would be gone until the next start)."""
        caller: pluggy.HookCaller = getattr(self.pm.hook, hook)
        # pluggy calls the last registered first; keep registration order for stable output.
        for impl in list(reversed(caller.get_hookimpls())):
            args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
            try:
                value = impl.function(**args)
            except Exception as exc:
                from kiosk.db_errors import is_database_busy, is_database_outage

                if is_database_outage(exc) or is_database_busy(exc):
                    raise
                self.disable(impl.plugin_name, hook, exc)
                continue
            if value is not None:
                yield value

    def call(self, hook: str, **kwargs: Any) -> list[Any]:
        """Call ``hook`` on every plugin, isolating each; returns the non-None results."""
        return list(self._answers(hook, kwargs))

    def call_flat(self, hook: str, **kwargs: Any) -> list[Any]:
        """Like :meth:`call` for hooks returning lists: one flat list."""
        return [item for result in self.call(hook, **kwargs) for item in result]

    def first(self, hook: str, **kwargs: Any) -> Any:
        """Call a firstresult hook with isolation: the first non-None answer, or None (the
        plugins after it are not asked)."""
        return next(self._answers(hook, kwargs), None)

    def info(self) -> list[PluginInfo]:
        """Loaded plugins with their module, distribution version and implemented hooks."""
        out = []
        for name, plugin in sorted(self.pm.list_name_plugin()):
            hooks = sorted(c.name for c in self.pm.get_hookcallers(plugin) or [])
            module = getattr(plugin, "__name__", type(plugin).__name__)
            out.append(
                PluginInfo(
                    name=name,
                    module=module,
                    version=self._dists.get(name),
                    hooks=hooks,
                    builtin=module.startswith(("plugins.", "kiosk.")),
                )
            )
        return out


def _entry_points() -> list[EntryPoint]:
    return sorted(entry_points(group=GROUP), key=lambda ep: ep.name)


def load_plugins(
    disabled: tuple[str, ...] | list[str] = (), extra: dict[str, Any] | None = None
) -> KioskPlugins:
    """Load every plugin of the entry-point group except those in ``disabled``.

    ``extra`` registers plugin objects directly (tests, scenarios).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    plugins = KioskPlugins(pm=pm)
    seen: set[str] = set()
    for ep in _entry_points():
        if ep.name in seen:
            continue
        seen.add(ep.name)
        if ep.name in disabled:
            plugins.disabled.append(ep.name)
            continue
        try:
            module = ep.load()
        except Exception as exc:
            plugins._fail(ep.name, "import", exc)
            continue
        version = ep.dist.version if ep.dist is not None else None
        plugins.register(module, ep.name, version)
    for name, obj in (extra or {}).items():
        plugins.register(obj, name)
    return plugins


# -- for plugin packages ------------------------------------------------------------------------


def lazy(target: str) -> Callable[..., Any]:
    """``"package.module:name"`` as a function that imports the module when it is first called
    and passes its arguments on: a tile's ``screen`` or a desk panel's ``widget`` named without
    importing Textual (or the plugin's services) while the kiosk loads its plugins."""
    module, _, name = target.partition(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{target}, imported when called."
    return call


def plugin_package(
    package: str,
) -> tuple[Callable[[], list[str]], Callable[[], list[str]]]:
    """What a plugin package laid out like the built-in ones gets from the core: its message
    catalog (``<package>/locale``, domain = the package's last name) registered now, so that
    every screen, CLI and test that loads the plugin speaks Chinese without waiting for
    ``kiosk_startup`` (parsing one small .po file is cheap), and its ``kiosk_models``
    (``<package>.models``) and ``kiosk_migrations`` (``<package>/migrations/versions``). In the
    package's ``__init__.py``::

        kiosk_models, kiosk_migrations = plugin_package(__name__)
    """
    from kiosk.i18n import register_catalog

    here = Path(sys.modules[package].__file__ or "").parent
    register_catalog(here / "locale", _short(package))
    versions = str(here / "migrations" / "versions")

    @hookspecs.hookimpl
    def kiosk_models() -> list[str]:
        return [f"{package}.models"]

    @hookspecs.hookimpl
    def kiosk_migrations() -> list[str]:
        return [versions]

    return kiosk_models, kiosk_migrations


def _short(package: str) -> str:
    """A plugin package's own name (``plugins.repairs`` -> ``repairs``): its catalog's domain
    and the id of its tile and desk panel unless they say otherwise."""
    return package.rpartition(".")[2]


def _target(package: str, where: str | Callable[..., Any]) -> Callable[..., Any]:
    """``"module:name"`` of ``package`` as a :func:`lazy` function; a callable as it is."""
    return lazy(f"{package}.{where}") if isinstance(where, str) else where


@dataclass(frozen=True)
class _Declared:
    """What a plugin package's tile and desk panel both state: a title (a msgid), the place
    among the others, and an id (the package's name unless given)."""

    title: str
    _: KW_ONLY
    order: int = 100
    id: str = ""

    def _common(self, package: str) -> dict[str, Any]:
        return {"id": self.id or _short(package), "title": self.title, "order": self.order}

    def build(self, package: str) -> Any:
        """The hook's own object (a Tile, a DeskPanel, a Register) for ``package``."""
        raise NotImplementedError


@dataclass(frozen=True)
class PluginTile(_Declared):
    """A :class:`~kiosk.hookspecs.Tile` as a plugin package declares it to :func:`plugin_hooks`,
    stating only what is its own: ``screen`` is ``"module:name"`` in the package (imported when
    the tile is pressed) or the callable itself; ``id`` is the package's name unless given; the
    tile is a resident's unless ``audience`` says otherwise, and a resident's tile asks who they
    are first unless ``needs_resident=False`` (``None``: whether the audience is residents)."""

    screen: str | Callable[..., Any]
    _: KW_ONLY
    icon: str = ""
    audience: hookspecs.Audience = "resident"
    needs_resident: bool | None = None

    def build(self, package: str) -> hookspecs.Tile:
        needs = self.audience == "resident" if self.needs_resident is None else self.needs_resident
        screen = _target(package, self.screen)
        return hookspecs.Tile(
            **self._common(package),
            screen=screen,
            audience=self.audience,
            icon=self.icon,
            needs_resident=needs,
        )


@dataclass(frozen=True)
class PluginPanel(_Declared):
    """A :class:`~kiosk.hookspecs.DeskPanel` as a plugin package declares it to
    :func:`plugin_hooks`: ``widget`` is ``"module:name"`` in the package (imported when the
    panel is shown), ``id`` the package's name unless given."""

    widget: str | Callable[..., Any]
    _: KW_ONLY
    roles: tuple[str, ...] = ()

    def build(self, package: str) -> hookspecs.DeskPanel:
        widget = _target(package, self.widget)
        return hookspecs.DeskPanel(**self._common(package), widget=widget, roles=self.roles)


@dataclass(frozen=True)
class PluginRegister(_Declared):
    """A :class:`~kiosk.hookspecs.Register` as a plugin package declares it to
    :func:`plugin_hooks`: ``read`` is ``"module:name"`` in the package (imported when the
    register is first read), ``id`` the package's name unless given."""

    read: str | Callable[..., Any]
    _: KW_ONLY
    roles: tuple[str, ...] = ()

    def build(self, package: str) -> hookspecs.Register:
        read = _target(package, self.read)
        return hookspecs.Register(**self._common(package), read=read, roles=self.roles)


# The modules of a package laid out like the built-in ones, by the name ``plugin_hooks`` knows
# them by in ``standard``: which function of which module answers which hook.
STANDARD_HOOKS = {
    "commands": ("register_commands", "cli:register"),
    "scenarios": ("scenarios", "scenarios:scenarios"),
    "household": ("household_sections", "household:household_section"),
    "badges": ("tile_badges", "household:tile_badges"),
    "purge": ("purge", "service:purge_in"),
    "figures": ("report_figures", "figures:report_figures"),
    "demo": ("seed_demo", "demo:seed"),
    "links": ("link_actions", "links:link_actions"),
}


def plugin_hooks(
    package: str,
    standard: Iterable[str] = (),
    *,
    tiles: Sequence[hookspecs.Tile | PluginTile] = (),
    desk_panels: Sequence[hookspecs.DeskPanel | PluginPanel] = (),
    alert_kinds: Mapping[str, str] | None = None,
    registers: Sequence[hookspecs.Register | PluginRegister] = (),
    **targets: str,
) -> dict[str, Callable[..., Any]]:
    """The hooks a plugin package answers the way every other does, ready for the package's
    namespace: what :func:`plugin_package` gives (``kiosk_models``, ``kiosk_migrations``, the
    catalog), the fixed ``tiles``, ``desk_panels``, ``registers`` and ``alert_kinds`` (declared
    as :class:`PluginTile`, :class:`PluginPanel` and :class:`PluginRegister`, which name their
    screen, widget or reading function in the package; a ready :class:`~kiosk.hookspecs.Tile` or ``DeskPanel`` is taken as it is), and the
    hooks that call a function of one of the package's modules, imported when the hook is first
    called (loading the plugin imports none of them). In the package's ``__init__.py``::

        globals().update(
            plugin_hooks(__name__, ("commands", "purge"), tiles=[PluginTile(N_("…"), "screens:…")])
        )

    ``standard`` names the modules laid out like the built-in ones (:data:`STANDARD_HOOKS`);
    a keyword names the function ``"module:name"`` of a hook, as it is called:

    - ``register_commands``: ``register(cli)`` (standard ``commands``: ``cli:register``);
    - ``scenarios``: ``scenarios()``, the list of scenarios;
    - ``household_sections``: ``household_section(ctx, unit_code)``, the one section;
    - ``tile_badges``: ``tile_badges(ctx, actor)``, ``{tile id: mark}`` for the resident;
    - ``purge``: ``purge_in(session, ctx, now, dry_run)``, the purge counts;
    - ``report_figures``: ``report_figures(ctx, period)``;
    - ``seed_demo``: ``seed(session, ctx)``, the lines to print;
    - ``link_actions``: ``link_actions()``;
    - ``workload``: a class whose ``ops()`` are the workload's operations;
    - ``startup_sweep``: ``sweep(ctx)`` at start-up (``kiosk_startup``), which must not stop the
      kiosk: its failure is logged.

    Hooks a package answers in its own way stay ``@hookimpl`` functions beside this.

    What a package declares as data it may write in its ``plugin.toml`` instead
    (:func:`read_manifest`): the built-in plugins do, and their ``__init__.py`` is
    ``globals().update(plugin_hooks(__name__))`` and their own hooks. The arguments add to it.
    """
    _known_hooks(targets, f"plugin_hooks({package!r})")  # the manifest's own were checked
    manifest = read_manifest(package)
    standard = [*manifest.pop("hooks", ()), *standard]
    tiles = [*manifest.pop("tiles", ()), *tiles]
    desk_panels = [*manifest.pop("desk_panels", ()), *desk_panels]
    registers = [*manifest.pop("registers", ()), *registers]
    alert_kinds = {**manifest.pop("alert_kinds", {}), **(alert_kinds or {})}
    targets = {**manifest, **targets}
    for name in standard:
        keyword, where = STANDARD_HOOKS[name]
        targets.setdefault(keyword, where)
    models, migrations = plugin_package(package)
    hooks: dict[str, Callable[..., Any]] = {
        "kiosk_models": models,
        "kiosk_migrations": migrations,
    }

    def hook(fn: Callable[..., Any]) -> None:
        fn.__module__ = package
        fn.__qualname__ = fn.__name__
        hooks[fn.__name__] = hookspecs.hookimpl(fn)

    call = {keyword: _target(package, where) for keyword, where in targets.items()}
    for keyword, target in call.items():
        hook(_FORWARDS[keyword](target))
    for name, declared in (
        ("kiosk_tiles", tiles), ("kiosk_desk_panels", desk_panels), ("kiosk_registers", registers)
    ):  # fmt: skip
        if declared:
            built = tuple(d.build(package) if isinstance(d, _Declared) else d for d in declared)
            hook(_fixed_list(name, built))
    if alert_kinds:
        kinds = dict(alert_kinds)

        def kiosk_alert_kinds() -> dict[str, str]:
            return dict(kinds)

        hook(kiosk_alert_kinds)
    return hooks


MANIFEST = "plugin.toml"
# The tables of a manifest that are lists of declarations, and what each entry becomes.
_MANIFEST_LISTS: dict[str, type[_Declared]] = {
    "tiles": PluginTile,
    "desk_panels": PluginPanel,
    "registers": PluginRegister,
}


def read_manifest(package: str) -> dict[str, Any]:
    """A plugin package's ``plugin.toml`` as :func:`plugin_hooks` takes it (empty when the
    package has none): ``hooks``, the standard modules (:data:`STANDARD_HOOKS`); ``[[tiles]]``,
    ``[[desk_panels]]`` and ``[[registers]]``, each entry the fields of a :class:`PluginTile`,
    :class:`PluginPanel` or :class:`PluginRegister` (``title`` an English msgid, ``screen``,
    ``widget`` or ``read`` a ``"module:name"`` of the package); ``[alert_kinds]``, kind =
    msgid; and any hook keyword of :func:`plugin_hooks` = ``"module:name"`` (``workload``,
    ``startup_sweep`` ...). A manifest that is not TOML, or an entry with a field its kind does
    not have, is a :class:`TypeError` naming the file: the plugin fails to load, and says why."""
    path = Path(sys.modules[package].__file__ or "").parent / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text("utf-8"))
        for key, kind in _MANIFEST_LISTS.items():
            data[key] = [_declared(kind, entry) for entry in data.get(key, ())]
    except (tomllib.TOMLDecodeError, TypeError, ValueError) as exc:
        raise TypeError(f"{path}: {exc}") from None
    hooks, kinds = data.get("hooks", []), data.get("alert_kinds", {})
    if not isinstance(hooks, list) or set(hooks) - set(STANDARD_HOOKS):
        raise TypeError(f"{path}: hooks must list some of {sorted(STANDARD_HOOKS)}")
    if not isinstance(kinds, dict) or not all(isinstance(v, str) for v in kinds.values()):
        raise TypeError(f"{path}: [alert_kinds] must map each kind to its title")
    targets = {k: v for k, v in data.items() if k not in ("hooks", "alert_kinds", *_MANIFEST_LISTS)}
    _known_hooks(targets, str(path))
    if not all(isinstance(v, str) and ":" in v for v in targets.values()):
        raise TypeError(f'{path}: a hook names its function as "module:name"')
    return data


def _known_hooks(keywords: Iterable[str], where: str) -> None:
    """A hook keyword of :func:`plugin_hooks` (or a manifest's key) that no hook answers is a
    :class:`TypeError` naming where it was written."""
    unknown = sorted(set(keywords) - set(_FORWARDS))
    if unknown:
        raise TypeError(f"{where}: no hook is called {', '.join(unknown)}")


def _declared(kind: type[_Declared], entry: Any) -> _Declared:
    """One ``[[tiles]]`` (``[[desk_panels]]``, ``[[registers]]``) entry of a manifest."""
    if not isinstance(entry, dict):
        raise TypeError(f"expected a table of {kind.__name__} fields, got {entry!r}")
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}
    declared = kind(**fields)
    target = fields.get("screen", fields.get("widget", fields.get("read")))
    if not isinstance(declared.title, str) or not (isinstance(target, str) and ":" in target):
        raise TypeError(f'a {kind.__name__} needs a title and "module:name": {entry!r}')
    return declared


def _fixed_list(name: str, items: tuple[Any, ...]) -> Callable[[Any], list[Any]]:
    """The hook ``name(ctx)`` that answers ``items`` (declared tiles, panels, registers)."""

    def answer(ctx: Any) -> list[Any]:
        return list(items)

    answer.__name__ = name
    return answer


def _register_commands(register: Callable[..., Any]) -> Callable[..., Any]:
    def kiosk_register_commands(cli: Any) -> None:
        register(cli)

    return kiosk_register_commands


def _tile_badges(badges: Callable[..., Any]) -> Callable[..., Any]:
    def kiosk_tile_badges(ctx: Any, actor: Any) -> dict[str, str]:
        return dict(badges(ctx, actor))

    return kiosk_tile_badges


def _scenarios(scenarios: Callable[..., Any]) -> Callable[..., Any]:
    def kiosk_scenarios() -> list[Any]:
        return list(scenarios())

    return kiosk_scenarios


def _household_sections(section: Callable[..., Any]) -> Callable[..., Any]:
    def kiosk_household_sections(ctx: Any, unit_code: str) -> list[Any]:
        return [section(ctx, unit_code)]

    return kiosk_household_sections


def _purge(purge_in: Callable[..., Any]) -> Callable[..., Any]:
    def kiosk_purge(ctx: Any, session: Any, now: Any, dry_run: bool) -> Any:
        return purge_in(session, ctx, now, dry_run)

    return kiosk_purge


def _report_figures(figures: Callable[..., Any]) -> Callable[..., Any]:
    def kiosk_report_figures(ctx: Any, period: Any) -> Any:
        return figures(ctx, period)

    return kiosk_report_figures


def _seed_demo(seed: Callable[..., Any]) -> Callable[..., Any]:
    def kiosk_seed_demo(session: Any, ctx: Any) -> Any:
        return seed(session, ctx)

    return kiosk_seed_demo


def _link_actions(actions: Callable[..., Any]) -> Callable[..., Any]:
    def kiosk_link_actions(ctx: Any) -> Any:
        return actions()

    return kiosk_link_actions


def _workload(race: Callable[..., Any]) -> Callable[..., Any]:
    def kiosk_workload(ctx: Any) -> Any:
        return race().ops()

    return kiosk_workload


def _startup_sweep(sweep: Callable[..., Any]) -> Callable[..., Any]:
    def kiosk_startup(ctx: Any) -> None:
        try:
            sweep(ctx)
        except Exception:  # a provider or the database down must not stop the kiosk
            log.exception("%s at start-up failed", sweep.__name__)

    return kiosk_startup


# How each hook of ``plugin_hooks`` calls the package's function it names.
_FORWARDS: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    "register_commands": _register_commands,
    "scenarios": _scenarios,
    "household_sections": _household_sections,
    "tile_badges": _tile_badges,
    "purge": _purge,
    "report_figures": _report_figures,
    "seed_demo": _seed_demo,
    "link_actions": _link_actions,
    "workload": _workload,
    "startup_sweep": _startup_sweep,
}
