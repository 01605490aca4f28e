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
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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
        hook raises is disabled and skipped."""
        caller: pluggy.HookCaller = getattr(self.pm.hook, hook)
        # pluggy calls the last registered first; keep registration order for stable output.
        for impl in list(reversed(caller.get_hookimpls())):
            args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
            try:
                value = impl.function(**args)
            except Exception as exc:
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
    register_catalog(here / "locale", package.rpartition(".")[2])
    versions = str(here / "migrations" / "versions")

    @hookspecs.hookimpl
    def kiosk_models() -> list[str]:
        return [f"{package}.models"]

    @hookspecs.hookimpl
    def kiosk_migrations() -> list[str]:
        return [versions]

    return kiosk_models, kiosk_migrations
