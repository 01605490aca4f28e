"""Every desk tab fits 80 columns: no button, field, checkbox or list pushed off the right edge
(once, the household search button sat at column 80, out of sight)."""

from __future__ import annotations

import pytest

from kiosk.context import KioskContext
from tests.screens import wait_until
from tests.ui.conftest import desk
from tests.ui.test_desk import login, on_desk


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
async def test_every_desk_tab_keeps_its_controls_inside_80_columns(
    ui_ctx: KioskContext, lang: str
) -> None:
    app = desk(ui_ctx, lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await login(pilot, "S005", "1470")  # the manager sees every panel
        await wait_until(pilot, lambda: on_desk(app), "the desk")
        panes = [p.id for p in app.screen.query("TabPane") if p.id != "tab-more"]
        assert len(panes) > 10, panes
        off = []
        for pane in panes:
            app.screen.show_tab(pane)
            await wait_until(pilot, lambda pane=pane: app.screen.active_tab() == pane, pane)
            await pilot.pause()
            for w in app.screen.query("Button, Input, Checkbox, Select, DataTable"):
                if w.region.width and w.region.right > 80:
                    off.append(f"{pane}: #{w.id} ends at column {w.region.right}")
        assert off == []
