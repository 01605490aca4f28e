"""``kiosk simulate``: scripted runs of the real app, headless, with simulated devices.

Each scenario gets a fresh copy of a seeded demo estate (SQLite, a fixed clock), the real
LobbyApp under Textual's Pilot, a simulated card reader and printer on ptys (taps travel the
real serial path), and a transcript: screens visited, notes, and every slip printed, decoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import tempfile
import time
import traceback
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.clock import FixedClock
from kiosk.config import Settings
from kiosk.context import KioskContext
from kiosk.errors import Refused
from kiosk.hookspecs import Scenario

SIM_DEVICES = {"printer": "sim://printer?paper=58", "card_reader": "sim://card?protocol=rdm6300"}
SIZE = (100, 30)


@dataclass
class ScenarioResult:
    name: str
    ok: bool
    transcript: list[str] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _plain(widget: Any) -> str:
    try:
        rendered = widget.render()
    except Exception:  # noqa: BLE001 - a widget that cannot render has no text to find
        return ""
    return str(getattr(rendered, "plain", rendered))


class ScenarioRun:
    """What a scenario drives: ``app``, ``pilot``, ``ctx`` and helpers that keep a transcript."""

    def __init__(self, app: Any, pilot: Any, ctx: KioskContext, transcript: list[str]) -> None:
        self.app = app
        self.pilot = pilot
        self.ctx = ctx
        self.transcript = transcript
        self._screen = ""
        self._printed_upto = 0

    def note(self, line: str) -> None:
        self.transcript.append(line)

    async def settle(self, rounds: int = 3) -> None:
        for _ in range(rounds):
            await self.pilot.pause()
        self._track_screen()

    def _track_screen(self) -> None:
        name = type(self.app.screen).__name__
        if name != self._screen:
            self._screen = name
            self.note(f"screen: {name}")

    async def tap(self, uid: str, timeout: float = 5.0) -> None:
        """Tap a card on the simulated reader: the real frame, the real serial path."""
        from devices.sim import get_sim

        self.note(f"tap {uid}")
        await self._wait(
            lambda: self.app.reader_status.get("card_reader") == "connected",
            timeout,
            "card reader to connect",
        )
        before = self.app.taps_handled
        get_sim("card_reader").tap(uid)  # type: ignore[attr-defined]
        await self._wait(
            lambda: self.app.taps_handled > before, timeout, f"tap {uid} to be handled"
        )
        await self.settle()

    async def _wait(self, condition: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await self.pilot.pause(0.02)

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)
        await self.settle()

    async def type(self, text: str) -> None:
        await self.press(*list(text))

    async def click(self, selector: str) -> None:
        from kiosk.ui.scenarios import click

        await click(self.app, self.pilot, selector)
        await self.settle()

    def screen_text(self) -> str:
        return "\n".join(t for t in (_plain(w) for w in self.app.screen.query("*")) if t)

    async def expect_text(self, text: str, timeout: float = 3.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen_text():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} is not on the screen:\n{self.screen_text()}")
            await self.pilot.pause(0.05)

    async def expect_screen(self, name: str, timeout: float = 3.0) -> None:
        await self._wait(lambda: type(self.app.screen).__name__ == name, timeout, f"screen {name}")
        self._track_screen()

    def printed(self) -> list[str]:
        """Slips printed since the last call, decoded from the simulated printer's bytes."""
        from devices.receipt_decode import decode_escpos
        from devices.sim import get_sim

        sim: Any = get_sim("printer")
        data = bytes(sim.received)
        new, self._printed_upto = data[self._printed_upto :], len(data)
        if not new.strip(b"\x10\x04\x01\x02\x03\x04"):
            return []
        decoded = decode_escpos(new)
        lines = [line for line in decoded.text.splitlines() if line.strip()]
        lines += [f"[QR] {payload}" for payload in decoded.qr_codes]
        return lines

    def record_printed(self) -> None:
        lines = self.printed()
        if lines:
            self.note("printed:")
            self.transcript.extend(f"  | {line}" for line in lines)

    @contextlib.asynccontextmanager
    async def desk(self) -> AsyncIterator[ScenarioRun]:
        """The butler desk on the same estate, as a second app."""
        from kiosk.ui.desk_app import DeskApp

        app = DeskApp(self.ctx.settings, ctx=self.ctx)
        async with app.run_test(size=SIZE) as pilot:
            run = ScenarioRun(app, pilot, self.ctx, self.transcript)
            run.note("desk:")
            await run.settle()
            yield run


def available_scenarios(settings: Settings, plugins: Any = None) -> list[Scenario]:
    from kiosk.plugins import load_plugins
    from kiosk.ui.scenarios import core_scenarios

    plugins = plugins or load_plugins(settings.plugins_disabled)
    return core_scenarios() + list(plugins.call_flat("kiosk_scenarios"))


class _Template:
    """A migrated, seeded demo database, made once per process and copied per scenario."""

    path: Path | None = None

    @classmethod
    def copy(cls, settings: Settings, plugins: Any, into: Path) -> str:
        if cls.path is None:
            from kiosk.db import Database
            from kiosk.demo import build_demo_database

            folder = Path(tempfile.mkdtemp(prefix="kiosk-scenarios-"))
            url = f"sqlite:///{folder / 'template.db'}"
            ctx = KioskContext(
                settings=dataclasses.replace(settings, database_url=url),
                clock=FixedClock(),
                db=Database(url),
                plugins=plugins,
            )
            build_demo_database(ctx)
            cls.path = folder / "template.db"
        target = into / "kiosk.db"
        shutil.copyfile(cls.path, target)
        return f"sqlite:///{target}"


async def run_scenario(scenario: Scenario, settings: Settings, plugins: Any) -> ScenarioResult:
    from devices.sim import get_sim
    from kiosk.db import Database
    from kiosk.i18n import set_language
    from kiosk.ui.lobby_app import LobbyApp

    transcript: list[str] = []
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix=f"kiosk-{scenario.name}-"))
    url = _Template.copy(settings, plugins, workdir)
    scenario_settings = dataclasses.replace(
        settings, database_url=url, devices=dict(SIM_DEVICES), kiosk_id="sim-kiosk", idle_timeout=60
    )
    ctx = KioskContext(
        settings=scenario_settings, clock=FixedClock(), db=Database(url), plugins=plugins
    )
    app = LobbyApp(scenario_settings, ctx=ctx, sim=True)
    error = ""
    try:
        async with app.run_test(size=SIZE) as pilot:
            run = ScenarioRun(app, pilot, ctx, transcript)
            await run._wait(lambda: app.devices is not None, 5.0, "devices to start")
            with contextlib.suppress(KeyError):
                get_sim("printer").clear_faults()  # type: ignore[attr-defined]
            run.printed()  # forget bytes of earlier scenarios
            await run.settle()
            await scenario.run(run)
            await run.settle()
            run.record_printed()
    except Exception as exc:  # noqa: BLE001 - a failing scenario is reported, not raised
        error = f"{type(exc).__name__}: {exc}"
        transcript.append(traceback.format_exc(limit=3).rstrip())
    finally:
        set_language(settings.language)
        ctx.database().dispose()
        shutil.rmtree(workdir, ignore_errors=True)
    return ScenarioResult(
        scenario.name, not error, transcript, error, time.perf_counter() - started
    )


async def run_scenarios(names: list[str] | None, settings: Settings) -> list[ScenarioResult]:
    """Run the named scenarios (all when ``names`` is None), one after another."""
    from devices.sim import stop_all
    from kiosk.plugins import load_plugins

    plugins = load_plugins(settings.plugins_disabled)
    scenarios = {s.name: s for s in available_scenarios(settings, plugins)}
    chosen = list(scenarios) if names is None else names
    unknown = [n for n in chosen if n not in scenarios]
    if unknown:
        raise Refused(
            "simulate.unknown_scenario",
            "Unknown scenario {names}; see kiosk simulate --list.",
            names=", ".join(unknown),
        )
    try:
        return [await run_scenario(scenarios[n], settings, plugins) for n in chosen]
    finally:
        stop_all()


def run_scenarios_sync(names: list[str] | None, settings: Settings) -> list[ScenarioResult]:
    return asyncio.run(run_scenarios(names, settings))
