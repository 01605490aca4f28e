"""A field that starts filled in ("24", "1", today's date) never shows its placeholder: it must
say what it is some other way (a title on its border, or a label beside it)."""

from __future__ import annotations

from textual.widgets import Input

from kiosk.context import KioskContext
from tests.screens import wait_until
from tests.ui.conftest import desk
from tests.ui.test_desk import login, on_desk


def unexplained(app) -> list[str]:  # type: ignore[no-untyped-def]
    bare = []
    for field in app.screen.query(Input):
        if not field.value or field.password:
            continue
        titled = field.border_title is not None and str(field.border_title).strip()
        labelled = field.parent is not None and field.parent.has_class("field")
        if not (titled or labelled):
            bare.append(f"#{field.id} = {field.value!r}")
    return bare


async def test_every_prefilled_desk_field_says_what_it_is(ui_ctx: KioskContext) -> None:
    app = desk(ui_ctx, "en")
    async with app.run_test(size=(120, 40)) as pilot:
        await login(pilot, "S005", "1470")  # the manager sees every panel
        await wait_until(pilot, lambda: on_desk(app), "the desk")
        ids = {f.id for f in app.screen.query(Input)}
        assert {"st-hours", "months"} <= ids, ids
        assert unexplained(app) == []
        hours = app.screen.query_one("#st-hours", Input)
        assert str(hours.border_title) == "Pickup within hours" and hours.value == "24"
