"""Every message of the parking plugin has a Chinese translation."""

from __future__ import annotations

import ast
from pathlib import Path

from kiosk.i18n import parse_po

FOLDER = Path(__file__).resolve().parents[3] / "plugins" / "parking"


def msgids() -> set[str]:
    out: set[str] = set()
    for path in FOLDER.glob("*.py"):
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


def test_every_message_is_translated_with_the_same_placeholders() -> None:
    import string

    catalog = parse_po((FOLDER / "locale/zh_CN/LC_MESSAGES/parking.po").read_text("utf-8"))
    found = msgids()
    assert len(found) > 50
    assert sorted(m for m in found if not catalog.get(m)) == []

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    assert [m for m in found if fields(m) != fields(catalog[m])] == []
