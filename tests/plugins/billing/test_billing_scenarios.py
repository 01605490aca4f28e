"""The billing scenarios for ``kiosk simulate``, run here through a stand-in for the lobby
shell's ScenarioRun (same attributes), so they are proven before the shell lands."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App
from textual.widgets import Label

from plugins.billing import scenarios, service
from tests.screens import english_ctx


class StandInRun:
    """run.app / run.pilot / run.ctx / run.tap / run.click / run.press / run.expect_text /
    run.note, as documented for kiosk.ui.simulate.ScenarioRun."""

    def __init__(self, app: App[None], pilot: Any, ctx: Any) -> None:
        self.app, self.pilot, self.ctx = app, pilot, ctx
        self.transcript: list[str] = []

    async def tap(self, uid: str) -> None:
        self.note(f"tap {uid}")

    async def click(self, selector: str) -> None:
        await self.pilot.click(selector)

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)

    async def expect_text(self, text: str) -> None:
        shown = "\n".join(str(w.render()) for w in self.app.screen.query(Label))
        assert text in shown, f"{text!r} not on screen:\n{shown}"

    def note(self, line: str) -> None:
        self.transcript.append(line)


@pytest.fixture
def demo_ctx(sqlite_demo_url):
    yield from english_ctx(sqlite_demo_url)


async def _run(ctx: Any, scenario: Any) -> list[str]:
    app: App[None] = App()
    async with app.run_test(size=(120, 40)) as pilot:
        run = StandInRun(app, pilot, ctx)
        await scenario.run(run)
        return run.transcript


@pytest.mark.parametrize(
    "name", ["billing-pay-qr", "billing-duplicate-notice", "billing-expired-order"]
)
async def test_the_billing_scenario_passes(demo_ctx, name: str) -> None:
    found = {s.name: s for s in scenarios.scenarios()}
    transcript = await _run(demo_ctx, found[name])
    assert transcript and transcript[0] == "tap 3C00A1B2C3"
    assert service.providers(demo_ctx).keys() == {"sim"}
