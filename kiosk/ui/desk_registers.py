"""The desk's *Registers*: the paper registers of the procedures (来访人员登记表, 邮件签收登记表,
物品借取登记表 ...) as the plugins keep them (``kiosk_registers``), read at the desk as a table.

The butler checks the day's visitors, what left the shelf and which keys are out without a
command line; each register is also a command that prints the same CSV for the office
(``kiosk visitors log``, ``kiosk umbrellas register`` ...).
"""

from __future__ import annotations

import asyncio
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import DataTable

from kiosk.errors import Refused
from kiosk.export import csv_rows
from kiosk.i18n import _
from kiosk.ui.desk_forms import DIALOG_CSS, DeskDialog
from kiosk.ui.widgets.text import Button, Label, printable


def registers_for(app: Any) -> list[Any]:
    """The registers the signed-in staff member may read, in their order."""
    plugins = app.ctx.plugins
    if plugins is None or app.staff is None:
        return []
    roles = set(app.staff.roles)
    found = plugins.call_flat("kiosk_registers", ctx=app.ctx)
    return sorted(
        (r for r in found if not r.roles or roles & set(r.roles)), key=lambda r: (r.order, r.id)
    )


class RegistersDialog(DeskDialog[None]):
    """A button per register; the one chosen is read (off the UI thread) into the table."""

    DEFAULT_CSS = (
        DIALOG_CSS.format(name="RegistersDialog")
        + """
    RegistersDialog > Vertical { width: 100%; height: 100%; }
    RegistersDialog #register-list { grid-size: 3; grid-gutter: 0 1; height: auto; }
    RegistersDialog #register-list Button { width: 100%; margin: 0; }
    RegistersDialog DataTable { height: 1fr; min-height: 5; }
    """
    )
    BINDINGS = [Binding("escape", "dismiss(None)", show=False)]

    def __init__(self, registers: list[Any]) -> None:
        super().__init__(_("Registers"))
        self.registers = registers
        self.shown = ""  # the register in the table (tests wait on it)

    def content(self) -> ComposeResult:
        if not self.registers:
            yield Label(_("No register is kept for your role here."))
        with Grid(id="register-list"):  # three a row: every title whole at 80 columns
            for r in self.registers:
                yield Button(_(r.title), id=f"register-{r.id}", compact=True)
        yield Label("", id="register-note")
        yield DataTable(id="register-table", zebra_stripes=True)

    def buttons(self) -> ComposeResult:
        yield Button(_("Close"), id="register-close")

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        bid = event.button.id or ""
        if bid == "register-close":
            self.dismiss(None)
            return
        chosen = next((r for r in self.registers if f"register-{r.id}" == bid), None)
        if chosen is not None:
            await self.show_register(chosen)

    async def show_register(self, register: Any) -> None:
        app: Any = self.app
        note = self.query_one("#register-note", Label)
        table = self.query_one("#register-table", DataTable)
        try:
            text = await asyncio.to_thread(register.read, app.ctx, app.staff)
        except Refused as exc:
            table.clear(columns=True)
            note.update(exc.render(_))
            return
        rows = csv_rows(text)
        header, body = (rows[0], rows[1:]) if rows else ([], [])
        table.clear(columns=True)
        table.add_columns(*(Text(printable(h)) for h in header))
        for row in body:  # what people typed is data: plain text, never markup
            table.add_row(*(Text(printable(cell)) for cell in row))
        note.update(_("{title}: {count} lines").format(title=_(register.title), count=len(body)))
        self.shown = register.id
