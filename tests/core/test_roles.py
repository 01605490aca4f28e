"""Role checks in every service function that changes state: called as the wrong role, each is
refused with PermissionDenied before it touches anything; and no new state-changing function
can forget its check (a static scan of every plugin's service module)."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kiosk.context import KioskContext
from kiosk.db.models import AuditEvent
from kiosk.errors import PermissionDenied, Refused
from kiosk.identity import Actor

ROOT = Path(__file__).resolve().parents[2]
# A service is a module (plugins/x/service.py) or a package of them (plugins/billing/service/).
SERVICES = sorted([*ROOT.glob("plugins/*/service.py"), *ROOT.glob("plugins/*/service/*.py")])


def plugin_of(path: Path) -> str:
    return path.relative_to(ROOT / "plugins").parts[0]


# Functions residents may call for their own unit; they check the unit (and, for staff, the
# role) after reading what the request refers to. The plugins' own tests cover those checks.
RESIDENT_FACING = {
    ("billing", "create_payment_order"), ("billing", "create_arrears_order"),
    ("billing", "unit_statement"),
    ("parcels", "add_proxy"), ("parking", "renew"), ("repairs", "file_ticket"),
    ("repairs", "consent"), ("repairs", "cancel"), ("visitors", "decide"),
    ("visitors", "create_invite"), ("visitors", "revoke_invite"),
    ("releases", "request_pass"),
}  # fmt: skip
# State-changing functions that take an actor and check it in the function they delegate to
# (or in a helper), or are system jobs whose actor defaults to the system.
DELEGATES = {
    ("billing", "add_charge"): "add_charge_in", ("billing", "take_deposit"): "take_deposit_in",
    ("billing", "refund_deposit"): "end_deposit_in",
    ("umbrellas", "lend"): "_borrower", ("umbrellas", "return_umbrella"): "_returner",
    ("parcels", "run_aging"): "system job", ("parcels", "purge_pii"): "system job",
    ("visitors", "purge_pii"): "system job", ("repairs", "tickets_of"): "own unit (read)",
    ("umbrellas", "loans_of"): "own unit (read)", ("parking", "records_csv"): "records",
}  # fmt: skip

WRONG = {
    "resident": Actor("resident", 1, "x", unit_id=1),
    "staff-without-the-role": Actor("staff", 99, "nobody", frozenset({"nobody"})),
}


def role_checked() -> list[tuple[str, str]]:
    out = []
    for path in SERVICES:
        src = path.read_text("utf-8")
        for node in ast.parse(src).body:
            if (
                isinstance(node, ast.FunctionDef)
                and not node.name.startswith("_")
                and any(
                    check in (ast.get_source_segment(src, node) or "")
                    for check in ("require_role(", "_can_take_at_desk(")
                )
            ):
                out.append((plugin_of(path), node.name))
    return out


def dummy_args(fn, ctx: KioskContext, actor: Actor) -> dict:  # type: ignore[no-untyped-def, type-arg]
    args: dict = {}  # type: ignore[type-arg]
    for name, prm in inspect.signature(fn).parameters.items():
        if name == "actor":
            args[name] = actor
        elif prm.default is not inspect.Parameter.empty:
            continue
        elif name == "ctx":
            args[name] = ctx
        elif name == "session":
            args[name] = None  # never reached: the role check comes first
        elif "int" in str(prm.annotation) and "str" not in str(prm.annotation):
            args[name] = 1
        else:
            args[name] = "x"
    return args


CHECKED = [f for f in role_checked() if f not in RESIDENT_FACING]


def test_the_scan_finds_the_services() -> None:
    assert len(CHECKED) >= 40
    assert {plugin for plugin, _ in CHECKED} >= {
        "billing", "parcels", "parking", "repairs", "umbrellas", "visitors"
    }  # fmt: skip


@pytest.mark.parametrize("who", list(WRONG))
@pytest.mark.parametrize(("plugin", "name"), CHECKED, ids=[f"{p}.{n}" for p, n in CHECKED])
def test_the_wrong_role_is_refused_and_nothing_changes(
    sqlite_demo_url: str, plugin: str, name: str, who: str
) -> None:
    from tests.conftest import make_ctx

    ctx = make_ctx(sqlite_demo_url)
    fn = getattr(importlib.import_module(f"plugins.{plugin}.service"), name)
    with ctx.database().read() as s:
        before = s.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(PermissionDenied):
        fn(**dummy_args(fn, ctx, WRONG[who]))
    with ctx.database().read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == before
    ctx.database().dispose()


def test_every_state_changing_function_with_an_actor_checks_it() -> None:
    """A public service function that writes and takes an ``actor`` calls require_role, looks
    at ``actor.kind``, or is a known delegate; a new one without a check fails here."""
    missing = []
    for path in SERVICES:
        src = path.read_text("utf-8")
        functions = [n for n in ast.parse(src).body if isinstance(n, ast.FunctionDef)]
        # A private helper of the module that opens the write transaction (visitors'
        # _desk_changes_visit): a public function calling it writes as much as one that opens
        # the transaction itself.
        private_writers = [
            n.name
            for n in functions
            if n.name.startswith("_") and "write()" in (ast.get_source_segment(src, n) or "")
        ]
        for node in functions:
            if node.name.startswith("_"):
                continue
            params = [a.arg for a in node.args.args + node.args.kwonlyargs]
            body = ast.get_source_segment(src, node) or ""
            writes = "write()" in body or "_in(" in body
            writes = writes or any(f"{name}(" in body for name in private_writers)
            checks = "require_role(" in body or "actor.kind" in body or "_can_" in body
            # A module's own checking helper (repairs' _own_ticket: the household or the desk).
            checks = checks or "_own_ticket(" in body
            # The kiosk's household check (a resident identified by card or unit + PIN).
            checks = checks or "household_of(" in body
            key = (plugin_of(path), node.name)
            if "actor" in params and writes and not checks and key not in DELEGATES:
                missing.append(key)
    assert missing == []


def test_refusals_say_what_role_is_needed() -> None:
    from kiosk.identity import require_role

    with pytest.raises(Refused) as err:
        require_role(WRONG["resident"], "issue a parking card", "cashier")
    assert "cashier" in err.value.render()
