"""Square brackets in ``--help`` texts are shown as written (typer renders help as rich markup,
which would swallow ``[retention]`` as a style tag)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from kiosk import cli as kiosk_cli

WIDE = {"COLUMNS": "400"}  # no wrapping: each help text stays on one line


def _app() -> Any:
    """The kiosk CLI with the device and plugin commands mounted (once)."""
    names = {g.name for g in kiosk_cli.app.registered_groups}
    if not {"devices", "visitors", "parking", "billing"} <= names:
        kiosk_cli._mount_optional()
    return kiosk_cli.app


def _bracketed_help() -> list[tuple[tuple[str, ...], str]]:
    """(command path, help text as meant) for every command or option help with brackets."""
    found: list[tuple[tuple[str, ...], str]] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        texts = [cmd.help or ""] + [getattr(p, "help", None) or "" for p in cmd.params]
        for text in texts:
            meant = text.replace("\\[", "[")
            if re.search(r"\[[^\]]*\]", meant):
                found.append((path, meant))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, (*path, name))

    walk(get_command(_app()), ())
    return found


def _shown(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(_app(), [*path, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_purge_help_shows_the_retention_section_literally() -> None:
    shown = _shown(("purge",))
    assert "past the [retention] days (closed records only)" in shown
    assert "past the  days" not in shown and "past the days" not in shown


def test_parking_fee_help_shows_the_plugin_section_literally() -> None:
    shown = _shown(("parking", "fee"))
    assert "(the estate's rule from [plugins.parking])" in shown
    assert "from )" not in shown


def test_every_help_text_with_brackets_shows_them_literally() -> None:
    cases = _bracketed_help()
    paths = {path for path, _ in cases}
    assert ("purge",) in paths and ("parking", "fee") in paths
    for path, meant in cases:
        shown = _shown(path)
        for segment in re.findall(r"\[[^\]]*\]", meant):
            assert segment in shown, (path, segment)


@pytest.mark.parametrize("path", [("purge",), ("parking", "fee")])
def test_help_source_escapes_its_brackets_for_rich(path: tuple[str, ...]) -> None:
    # The docstring keeps the rich escape (a bare "[x]" would be eaten again).
    cmd: Any = get_command(_app())
    for name in path:
        cmd = cmd.commands[name]
    assert "\\[" in cmd.help
