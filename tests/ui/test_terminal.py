"""A kiosk whose terminal goes away exits instead of spinning (kiosk.ui.terminal)."""

from __future__ import annotations

import os
import pty
from collections.abc import Callable


class FakeShell:
    def __init__(self) -> None:
        self.checks: list[Callable[[], None]] = []
        self.exited = False

    def set_interval(self, every: float, callback: Callable[[], None]) -> None:
        self.checks.append(callback)

    def exit(self) -> None:
        self.exited = True


def test_the_shell_exits_once_its_terminal_hangs_up() -> None:
    from kiosk.ui.terminal import exit_when_terminal_lost

    master, slave = pty.openpty()
    shell = FakeShell()
    try:
        assert exit_when_terminal_lost(shell, fd=slave)
        (check,) = shell.checks
        check()
        assert not shell.exited  # the terminal is there
        os.close(master)  # the console closes: the kiosk's side of the pty is hung up
        check()
        assert shell.exited
    finally:
        os.close(slave)


def test_no_watch_without_a_terminal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kiosk.ui.terminal import exit_when_terminal_lost

    shell = FakeShell()
    with open(tmp_path / "not-a-tty", "w") as f:
        assert not exit_when_terminal_lost(shell, fd=f.fileno())
    assert shell.checks == []
