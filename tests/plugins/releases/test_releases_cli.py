"""The pass is scriptable: ``kiosk releases request|confirm-owner|approve|check|exit|register``
act as a signed-in staff member (``--staff`` + PIN) with ``--json``; a refusal is exit 1."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kiosk import commands
from plugins.keys import cli as keys_cli
from plugins.releases import cli as releases_cli

BUTLER = ["--staff", "S001", "--pin", "2580"]
GUARD = ["--staff", "S004", "--pin", "9753"]
SIGNATURE = json.dumps([[[2, 5], [4, 3], [6, 6], [9, 2], [12, 5]]])


@pytest.fixture
def run(ctx, monkeypatch):
    monkeypatch.setattr(commands, "context", lambda config: ctx)  # every command opens it there

    def invoke(app, *args: str, ok: bool = True):  # type: ignore[no-untyped-def]
        out = CliRunner().invoke(app, list(args))
        assert (out.exit_code == 0) is ok, (args, out.output, out.exception)
        if not ok:
            return out.output
        return json.loads(out.output) if "--json" in args else out.output

    return invoke


def test_a_tenants_pass_is_scripted_from_request_to_exit(ctx, run) -> None:
    app = releases_cli.releases_app
    p = run(app, "request", "--unit", "3-1205", "--applicant", "Emily Wang", "--carrier", "老李",
            "--items", "书桌", "--signature", SIGNATURE, *BUTLER, "--json")  # fmt: skip
    assert p["status"] == "requested" and p["applicant_role"] == "tenant"
    number = str(p["id"])
    assert "phone the owner" in run(app, "approve", number, "--signature", SIGNATURE, *BUTLER,
                                    ok=False)  # fmt: skip
    run(app, "confirm-owner", number, "--note", "10:32 业主同意", *BUTLER, "--json")
    done = run(app, "approve", number, "--signature", SIGNATURE, *BUTLER, "--json")
    assert done["status"] == "approved"
    assert "not a valid" in run(app, "check", done["qr"][:-1] + "x", *GUARD, ok=False)
    assert run(app, "check", done["qr"], *GUARD, "--json")["items"] == "书桌"
    assert (
        run(app, "exit", done["qr"], "--signature", SIGNATURE, *GUARD, "--json")["status"] == "used"
    )
    assert "used" in run(app, "exit", done["qr"], "--signature", SIGNATURE, *GUARD, ok=False)
    assert done["number"] in run(app, "register", *GUARD)


def test_keys_are_scripted_into_custody_out_and_back(ctx, run) -> None:
    app = keys_cli.keys_app
    taken = run(app, "take", "--unit", "1-101", "--key", "入户门", "--box", "B1", "--slot", "07",
                "--owner", "张伟", "--authorisation", "委托书", "--vacant", *BUTLER, "--json")  # fmt: skip
    assert taken == ["K0001"]
    assert "accompanied" in run(app, "out", "K0001", "--person", "陈某", "--id", "310101199001011234",
                                "--purpose", "viewing", "--signature", SIGNATURE, *BUTLER, ok=False)  # fmt: skip
    out = run(app, "out", "K0001", "--person", "陈某", "--id", "310101199001011234", "--purpose",
              "viewing", "--with", "S005", "--signature", SIGNATURE, *BUTLER, "--json")  # fmt: skip
    assert out["status"] == "out" and out["accompanied_by"].startswith("S005")
    assert (
        run(app, "back", "K0001", "--signature", SIGNATURE, *BUTLER, "--json")["status"] == "in_box"
    )
    assert "K0001" in run(app, "list")
