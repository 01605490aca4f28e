"""Keep the garbage collector's full passes off the kiosk's taps.

A kiosk or desk process holds about 160,000 long-lived objects once it has started: the ORM's
mappers and compiled statements, every plugin, the UI. CPython's full (generation 2) collection
walks all of them; measured on this project's 2-core reference machine it took 100-180 ms, and
it strikes in the middle of whatever runs then -- a card tap, or a transaction holding the
locks that other kiosks are waiting for (``kiosk bench concurrency`` showed both).

Those objects live as long as the process, so after start-up they are collected once and then
frozen (:func:`gc.freeze`): later full passes look only at what was made since.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def freeze_start_up_objects() -> int:
    """Collect once, then move every object alive now out of the collector's sight.

    Call it when start-up is over (the database reached, plugins loaded, first screens shown).
    Returns how many objects are frozen.
    """
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("froze %d start-up objects", frozen)
    return frozen
