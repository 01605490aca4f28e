"""Refusals a person can act on.

Service functions raise :class:`Refused` with an English msgid and parameters; the UI shows it
translated in the kiosk's language, the CLI prints it on one line (exit 1), the log keeps detail.
"""

from __future__ import annotations

from typing import Any


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
        try:
            return text.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return text


class PermissionDenied(Refused):
    """The actor lacks the role this action needs."""

    def __init__(self, action: str, needed: tuple[str, ...]) -> None:
        super().__init__(
            "permission",
            "Not allowed: {action} needs the role {roles}.",
            action=action,
            roles=" / ".join(needed),
        )
