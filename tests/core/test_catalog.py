"""Every message the core shows has a Chinese translation (Chinese is the kiosk's first language)."""

from __future__ import annotations

import ast
from pathlib import Path

from kiosk.i18n import parse_po

REPO = Path(__file__).resolve().parents[2]


def core_msgids() -> set[str]:
    """English msgids passed to _() / N_() / Refused(...) anywhere in kiosk/."""
    ids: set[str] = set()
    for path in (REPO / "kiosk").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            position = {"_": 0, "N_": 0, "Refused": 1, "TapOutcome": 1}.get(name)
            if name == "__init__" and len(node.args) >= 2:
                position = 1  # PermissionDenied -> super().__init__(code, message, ...)
            if position is None or len(node.args) <= position:
                continue
            arg = node.args[position]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value:
                ids.add(arg.value)
    return ids


def test_every_core_message_is_translated() -> None:
    catalog = parse_po((REPO / "kiosk/i18n/locale/zh_CN/LC_MESSAGES/kiosk.po").read_text("utf-8"))
    missing = sorted(core_msgids() - set(catalog))
    assert missing == [], f"add to kiosk.po: {missing}"


def test_translations_keep_their_placeholders() -> None:
    import string

    catalog = parse_po((REPO / "kiosk/i18n/locale/zh_CN/LC_MESSAGES/kiosk.po").read_text("utf-8"))
    fields = string.Formatter()
    for msgid, msgstr in catalog.items():
        want = {f for _, f, _, _ in fields.parse(msgid) if f}
        got = {f for _, f, _, _ in fields.parse(msgstr) if f}
        assert want == got, (msgid, msgstr)


def test_catalogs_agree_where_they_share_a_message() -> None:
    """Catalogs are merged into one table, so a msgid translated two ways would show either
    depending on which plugin registered last: every shared msgid must read the same."""
    seen: dict[str, dict[str, list[str]]] = {}
    folders = [REPO / "kiosk" / "i18n" / "locale", *sorted((REPO / "plugins").glob("*/locale"))]
    for folder in folders:
        for po in folder.glob("zh_CN/LC_MESSAGES/*.po"):
            for msgid, msgstr in parse_po(po.read_text("utf-8")).items():
                seen.setdefault(msgid, {}).setdefault(msgstr, []).append(po.name)
    assert {k: v for k, v in seen.items() if len(v) > 1} == {}


def test_no_catalog_gives_a_message_twice() -> None:
    """Within one catalog the last translation of a msgid wins, silently: a second entry (added
    at the end, unaware of the first) would change what every screen showing it reads."""
    import re

    twice = {}
    folders = [REPO / "kiosk" / "i18n" / "locale", *sorted((REPO / "plugins").glob("*/locale"))]
    for folder in folders:
        for po in folder.glob("*/LC_MESSAGES/*.po"):
            ids = re.findall(r'^msgid "(.+)"$', po.read_text("utf-8"), flags=re.MULTILINE)
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            if repeated:
                twice[str(po.relative_to(REPO))] = repeated
    assert twice == {}
