"""The desk's Reports tab (managers only): the month's figures of every plugin as tables, the
same figures ``kiosk report month --html`` draws as charts (:mod:`kiosk.reports`); a rate over
the weeks or months also as a sparkline."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Sparkline

from kiosk.i18n import _
from kiosk.ui.widgets.text import Button, Label, printable


class ReportsPanel(Vertical):
    """One month's figures (this month first); ◀ ▶ move a month, "This month" comes back."""

    DEFAULT_CSS = """
    ReportsPanel #rp-bar { height: 3; }
    ReportsPanel #rp-bar Button { min-width: 8; margin-right: 1; }
    ReportsPanel #rp-month { height: 3; width: auto; content-align: center middle; padding: 0 1;
                             text-style: bold; }
    ReportsPanel #rp-figures { height: 1fr; }
    ReportsPanel .rp-title { text-style: bold; margin-top: 1; }
    ReportsPanel .rp-table { height: auto; max-height: 10; }
    ReportsPanel .rp-note { color: $text-muted; }
    ReportsPanel Sparkline { height: 1; width: 40; max-width: 100%; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.month: str | None = None  # None: this month by the estate clock
        self.shown: list[Any] = []  # the figures on screen (tests read them)
        self.loads = 0  # months shown so far (tests wait on it)

    def compose(self) -> ComposeResult:
        with Horizontal(id="rp-bar"):
            yield Button("◀", id="rp-prev")
            yield Label("", id="rp-month")
            yield Button("▶", id="rp-next")
            yield Button(_("This month"), id="rp-now")
        yield VerticalScroll(id="rp-figures")

    def on_mount(self) -> None:
        self.run_worker(self.reload(), exclusive=True, group="reports")

    def _load(self) -> tuple[Any, list[Any]]:
        from kiosk.reports import collect_figures, report_period

        app: Any = self.app
        period = report_period(app.ctx, self.month)
        return period, collect_figures(app.ctx, app.staff, period)

    async def reload(self) -> None:
        from kiosk.reports import figure_table

        period, figures = await asyncio.to_thread(self._load)
        self.month = period.month
        self.shown = figures
        self.query_one("#rp-month", Label).update(period.month)
        box = self.query_one("#rp-figures", VerticalScroll)
        await box.remove_children()
        widgets: list[Any] = []
        if not figures:
            widgets.append(Label(_("No figures for this report.")))
        for figure in figures:
            widgets.append(Label(figure.title, classes="rp-title"))
            header, rows = figure_table(figure)
            table: DataTable[Any] = DataTable(
                classes="rp-table", show_cursor=False, zebra_stripes=True
            )
            # Rich Text, not str: a DataTable parses markup in strings.
            table.add_columns(*(Text(printable(h)) for h in header))
            for row in rows:
                table.add_row(*(Text(printable(c), justify="right") for c in row))
            widgets.append(table)
            rates = [v for v in figure.series[0].values if v is not None] if figure.series else []
            if figure.kind == "line" and len(rates) > 1:
                widgets.append(Sparkline(rates, summary_function=max))
            if figure.note:
                widgets.append(Label(figure.note, classes="rp-note"))
        await box.mount_all(widgets)
        self.loads += 1

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id not in ("rp-prev", "rp-next", "rp-now"):
            return
        event.stop()
        if event.button.id == "rp-now":
            self.month = None
        elif self.month:
            first = dt.date.fromisoformat(f"{self.month}-01")
            if event.button.id == "rp-prev":
                first = (first - dt.timedelta(days=1)).replace(day=1)
            else:
                first = (first + dt.timedelta(days=32)).replace(day=1)
            self.month = first.strftime("%Y-%m")
        self.run_worker(self.reload(), exclusive=True, group="reports")
