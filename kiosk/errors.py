"""Refusals a person can act on.

Service functions raise :class:`Refused` with an English msgid and parameters; the UI shows it
translated in the kiosk's language, the CLI prints it on one line (exit 1), the log keeps detail.
"""

from __future__ import annotations

from typing import Any

from kiosk.i18n import N_


class Term(str):
    """A refusal's value that is itself a message id (a category, a kind of thing): shown in
    the reader's language, as the message is. What a person typed is never a Term."""


class Refused(Exception):
    """An action refused for a reason the user can understand and act on."""

    def __init__(self, code: str, message: str, **params: Any) -> None:
        self.code = code
        self.message = message
        self.params = params
        super().__init__(self.render())

    def render(self, translate: Any = None) -> str:
        """The message in the current language (``translate`` is a gettext function)."""
        text = translate(self.message) if translate else self.message
        params = {
            k: translate(v) if translate and isinstance(v, Term) else v
            for k, v in self.params.items()
        }
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text


# Roles as a person reads them (the stored role is a code).
ROLE_TITLES: dict[str, str] = {
    "butler": N_("butler"),
    "cashier": N_("cashier"),
    "engineer": N_("engineer"),
    "security": N_("security guard"),
    "manager": N_("manager"),
}


class PermissionDenied(Refused):
    """The actor lacks the role this action needs. ``action`` (what was tried, for the log)
    is kept on the exception; the person reads which role may do it, in their language."""

    def __init__(self, action: str, needed: tuple[str, ...]) -> None:
        self.action = action
        self.needed = tuple(needed)
        super().__init__(
            "permission", "Not allowed: this needs the role {roles}.", roles=" / ".join(needed)
        )

    def render(self, translate: Any = None) -> str:
        t = translate or (lambda text: text)
        roles = " / ".join(t(ROLE_TITLES.get(r, r)) for r in self.needed)
        return str(t(self.message)).format(roles=roles)
