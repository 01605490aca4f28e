"""Plugin isolation inside the running app.

Textual ends the app on any unhandled exception in a widget's handler. A kiosk must not go
dark because one service's screen or desk panel has a bug: an exception raised from a plugin's
code is recorded as a :class:`kiosk.plugins.PluginFailure` (shown on the desk and by
``kiosk doctor``), logged with its traceback, and the person is told to use the desk; an
exception from the core itself is the shell's to handle (:mod:`kiosk.ui.guard`).

A person's bad input is not a broken plugin: a :class:`kiosk.errors.Refused` that escaped a
handler, a ``ValueError`` (a parser's way of saying no, ``UnicodeError`` included) or a markup
error (text shown with markup by mistake) is a refusal: logged, the person told, the plugin
kept (see :func:`is_input_refusal`).
"""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

# The database's failures are the core's to classify (kiosk.plugins keeps a plugin through an
# outage); re-exported here, where the app's handlers look for them.
from kiosk.db_errors import error_chain as _chain
from kiosk.db_errors import is_database_busy, is_database_outage

__all__ = ["is_database_busy", "is_database_outage", "is_input_refusal", "plugin_of"]

log = logging.getLogger(__name__)


def plugin_of(error: BaseException, ctx: Any) -> str | None:
    """The name of the plugin whose code raised ``error``, if any."""
    if ctx is None or ctx.plugins is None:
        return None
    roots: dict[str, str] = {}
    for name, plugin in ctx.plugins.pm.list_name_plugin():
        # A plugin is usually a module; it can also be an object (its class's module then).
        module_name = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__module__
        module = sys.modules.get(module_name)
        path = getattr(module, "__file__", None)
        if path:
            roots[str(Path(path).parent)] = name
    for current in _chain(error):
        for frame in reversed(traceback.extract_tb(current.__traceback__)):
            for root, name in roots.items():
                if frame.filename.startswith(root + "/"):
                    return name
    return None


def is_input_refusal(error: BaseException) -> bool:
    """Whether ``error`` says "this input cannot be used" rather than "this code is broken"."""
    from rich.errors import MarkupError as RichMarkupError
    from textual.markup import MarkupError

    from kiosk.errors import Refused

    wrapped = getattr(error, "error", None)  # textual's WorkerFailed
    if isinstance(wrapped, BaseException):
        error = wrapped
    return isinstance(error, Refused | ValueError | MarkupError | RichMarkupError)


def broken_pump(error: BaseException) -> Any:
    """The widget, screen or app whose message loop caught ``error`` (and so stopped), if known.

    Textual calls ``App._handle_exception`` from inside the loop that caught the error and then
    leaves that loop: the first frame of the traceback is that loop's, ``self`` its owner.
    """
    tb = error.__traceback__
    return tb.tb_frame.f_locals.get("self") if tb is not None else None


def refusal_text(error: BaseException) -> str:
    """What to tell the person about input that was refused."""
    from kiosk.errors import Refused
    from kiosk.i18n import _

    wrapped = getattr(error, "error", None)
    if isinstance(wrapped, Refused):
        error = wrapped
    if isinstance(error, Refused):
        return error.render(_)
    return _("This input cannot be used. Please check it and try again, or see the desk.")


def handle_plugin_exception(app: Any, error: Exception) -> bool:
    """Contain ``error`` when a plugin raised it; True when handled (the app keeps running).

    A lost database is no plugin's fault: the plugin stays, and the app's ``database_lost()``
    (out of service on the kiosk, a message on the desk) tells the person what happens.
    """
    if is_database_outage(error):
        log.warning("database lost inside the app: %s", error)
        lost = getattr(app, "database_lost", None)
        if lost is not None:
            app.call_later(lost)
            return True
        return False
    if is_input_refusal(error) and broken_pump(error) is not app:
        log.warning("input refused inside the app: %r", error, exc_info=error)
        refuse = getattr(app, "refuse_input", None)
        if refuse is None:
            app.notify(refusal_text(error), severity="warning")
        else:
            app.call_later(refuse, refusal_text(error), broken_pump(error))
        return True
    name = plugin_of(error, getattr(app, "ctx", None))
    if name is None:
        return False
    from kiosk.i18n import _

    # Disabled like a plugin whose hook raised: its tiles and panels go away until restart.
    app.ctx.plugins.disable(name, "screen", error)
    app.notify(_("This service is not available now. Please see the desk."), severity="error")
    recover = getattr(app, "recover_from_plugin_error", None)
    if recover is not None:
        app.call_later(recover)
    return True
