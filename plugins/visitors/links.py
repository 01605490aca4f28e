"""The ``visit`` notification link (``kiosk serve --links``): the host sees who is waiting and
approves or declines, as the resident the link was sent to."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kiosk.errors import Refused
from kiosk.hookspecs import LinkAction, LinkPage
from kiosk.identity import Actor

if TYPE_CHECKING:
    from kiosk.context import KioskContext

Translate = Callable[[str], str]
DECIDED = "The visit was already decided or has expired."


def _ids(subject: str) -> tuple[int, int]:
    """(visit id, host resident id) from ``visit:<id>:r:<resident>``."""
    parts = subject.split(":")
    return int(parts[1]), int(parts[3])


def show(ctx: KioskContext, subject: str, unit_id: int | None, t: Translate) -> LinkPage:
    from plugins.visitors import service

    try:
        view = service.visit_status(ctx, _ids(subject)[0])
    except Exception:  # noqa: BLE001 - an unknown visit is a bad link
        return LinkPage(found=False)
    if view.status != "pending":
        return LinkPage(t("Visitor request"), (t(DECIDED),))
    return LinkPage(
        t("Visitor request"),
        (f"{view.name} ({view.party_size}) — {view.purpose}",),
        choices=(("approve", t("Approve")), ("decline", t("Decline"))),
    )


def answer(
    ctx: KioskContext, subject: str, unit_id: int | None, choice: str, t: Translate
) -> LinkPage:
    from plugins.visitors import service

    visit_id, resident_id = _ids(subject)
    host = Actor("resident", resident_id, "", frozenset(), unit_id=unit_id)
    approve = choice == "approved"
    try:
        service.decide(ctx, host, visit_id, approve, note="answered through a notification link")
    except Refused:
        return LinkPage(t("Visitor request"), (t(DECIDED),))
    done = (
        "Visitor approved. The visitor gets a pass at the kiosk."
        if approve
        else "Visitor declined."
    )
    return LinkPage(t("Visitor request"), (t(done),))


def link_actions() -> list[LinkAction]:
    return [LinkAction("visit", show, answer)]
