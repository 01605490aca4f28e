"""Key custody (钥匙委托管理): keys of vacant units kept at the desk, every handover signed.

What it puts on the kiosk and the desk is declared in ``plugin.toml``; hook
implementations only here, and the service and screens are imported inside the hooks.
"""

from __future__ import annotations

from kiosk.plugins import plugin_hooks

globals().update(plugin_hooks(__name__))
