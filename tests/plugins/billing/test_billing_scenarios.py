"""The billing scenarios for ``kiosk simulate``, run here through a stand-in for the lobby
shell's ScenarioRun (same attributes), so they are proven before the shell lands."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App

from plugins.billing import scenarios, service
from tests.screens import Run, english_ctx


@pytest.fixture
def demo_ctx(sqlite_demo_url):
    yield from english_ctx(sqlite_demo_url)


async def _run(ctx: Any, scenario: Any) -> list[str]:
    app: App[None] = App()
    async with app.run_test(size=(120, 40)) as pilot:
        run = Run(app, pilot, ctx)
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
