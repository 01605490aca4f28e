"""Parking IC cards (停车): monthly rentals, cards issued at the desk, temporary fees.

What it puts on the kiosk and the desk is declared in ``plugin.toml``; hook
implementations only here, and the service, screens and CLI are imported inside the hooks.
"""

from __future__ import annotations

from typing import Any

from kiosk.hookspecs import hookimpl
from kiosk.plugins import plugin_hooks

globals().update(plugin_hooks(__name__))


@hookimpl
def kiosk_card_presented(card: Any, ctx: Any) -> Any:
    """A parking card tap: its validity (and renewal), or a refusal for a lost/returned card."""
    if getattr(card, "kind", "") != "parking":
        return None
    from plugins.parking.taps import card_outcome

    return card_outcome(ctx, card.uid, getattr(card, "card_id", None))
