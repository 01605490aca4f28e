"""The butler desk (``kiosk desk``): staff log in with card or number + PIN, then panels.

Built-in panels: open alerts (acknowledge), household search (one household, one file; PII
masked by the service), plugin health; plus every plugin's ``kiosk_desk_panels`` that the
staff member's roles allow. Role checks live in the service functions, not only here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError
from textual import events
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Input, TabbedContent, TabPane

from kiosk.config import Settings
from kiosk.errors import Refused
from kiosk.i18n import LANGUAGES, N_, _, language, set_language
from kiosk.ui.guard import TEXTUAL_ACTIONS, ShellApp
from kiosk.ui.screens import StaffLoginScreen
from kiosk.ui.widgets.text import Button, Label, Static, printable

if TYPE_CHECKING:
    from kiosk.identity import Actor

log = logging.getLogger(__name__)

IDLE_CHECK_S = 5.0  # how often a logged-in desk looks at how long it has been left alone
POLL_S = 1.0  # how often an open desk asks the database what changed (one query per tick)

# Alert kinds as the desk shows them (the stored kind is a code).
ALERT_KINDS: dict[str, str] = {
    "desk_call": N_("Call for help"),
    "unknown_card": N_("Unknown card"),
    "ambiguous_card": N_("Card number matches several cards"),
    "blocked_card": N_("Blocked card tapped"),
    "pin_guessing": N_("PIN guessing"),
    "unit_pin_locked": N_("Unit PIN locked"),
    "staff_locked": N_("Staff locked out"),
    "printer_offline": N_("Printer offline"),
    "printer_paper_out": N_("Printer out of paper"),
    "printer_paper_low": N_("Printer paper low"),
    "device_offline": N_("Device offline"),
    "charge_collect": N_("Charge to collect"),
    "notify.given_up": N_("Message not delivered"),
}  # the core's own; each plugin names its kinds through the hook kiosk_alert_kinds


_ALERT_PATTERNS: dict[str, tuple[str, str]] = {
    # kind: (pattern of the stored English message, its translated template)
    "desk_call": (
        r"kiosk (?P<kiosk>\S+) asks for help(?: by (?P<who>[^:]*))?(?:: (?P<note>.*))?",
        N_("Kiosk {kiosk} asks for help {who} {note}"),
    ),
    "repair_emergency": (
        r"EMERGENCY (?P<number>\S+): (?P<category>\S+) at (?P<where>.*)",
        N_("Emergency {number}: {category}, {where}"),
    ),
    # kiosk.charges: a charge nobody took (no billing) for the desk to collect by hand.
    "charge_collect": (
        r"collect (?P<amount>\S+) from (?P<unit>\S+) \((?P<what>.*)\)",
        N_("Collect {amount} from {unit} ({what})"),
    ),
}


def alert_message(kind: str, message: str, msgid: str = "", params: Any = None) -> str:
    """An alert in the desk's language: its message id with its values (each value that is
    itself a message id, such as a category title, translated too); an alert stored before
    alerts had one is matched against the old English wordings; else the message as stored."""
    if msgid:
        from kiosk.notify import fill

        raw = {k: str(v) for k, v in (params or {}).items()}
        values = {k: fill(_(v), raw) if v else v for k, v in raw.items()}
        return " ".join(fill(_(msgid), values).split())
    import re

    if language() == "en" or kind not in _ALERT_PATTERNS:
        return message
    pattern, template = _ALERT_PATTERNS[kind]
    found = re.fullmatch(pattern, message)
    if found is None:
        return message
    parts = {k: v or "" for k, v in found.groupdict().items()}
    if parts.get("where") == "common area":
        parts["where"] = _("common area")
    return " ".join(_(template).format(**parts).split())


def alert_title(kind: str, kinds: dict[str, str] | None = None) -> str:
    """The translated title of an alert kind (the core's, or ``kinds`` the plugins named);
    an unknown kind is named "Alert", never shown raw."""
    title = (kinds or {}).get(kind) or ALERT_KINDS.get(kind)
    return _(title) if title else _("Alert")


class DeskLoginScreen(StaffLoginScreen):
    """The same card/number + PIN form as the kiosk's, leading to the desk."""

    BACK_HOME = False  # the desk's first screen: nowhere to go back to

    def top_bar(self) -> Widget:
        return DeskBar()

    # The body is the kiosk's staff form (fields beside the keypad); the message line and OK
    # sit in the fixed foot, so a wrong PIN is in view on 80x24.

    async def _submit(self) -> None:
        from kiosk.lobby import staff_login

        app: Any = self.app
        if app.ctx is None:  # the database is still being opened: the PIN stays for a retry
            self.query_one("#message", Label).update(
                _("The desk is still starting. Please try again in a moment.")
            )
            return
        pin_input = self.query_one("#pin", Input)
        pin = pin_input.value
        pin_input.value = ""
        try:
            actor = await asyncio.to_thread(
                staff_login, app.ctx, self.query_one("#who", Input).value, pin
            )
        except Refused as exc:
            self.query_one("#message", Label).update(exc.render(_))
            return
        except SQLAlchemyError as exc:
            from kiosk.ui.isolation import is_database_busy

            if is_database_busy(exc):  # reachable, held up past the timeout: nothing is down
                log.warning("desk login: database busy: %s", exc)
                message = _("The database is busy. Please try again.")
            else:
                log.warning("desk login: database unavailable: %s", exc)
                message = _("The desk cannot reach its database. Please try again in a moment.")
            self.query_one("#message", Label).update(message)
            return
        await app.logged_in(actor)


class DeskBar(Horizontal):
    """Estate, desk, who is logged in, language, log out."""

    DEFAULT_CSS = """
    DeskBar { height: 3; dock: top; background: $primary-background; padding: 0 1; }
    DeskBar #desk-title { width: 1fr; height: 3; content-align: left middle; text-style: bold; }
    DeskBar Button { height: 3; min-width: 10; margin-left: 1; }
    """

    def compose(self) -> ComposeResult:
        app: Any = self.app
        estate = app.settings.estate.name if language() == "zh_CN" else app.settings.estate.name_en
        who = f" · {app.staff.name}" if app.staff is not None else ""
        yield Label(
            _("{estate} · desk {lobby}").format(estate=estate, lobby=app.settings.lobby) + who,
            id="desk-title",
        )
        other = "en" if language() == "zh_CN" else "zh_CN"
        yield Button(LANGUAGES[other], id="desk-lang")
        if app.staff is not None:
            yield Button(_("Log out"), id="logout")

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        app: Any = self.app
        if event.button.id == "desk-lang":
            # The switch replaces the screen this bar is on, and removing it waits for this
            # handler to finish: awaited here, the desk would hang for good. The app runs it.
            app.call_later(app.action_toggle_language)
        elif event.button.id == "logout":
            await app.logout()


class AlertsPanel(Vertical):
    """Open alerts of this lobby (and estate-wide), newest first; acknowledge one.

    Live: the desk's poll (:meth:`DeskScreen.desk_poll`) sees a new alert and reloads; an
    urgent one rings the terminal bell and shows a red notice."""

    DEFAULT_CSS = "AlertsPanel DataTable { height: 1fr; } AlertsPanel Horizontal { height: 3; }"

    def compose(self) -> ComposeResult:
        yield DataTable(id="alerts-table", cursor_type="row", zebra_stripes=True)
        with Horizontal():
            yield Button(_("Acknowledge"), id="ack", variant="primary")
            yield Label("", id="alerts-count")
            # The procedures' paper registers, read here (kiosk_registers).
            yield Button(_("Registers"), id="registers")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(_("Time"), _("Kind"), _("Message"))
        self.refresh_alerts()

    def desk_watch(self) -> list[Any]:
        """What the desk's poll asks about alerts: the newest id and how many are open."""
        from sqlalchemy import func, select, true

        from kiosk.db.models import DeskAlert

        app: Any = self.app
        mine = DeskAlert.lobby.in_((app.settings.lobby, "")) if app.settings.lobby else true()
        return [
            select(func.max(DeskAlert.id)).where(mine),
            select(func.count(DeskAlert.id)).where(mine, DeskAlert.acknowledged_at.is_(None)),
        ]

    async def desk_changed(self, old: tuple[Any, ...], new: tuple[Any, ...]) -> None:
        await self.reload(since=old[0] or 0)

    def refresh_alerts(self) -> None:
        self.run_worker(self.reload(), exclusive=True, group="alerts")

    async def reload(self, since: int | None = None) -> None:
        rows = await asyncio.to_thread(self._load)
        self._show(rows)
        if since is None:
            return
        fresh = [r for r in rows if r[0] > since]
        if not fresh:
            return
        app: Any = self.app
        urgent = [r for r in fresh if r[4] == "urgent"]
        first = (urgent or fresh)[0]
        title = alert_title(first[2], app.alert_kinds())
        text = f"{title}: {alert_message(first[2], first[3], *first[5:])}"
        if urgent:
            app.bell()
            app.notify(text, title=_("Urgent alert"), severity="error", timeout=30)
        else:
            app.notify(text, title=_("New alert"), timeout=10)

    def _load(self) -> list[tuple[Any, ...]]:
        from kiosk.notify import open_alerts

        app: Any = self.app
        with app.ctx.database().read() as s:
            return [
                (a.id, a.created_at, a.kind, a.message, a.severity, a.msgid, a.params)
                for a in open_alerts(s, app.settings.lobby)
            ]

    def _show(self, rows: list[tuple[Any, ...]]) -> None:
        app: Any = self.app
        table = self.query_one(DataTable)
        table.clear()
        kinds = app.alert_kinds()
        for alert_id, at, kind, message, severity, msgid, params in rows:
            local = app.local(at).strftime("%m-%d %H:%M")
            urgent = severity == "urgent"
            # Rich Text, not str: a DataTable parses markup in strings.
            table.add_row(
                local,
                Text(
                    ("‼ " if urgent else "") + alert_title(kind, kinds),
                    "bold red" if urgent else "",
                ),
                Text(printable(alert_message(kind, message, msgid, params))),
                key=str(alert_id),
            )
        self.query_one("#alerts-count", Label).update(_("{n} open").format(n=len(rows)))

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "registers":
            event.stop()
            from kiosk.ui.desk_registers import RegistersDialog, registers_for

            self.app.push_screen(RegistersDialog(registers_for(self.app)))
            return
        if event.button.id != "ack":
            return
        event.stop()
        from kiosk.notify import acknowledge

        app: Any = self.app
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        assert key is not None

        def ack() -> bool:
            with app.ctx.database().write() as s:
                return acknowledge(
                    s,
                    int(key),
                    by=app.staff.label,
                    at=app.ctx.clock.now(),
                    kiosk_id=app.settings.kiosk_id,
                )

        await asyncio.to_thread(ack)
        self.refresh_alerts()


class HouseholdPanel(Vertical):
    """Search a unit, see its household file (residents, roles, masked contacts, cards)."""

    DEFAULT_CSS = """
    HouseholdPanel Horizontal { height: 3; }
    HouseholdPanel #hf-unit { width: 1fr; max-width: 40; }
    HouseholdPanel VerticalScroll { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Input(placeholder=_("Unit, e.g. 3-1205"), id="hf-unit")
            yield Button(_("Search"), id="hf-search", variant="primary")
        with VerticalScroll():
            yield Static("", id="hf")

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        await self._search()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "hf-search":
            event.stop()
            await self._search()

    async def _search(self) -> None:
        from kiosk.lobby import household_file

        app: Any = self.app
        out = self.query_one("#hf", Static)
        try:
            hf = await asyncio.to_thread(
                household_file, app.ctx, app.staff, self.query_one("#hf-unit", Input).value
            )
        except Refused as exc:
            out.update(exc.render(_))
            return
        lines = [
            _("Unit {unit} · building {building} · floor {floor} · {area} m²").format(
                unit=hf.unit_code, building=hf.building, floor=hf.floor, area=hf.area_m2
            )
        ]
        for r in hf.residents:
            lines.append(f"  {r['name']}  {_(r['role'])}  {r['phone']}  {r['id_number']}")
        for c in hf.cards:
            lines.append(
                "  "
                + _("Card {number} ({kind}, {status}) · {holder}").format(
                    number=c["number"], kind=_(c["kind"]), status=_(c["status"]), holder=c["holder"]
                )
            )
        # The plugins' parts: repairs and complaints, visits, parcels, loans, bills.
        sections = await asyncio.to_thread(self._sections, hf.unit_code)
        for section in sorted(sections, key=lambda x: (x.order, x.title)):
            lines.append(_(section.title))
            lines += [f"  {line}" for line in section.lines]
        out.update("\n".join(lines))

    def _sections(self, unit_code: str) -> list[Any]:
        app: Any = self.app
        if app.ctx.plugins is None:
            return []
        return list(
            app.ctx.plugins.call_flat("kiosk_household_sections", ctx=app.ctx, unit_code=unit_code)
        )


class HealthPanel(VerticalScroll):
    """Plugins that failed to load or whose hooks raised, and the desk's own state."""

    def compose(self) -> ComposeResult:
        app: Any = self.app
        plugins = app.ctx.plugins
        # Each service as staff call it (its desk tab or lobby tile); a plugin with neither by
        # its name. `kiosk plugins` lists the ids, versions and hooks.
        titles: dict[str, str] = {}
        if plugins is not None:
            for tile in plugins.call_flat("kiosk_tiles", ctx=app.ctx):
                titles.setdefault(tile.id, tile.title)
            for panel in plugins.call_flat("kiosk_desk_panels", ctx=app.ctx):
                titles[panel.id] = panel.title
        infos = plugins.info() if plugins else []
        yield Label(_("Services loaded: {n}").format(n=len(infos)))
        for info in infos:
            title = titles.get(info.name)
            yield Label(f"  {_(title) if title else info.name}")
        # A service that failed is named and switched off; its error is for IT, in the log
        # and in `kiosk plugins`, not for the butler (nor parsed as markup: it may hold [ ]).
        for f in plugins.failures if plugins else []:
            name = _(titles[f.plugin]) if f.plugin in titles else f.plugin
            yield Label(
                _("{name} is switched off: it failed to start. Everything else works; "
                  "IT can see why with kiosk plugins.").format(name=name),
                classes="failure",
                markup=False,
            )  # fmt: skip


class DeskScreen(Screen[None]):
    """The desk's panels as tabs, kept live by one poll of the database per tick.

    A panel takes part by having ``desk_watch() -> [scalar select, ...]`` (what to watch, e.g.
    the newest visit id and the number waiting) and ``desk_changed(old, new)`` (reload, ring
    for an urgent one). All the panels' selects go to the database as one statement."""

    DEFAULT_CSS = """
    DeskScreen .failure { color: $error; }
    DeskScreen Tabs { overflow-x: auto; }
    DeskScreen.-narrow Tab { padding: 0 1 0 0; }
    """
    NARROW = 100  # below this width the tabs keep one space between them, not two

    def __init__(self) -> None:
        super().__init__()
        # The footer's keys, in the language of the moment (a new screen on a switch).
        self._bindings.bind("ctrl+q", "app.quit", _("Quit"))
        self._bindings.bind("ctrl+l", "logout", _("Log out"))
        self._bindings.bind("f5", "poll", _("Refresh"))
        self._bindings.bind("ctrl+p", "app.command_palette", _("Commands"))
        self._stamps: dict[Any, tuple[Any, ...]] = {}
        self._poll_lock = asyncio.Lock()
        self.polls = 0  # statements sent by the poll (one per tick)

    def compose(self) -> ComposeResult:
        app: Any = self.app
        shown, more = self.fit_tabs(app.panels())
        yield DeskBar()
        with TabbedContent(id="desk-tabs"):
            with TabPane(_("Alerts"), id="tab-alerts"):
                yield AlertsPanel()
            with TabPane(_("Household"), id="tab-household"):
                yield HouseholdPanel()
            for panel in shown:
                yield from self._pane(panel)
            if more:
                with TabPane(_("More"), id="tab-more"), TabbedContent(id="desk-more"):
                    for panel in more:
                        yield from self._pane(panel)
            if app.staff is not None and "manager" in app.staff.roles:
                from kiosk.ui.desk_reports import ReportsPanel

                with TabPane(_("Reports"), id="tab-reports"):
                    yield ReportsPanel()
            with TabPane(_("System"), id="tab-health"):
                yield HealthPanel()
        yield Footer(show_command_palette=False)

    def _pane(self, panel: Any) -> ComposeResult:
        app: Any = self.app
        with TabPane(_(panel.title), id=f"tab-{panel.id}"):
            try:
                yield panel.widget(app.ctx)
            except Exception as exc:  # a broken panel must not take the desk down
                log.exception("desk panel %s failed: %s", panel.id, exc)
                yield Label(
                    _("This tab could not open. The other tabs work; IT can see why in the "
                      "desk's log."),
                    classes="failure",
                )  # fmt: skip

    def fit_tabs(self, panels: list[Any]) -> tuple[list[Any], list[Any]]:
        """The panels whose tabs fit on the bar in this width and language, and the rest,
        which go under a *More* tab with a bar of their own (no tab is ever cut off: at 80
        columns in Chinese the bar holds about ten)."""
        from rich.cells import cell_len

        def width(title: str) -> int:
            return cell_len(_(title)) + 2  # a tab's padding: one cell either side

        # Less the screen's scroll bar (2 cells) when a panel is taller than the screen.
        room = (self.app.size.width or 80) - 2
        app: Any = self.app
        fixed = ["Alerts", "Household", "System"]
        if app.staff is not None and "manager" in app.staff.roles:
            fixed.append("Reports")
        room -= sum(map(width, fixed))
        if sum(width(p.title) for p in panels) <= room:
            return panels, []
        room -= width("More")
        shown: list[Any] = []
        for panel in panels:
            if width(panel.title) > room:
                break
            shown.append(panel)
            room -= width(panel.title)
        return shown, panels[len(shown) :]

    def show_tab(self, pane_id: str) -> None:
        """Open the tab ``pane_id`` (``tab-<panel id>``), under *More* when it is there."""
        inner = self.query("#desk-more").results(TabbedContent)
        nested = next(inner, None)
        if nested is not None and nested.query(f"#{pane_id}"):
            self.query_one("#desk-tabs", TabbedContent).active = "tab-more"
            nested.active = pane_id
            return
        self.query_one("#desk-tabs", TabbedContent).active = pane_id

    def active_tab(self) -> str:
        """The pane shown: the one under *More* when *More* is open."""
        active = self.query_one("#desk-tabs", TabbedContent).active
        nested = next(self.query("#desk-more").results(TabbedContent), None)
        return nested.active if active == "tab-more" and nested is not None else active

    def commands(self) -> Iterable[SystemCommand]:
        """The desk's commands for the palette (ctrl+p): every tab, refresh, log out, the
        language, and what the panels offer (``desk_commands()``)."""
        from functools import partial

        app: Any = self.app
        for pane in self.query(TabPane):
            if pane.id is None or pane.id == "tab-more":
                continue
            tabs = next(a for a in pane.ancestors if isinstance(a, TabbedContent))
            title = tabs.get_tab(pane.id).label_text
            yield SystemCommand(
                _("Go to {tab}").format(tab=title), "", partial(self.show_tab, pane.id)
            )
        for widget in self.query("*"):
            offered = getattr(widget, "desk_commands", None)
            if callable(offered):
                for title, callback in offered():
                    yield SystemCommand(title, "", callback)
        yield SystemCommand(_("Refresh"), "", self.action_poll)
        yield SystemCommand(_("Switch language"), "", app.action_toggle_language)
        yield SystemCommand(_("Log out"), "", app.logout)

    def on_mount(self) -> None:
        app: Any = self.app
        self.set_class(app.size.width < self.NARROW, "-narrow")
        self.set_interval(app.poll_seconds, self.desk_poll)

    def on_resize(self, event: Any) -> None:
        self.set_class(event.size.width < self.NARROW, "-narrow")

    async def action_logout(self) -> None:
        app: Any = self.app
        await app.logout()

    async def action_poll(self) -> None:
        """F5: every panel read again, changed or not (what the staff asks for by Refresh)."""
        await self.desk_poll(everything=True)

    async def desk_poll(self, everything: bool = False) -> None:
        """Ask the database, in one statement, what every live panel watches; tell the panels
        whose answer changed since the last tick (``everything``: every panel)."""
        from sqlalchemy import select

        async with self._poll_lock:
            app: Any = self.app
            if app.ctx is None or app.staff is None or not self.is_attached:
                return
            plan: list[tuple[Any, int]] = []
            selects: list[Any] = []
            for widget in self.query("*"):
                watch = getattr(widget, "desk_watch", None)
                if not callable(watch):
                    continue
                try:
                    wanted = list(watch())
                except Exception:  # noqa: BLE001  (one panel's watch must not stop the others)
                    log.exception("desk watch of %s failed", type(widget).__name__)
                    continue
                plan.append((widget, len(wanted)))
                selects.extend(wanted)
            if not selects:
                return
            statement = select(*(q.scalar_subquery() for q in selects))

            def ask() -> tuple[Any, ...]:
                with app.ctx.database().read() as s:
                    return tuple(s.execute(statement).one())

            try:
                values = await asyncio.to_thread(ask)
            except SQLAlchemyError as exc:  # the next tick tries again; logins say it is down
                log.warning("desk poll: %s", exc)
                return
            self.polls += 1
            seen: dict[Any, tuple[Any, ...]] = {}
            at = 0
            for widget, n in plan:
                new, at = values[at : at + n], at + n
                seen[widget] = new
                old = self._stamps.get(widget)
                if old is None or (old == new and not everything):
                    continue
                try:
                    result = widget.desk_changed(old, new)
                    if asyncio.iscoroutine(result):
                        await result
                except Refused as exc:
                    app.notify(exc.render(_), severity="warning")
                except SQLAlchemyError as exc:
                    log.warning("desk panel reload: %s", exc)
            self._stamps = seen


class DeskApp(ShellApp):
    """The butler desk."""

    ACTIONS = TEXTUAL_ACTIONS | {
        "quit", "help_quit", "sim_tap", "toggle_language", "command_palette",
    }  # fmt: skip

    TITLE = "Butler desk"
    ENABLE_COMMAND_PALETTE = True  # the desk's own commands only (get_system_commands)
    CSS = """
    #form { width: 60; max-width: 100%; height: auto; padding: 0 1; }
    #form .title { text-style: bold; margin-bottom: 1; }
    #form .actions { height: 3; margin-top: 1; }
    /* A panel's message wraps at the panel's width: a refusal cut at 80 columns loses the
       part that says what to do. */
    .message { color: $error; text-style: bold; width: 100%; }
    """
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="quit", show=False),
        Binding("f2", "sim_tap", "Simulated card tap (--sim only)", show=False, id="sim-tap"),
    ]

    def __init__(self, settings: Settings, *args: Any, **kwargs: Any) -> None:
        """:class:`ShellApp`'s parameters; the desk starts its devices only when told."""
        super().__init__(settings, *args, **kwargs)
        self.staff: Actor | None = None
        # Idle logout: seconds since the last key or click, on this (replaceable) clock.
        self.monotonic: Callable[[], float] = time.monotonic
        self.poll_seconds = POLL_S  # the live desk's tick (tests drive the poll themselves)
        self._started = threading.Lock()
        self.plugins_started = False
        self._alert_kinds: dict[str, str] | None = None
        self._last_input = self.monotonic()

    def get_default_screen(self) -> Screen[Any]:
        return DeskLoginScreen()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Only the desk's commands, and only once someone is logged in (Textual's own -
        themes, screenshots, quit without the devices stopped - are not offered)."""
        if isinstance(screen, DeskScreen) and self.staff is not None:
            yield from screen.commands()

    def on_mount(self) -> None:
        self.set_interval(IDLE_CHECK_S, self.idle_check)
        if self.own_process:
            from kiosk.ui.terminal import exit_when_terminal_lost

            exit_when_terminal_lost(self)
        if self.ctx is None or self.start_devices or self.own_process:
            self.run_worker(self._load, thread=True)

    def _load(self) -> None:
        from kiosk.context import open_context
        from kiosk.db.migrate import not_set_up

        try:
            if self.ctx is None:
                ctx = open_context(self.settings)
                try:
                    problem = not_set_up(ctx.database().engine, ctx.plugins)
                except SQLAlchemyError as exc:  # unreachable: a login says so until it is back
                    log.warning("desk database not reachable at start: %s", exc)
                    problem = None
                if problem is not None:  # reachable but never set up: see LobbyApp._load
                    log.error("%s", problem)
                    self.call_from_thread(self.exit, None, 1, problem)
                    return
                self.ctx = ctx
            if self.start_devices and self.settings.devices:
                from kiosk.hardware import start_devices

                # The desk's own reader (issuing parking cards) and printer (deposit receipts).
                self.devices = start_devices(self.ctx, self._reader_event)
        except Exception as exc:  # noqa: BLE001
            log.exception("desk start-up failed")
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        if self.own_process:  # see LobbyApp
            from kiosk.notify import start_dispatcher

            self.dispatcher = start_dispatcher(self.ctx, interval=10.0)
            from kiosk.memory import freeze_start_up_objects

            freeze_start_up_objects()

    def _reader_event(self, event: Any) -> None:
        """A reader's thread saw a card: hand it to the UI thread."""
        if event.kind == "tap" and event.uid:
            self.call_from_thread(self.desk_card_tapped, event.uid)

    def action_sim_tap(self) -> None:
        """With simulated devices (``--sim``), F2 lays a card on the desk's simulated reader
        (a blank card to issue, say); it travels the real serial path."""
        if not self.sim or self.devices is None or not self.devices.readers:
            return
        from kiosk.ui.screens import SimTapScreen

        self.push_screen(SimTapScreen(next(iter(self.devices.readers))))

    def desk_card_tapped(self, uid: str) -> None:
        """A card on the desk reader goes to every shown panel that takes cards
        (a ``card_tapped(uid)`` method), e.g. parking card issuance."""
        for widget in self.screen.query("*"):
            handler = getattr(widget, "card_tapped", None)
            if callable(handler):
                handler(uid)

    async def action_quit(self) -> None:
        if self.devices is not None:
            self.devices.stop()
        self.exit()

    async def on_unmount(self) -> None:
        if getattr(self, "dispatcher", None) is not None:
            self.dispatcher.stop()

    def local(self, when: dt.datetime) -> dt.datetime:
        from kiosk.clock import as_utc

        return as_utc(when).astimezone(self._zone)

    def alert_kinds(self) -> dict[str, str]:
        """Alert kind -> title msgid, as the plugins name them (asked once)."""
        if self._alert_kinds is None:
            kinds: dict[str, str] = {}
            if self.ctx is not None and self.ctx.plugins is not None:
                for answer in self.ctx.plugins.call("kiosk_alert_kinds"):
                    kinds.update(answer)
            self._alert_kinds = kinds
        return self._alert_kinds

    def panels(self) -> list[Any]:
        if self.ctx is None or self.ctx.plugins is None or self.staff is None:
            return []
        panels = self.ctx.plugins.call_flat("kiosk_desk_panels", ctx=self.ctx)
        allowed = [
            p for p in panels if not p.roles or (set(p.roles) | {"manager"}) & self.staff.roles
        ]
        return sorted(allowed, key=lambda p: (p.order, p.id))

    def start_plugins(self) -> None:
        """The plugins' start-up hooks, once (their catalogs: a desk in Chinese needs them;
        parking's sweep, billing's refund check), off the UI thread: they may use the
        database."""
        with self._started:
            if self.plugins_started or self.ctx is None or self.ctx.plugins is None:
                return
            try:
                self.ctx.plugins.call("kiosk_startup", ctx=self.ctx)
            except SQLAlchemyError as exc:  # the database is away: try again at the next login
                log.warning("desk start-up hooks: %s", exc)
                return
            self.plugins_started = True

    async def logged_in(self, actor: Actor) -> None:
        if actor.kind != "staff":
            return
        await asyncio.to_thread(self.start_plugins)
        self.staff = actor
        self._last_input = self.monotonic()
        await self.push_screen(DeskScreen())

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown | events.MouseScrollDown):
            self._last_input = self.monotonic()
        await super().on_event(event)

    async def idle_check(self) -> None:
        """Log out a staff member who left the desk: no key or click for the idle minutes."""
        minutes = self.settings.desk.idle_logout_minutes
        if self.staff is None or self.monotonic() - self._last_input < minutes * 60:
            return
        log.info("desk: %s logged out after %d idle minutes", self.staff.name, minutes)
        await self.logout()
        self.notify(
            _("Logged out after {minutes} minutes without use.").format(minutes=minutes),
            timeout=3600,
        )

    async def logout(self) -> None:
        self.staff = None
        while len(self.screen_stack) > 1:
            self.pop_screen()
        await self.screen.recompose()
        # Ready for the next person: the staff number field takes the keys.
        for field in self.screen.query("#who").results(Input):
            field.focus()

    def database_lost(self) -> None:
        """A panel's work hit a lost database (see kiosk.ui.isolation): say so, stay up."""
        self.notify(
            _("The desk cannot reach its database. Please try again in a moment."),
            severity="error",
        )

    def action_help_quit(self) -> None:
        """ctrl+c: say how to leave (Textual's own message is markup)."""
        self.notify(_("Press ctrl+q to quit the desk."))

    async def action_toggle_language(self) -> None:
        set_language("en" if language() == "zh_CN" else "zh_CN")
        if isinstance(self.screen, DeskScreen):
            active = self.screen.active_tab()
            await self.switch_screen(DeskScreen())
            if active:
                self.screen.show_tab(active)
        else:
            await self.screen.recompose()
