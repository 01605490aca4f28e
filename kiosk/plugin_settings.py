"""A plugin's ``[plugins.<name>]`` settings, read one way by every service.

A service declares its rules as a frozen dataclass whose defaults are the procedure's (a
field that must be more than 0, or one of a few words, says so with :func:`at_least` or
:func:`one_of`); it reads them with :func:`rules_from` (or one value with
:func:`whole_number`). A value of the wrong kind is refused with the code ``<plugin>.config`` and a message naming the key, so a
bad configuration is one clear line, not a traceback.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from kiosk.errors import Refused

if TYPE_CHECKING:
    from kiosk.context import KioskContext

T = TypeVar("T")


def _refused(plugin: str, name: str, message: str, value: Any, **params: Any) -> Refused:
    return Refused(f"{plugin}.config", message, plugin=plugin, name=name, value=value, **params)


def whole_number(
    plugin: str, raw: Mapping[str, Any], name: str, default: int, minimum: int = 0
) -> int:
    """``[plugins.<plugin>] <name>``: a whole number (not a bool, not text) of at least
    ``minimum``; ``default`` when the key is not set."""
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _refused(
            plugin,
            name,
            "plugins.{plugin}.{name} must be a whole number >= {minimum}, not {value!r}.",
            value,
            minimum=minimum,
        )
    return value


def at_least(minimum: int, *, default: T) -> T:
    """A rules field of whole numbers (one, or a tuple of them) that may be set no lower than
    ``minimum``."""
    return dataclasses.field(default=default, metadata={"minimum": minimum})


def one_of(choices: tuple[str, ...], *, default: str) -> str:
    """A rules field of text that may be set only to one of ``choices``."""
    return dataclasses.field(default=default, metadata={"choices": choices})


def _one(plugin: str, name: str, value: Any, like: Any, least: int, choices: Any) -> Any:
    """``value`` checked to be of the kind of ``like`` (a whole number or text)."""
    if isinstance(like, int):
        return whole_number(plugin, {name: value}, name, like, least)
    if choices is not None and value not in choices:
        raise _refused(
            plugin,
            name,
            "plugins.{plugin}.{name} must be one of {expected}, not {value!r}.",
            value,
            expected=", ".join(choices),
        )
    if not isinstance(value, str):
        raise _refused(plugin, name, "plugins.{plugin}.{name} must be text, not {value!r}.", value)
    return value


def rules_from(
    cls: type[T],
    plugin: str,
    raw: Mapping[str, Any],
    **given: Any,
) -> T:
    """``cls`` (a frozen dataclass of rules with a default for every field) from ``raw``, the
    ``[plugins.<plugin>]`` section (or a table inside it): each field the section sets, else
    the default. The default says what a value must be: a whole number >= 0 (or the minimum
    of :func:`at_least`), text (one of the choices of :func:`one_of`), or a list of either (a
    tuple). Fields passed in ``given`` are not read (a nested rule, a computed table), nor
    fields without a plain default (a default factory)."""
    values: dict[str, Any] = dict(given)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in given or f.name not in raw or f.default is dataclasses.MISSING:
            continue
        value, default = raw[f.name], f.default
        least, allowed = f.metadata.get("minimum", 0), f.metadata.get("choices")
        if not isinstance(default, tuple | int | str):
            raise TypeError(f"{cls.__name__}.{f.name}: pass it in given=")
        if not isinstance(default, tuple):
            values[f.name] = _one(plugin, f.name, value, default, least, allowed)
        elif isinstance(value, list | tuple):
            like = default[0] if default else ""
            values[f.name] = tuple(_one(plugin, f.name, v, like, least, allowed) for v in value)
        else:
            message = "plugins.{plugin}.{name} must be a list, not {value!r}."
            raise _refused(plugin, f.name, message, value)
    return cls(**values)


class PluginRules:
    """Base of a plugin's rules dataclass read whole from ``[plugins.<PLUGIN>]``."""

    PLUGIN: ClassVar[str]

    @classmethod
    def of(cls, ctx: KioskContext) -> Self:
        return rules_from(cls, cls.PLUGIN, ctx.settings.plugin(cls.PLUGIN))
