"""Signatures on the parcels' pad: the core's checks (:mod:`kiosk.signatures`) with the
parcels' refusal codes (``parcels.signature_missing``)."""

from __future__ import annotations

from typing import Any

from kiosk import signatures
from kiosk.signatures import MIN_EXTENT, MIN_POINTS, Strokes, is_meaningful, to_png

__all__ = ["MIN_EXTENT", "MIN_POINTS", "Strokes", "clean_strokes", "is_meaningful",
           "require_signature", "to_png"]  # fmt: skip


def clean_strokes(raw: Any) -> Strokes:
    return signatures.clean_strokes(raw, "parcels")


def require_signature(raw: Any) -> Strokes:
    return signatures.require_signature(raw, "parcels")
