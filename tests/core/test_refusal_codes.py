"""Every refusal's code names where it comes from (``parking.card_moved``, ``login.locked``,
``unit.unknown``): a code is what logs, JSON output and the desk's counts carry, and two
services must not give one bare code two meanings."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _codes() -> list[tuple[str, int, str]]:
    """(file, line, the code's literal text) of every ``Refused(...)`` in the product."""
    found = []
    for folder in ("kiosk", "plugins", "devices"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and node.args):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name != "Refused":
                    continue
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    text = first.value
                elif isinstance(first, ast.JoinedStr):
                    text = "".join(
                        v.value if isinstance(v, ast.Constant) else "{}" for v in first.values
                    )
                else:
                    continue  # a code passed on from elsewhere (checked where it is written)
                found.append((str(path.relative_to(ROOT)), node.lineno, text))
    return found


def test_the_scan_sees_the_refusals() -> None:
    codes = {text for _, _, text in _codes()}
    assert {"unit.unknown", "pin.digits", "login.{}", "parking.card_moved"} <= codes


def test_every_refusal_code_has_a_namespace() -> None:
    bare = [f"{file}:{line} {text!r}" for file, line, text in _codes() if "." not in text]
    assert not bare, "refusal codes without a namespace:\n" + "\n".join(bare)
