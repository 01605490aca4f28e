"""Every message a resident or the desk may see from the umbrellas and repairs plugins has a
Chinese translation in the plugin's catalog."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kiosk.i18n import parse_po

ROOT = Path(__file__).resolve().parents[3] / "plugins"


def msgids(folder: Path) -> set[str]:
    out: set[str] = set()
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            args = node.args
            if name in ("_", "N_") and args and isinstance(args[0], ast.Constant):
                out.add(args[0].value)
            if name == "Refused" and len(args) >= 2 and isinstance(args[1], ast.Constant):
                out.add(args[1].value)
    return {m for m in out if isinstance(m, str)}


@pytest.mark.parametrize("plugin", ["umbrellas", "repairs"])
def test_every_message_is_translated(plugin: str) -> None:
    folder = ROOT / plugin
    catalog = parse_po((folder / "locale/zh_CN/LC_MESSAGES" / f"{plugin}.po").read_text())
    missing = sorted(m for m in msgids(folder) if not catalog.get(m))
    assert missing == []
