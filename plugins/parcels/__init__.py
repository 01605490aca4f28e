"""Parcels and mail (邮件签收) and item storage (物品寄存).

What it puts on the kiosk and the desk is declared in ``plugin.toml``; hook
implementations only here, and the service, CLI and screens are imported inside the hooks.
"""

from __future__ import annotations

from kiosk.plugins import plugin_hooks

# The demo pickup code and proxy of 3-1205 (seeded by .demo, used by the scenarios).
DEMO_CODE = "246810"
DEMO_PROXY = "李阿姨"
globals().update(plugin_hooks(__name__))
