"""A base for butler-desk panels (``kiosk_desk_panels``): the context, the staff member acting
(given, as tests do, or the desk app's signed-in one) and a message line redrawn after an
action."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widget import Widget

from kiosk.ui.widgets.text import Label

if TYPE_CHECKING:
    from kiosk.context import KioskContext


class DeskPanelWidget(Widget):
    """Subclasses compose their content with a ``Label(id="message")`` and call
    :meth:`show` after an action: the panel is read again, then the message is shown (plain)."""

    def __init__(self, ctx: KioskContext, actor: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ctx = ctx
        self._actor = actor

    @property
    def actor(self) -> Any:
        """The staff member logged in at the desk (given, or the desk app's)."""
        return self._actor or getattr(self.app, "actor", None) or getattr(self.app, "staff", None)

    async def show(self, text: str) -> None:
        await self.recompose()
        self.query_one("#message", Label).update(text)
