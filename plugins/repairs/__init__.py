"""Repair requests, complaints and suggestions (维修服务单, 投诉).

What it puts on the kiosk and the desk is declared in ``plugin.toml``; hook
implementations only here, and the service, CLI and screens are imported inside the hooks.
"""

from __future__ import annotations

from kiosk.plugins import plugin_hooks

globals().update(plugin_hooks(__name__))
