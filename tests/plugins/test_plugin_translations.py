"""Every message a resident or the desk may see from a built-in plugin
has a Chinese translation in the plugin's catalog, with the same placeholders."""

from __future__ import annotations

import ast
import string
import tomllib
from pathlib import Path

import pytest

from kiosk.i18n import parse_po

ROOT = Path(__file__).resolve().parents[2] / "plugins"


def manifest_msgids(folder: Path) -> set[str]:
    """The titles of the tiles, desk panels, registers and alert kinds of ``plugin.toml``."""
    path = folder / "plugin.toml"
    if not path.is_file():
        return set()
    data = tomllib.loads(path.read_text("utf-8"))
    titles = {
        e["title"] for key in ("tiles", "desk_panels", "registers") for e in data.get(key, [])
    }
    return titles | set(data.get("alert_kinds", {}).values())


def msgids(folder: Path) -> set[str]:
    """English msgids passed to _() / N_(), Refused(code, msgid) and CardOutcome(message=), and
    the titles the plugin's manifest declares."""
    out: set[str] = manifest_msgids(folder)
    for path in folder.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            args = node.args
            if name in ("_", "N_") and args and isinstance(args[0], ast.Constant):
                out.add(args[0].value)
            if name == "Refused" and len(args) >= 2 and isinstance(args[1], ast.Constant):
                out.add(args[1].value)
            for kw in node.keywords if name == "CardOutcome" else []:
                if kw.arg == "message" and isinstance(kw.value, ast.Constant) and kw.value.value:
                    out.add(kw.value.value)
    return {m for m in out if isinstance(m, str)}


def fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


@pytest.mark.parametrize(
    "plugin",
    [
        "umbrellas",
        "repairs",
        "parking",
        "parcels",
        "visitors",
        "billing",
        "notices",
        "surveys",
        "releases",
        "keys",
    ],
)
def test_every_message_is_translated(plugin: str) -> None:
    folder = ROOT / plugin
    catalog = parse_po((folder / "locale/zh_CN/LC_MESSAGES" / f"{plugin}.po").read_text("utf-8"))
    found = msgids(folder)
    assert len(found) > 20
    assert sorted(m for m in found if not catalog.get(m)) == []
    assert sorted(m for m in found if fields(m) != fields(catalog[m])) == []


def test_manifest_titles_are_read() -> None:
    """The manifest's titles count as msgids (a tile's title must be translated too)."""
    found = manifest_msgids(ROOT / "parcels")
    assert {"Collect parcels", "Item storage", "Parcel register", "Parcel overdue"} <= found
