"""A base for butler-desk panels (``kiosk_desk_panels``): the context, the staff member acting
(given, as tests do, or the desk app's signed-in one) and a message line redrawn after an
action."""

from __future__ import annotations

from textual.widget import Widget

from kiosk.ui.desk_forms import DeskActions


class DeskPanelWidget(DeskActions, Widget):
    """A desk panel as a plain widget. Subclasses compose their content with a
    ``Label(id="message")`` and call :meth:`show` after an action: the panel is read again,
    then the message is shown (plain)."""
