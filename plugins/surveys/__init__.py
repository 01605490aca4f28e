"""Satisfaction surveys (满意度调查): set by the manager, answered once per household at the
kiosk, coverage and results at the desk and in ``kiosk report surveys``; low scores become desk
alerts to follow up.

What it puts on the kiosk and the desk is declared in ``plugin.toml``; hook
implementations only here, and the service and screens are imported inside the hooks.
"""

from __future__ import annotations

from kiosk.plugins import plugin_hooks

globals().update(plugin_hooks(__name__))
