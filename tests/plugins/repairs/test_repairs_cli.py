"""The whole lifecycle is scriptable: every step is a ``kiosk repairs ...`` command acting as a
signed-in staff member (``--staff`` + PIN) with ``--json``; a refusal is a message and exit 1."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kiosk import commands
from kiosk.db.models import AuditEvent
from plugins.repairs import cli as repairs_cli

BUTLER = ["--staff", "S001", "--pin", "2580"]
ENGINEER = ["--staff", "S003", "--pin", "8642"]
GUARD = ["--staff", "S004", "--pin", "9753"]
MANAGER = ["--staff", "S005", "--pin", "1470"]
SIGNATURE = json.dumps([[[2, 5], [4, 3], [6, 6], [9, 2], [12, 5]], [[13, 4], [16, 4]]])


@pytest.fixture
def run(ctx, monkeypatch):
    monkeypatch.setattr(repairs_cli, "context", lambda config: ctx)
    monkeypatch.setattr(commands, "context", lambda config: ctx)

    def invoke(*args: str, ok: bool = True) -> dict | list | str:
        out = CliRunner().invoke(repairs_cli.repairs_app, list(args))
        assert (out.exit_code == 0) is ok, (args, out.output, out.exception)
        if not ok:
            return out.output
        return json.loads(out.output) if "--json" in args else out.output

    return invoke


def test_a_repair_is_scripted_from_filing_to_close(ctx, run) -> None:
    t = run("file", "--category", "plumbing.blocked_drain", "--unit", "3-1205",
            "--phone", "13812345678", *BUTLER, "--json")  # fmt: skip
    number = t["number"]
    assert t["status"] == "new" and t["paid"] and t["phone"] == "138****5678"
    assert run("confirm", number, *BUTLER, "--json")["status"] == "confirmed"
    assert "the resident must agree" in run("dispatch", number, *BUTLER, ok=False)
    assert run("quote", number, "60.00", *ENGINEER, "--json")["price_fen"] == 6000
    run("consent", number, "--accept", *BUTLER, "--json")
    assert run("dispatch", number, "--to", "赵工程", *BUTLER, "--json")["status"] == "dispatched"
    assert run("start", number, *ENGINEER, "--json")["status"] == "in_progress"
    assert "dot is not a signature" in run("complete", number, "--signature", "[[[1,1]]]",
                                           *ENGINEER, ok=False)  # fmt: skip
    done = run("complete", number, "--signature", SIGNATURE, *ENGINEER, "--json")
    assert done["status"] == "completed"
    assert run("visit", number, "2", *BUTLER, "--json")["status"] == "reopened"
    run("start", number, *ENGINEER, "--json")
    run("complete", number, "--signature", SIGNATURE, *ENGINEER, "--json")
    assert run("close", number, *BUTLER, "--json")["status"] == "closed"
    assert (
        run("reopen", number, "--reason", "blocked again", *BUTLER, "--json")["reopen_count"] == 2
    )
    listed = run("list", *BUTLER, "--json")
    assert [x["number"] for x in listed] == [number]
    assert number in run("list", *BUTLER)


def test_reclassify_and_defer_are_commands(ctx, run) -> None:
    t = run("file", "--category", "doors.window", "--unit", "1-101", *BUTLER, "--json")
    assert run("reclassify", t["number"], "--emergency", *BUTLER, "--json")["emergency"] is True
    run("confirm", t["number"], *BUTLER, "--json")
    out = run("defer", t["number"], "--until", "2030-01-01 10:00", "--reason", "glass on order",
              *ENGINEER, "--json")  # fmt: skip
    assert out["status"] == "deferred"
    assert "YYYY-MM-DD" in run("defer", t["number"], "--until", "soon", "--reason", "x",
                               *ENGINEER, ok=False)  # fmt: skip


def test_a_complaint_is_scripted_forward_judge_grade_reply(ctx, run) -> None:
    c = run("file", "--category", "complaint.service", "--unit", "2-803", *GUARD, "--json")
    number = c["number"]
    run("forward", number, "--to", "客服中心", *GUARD, "--json")
    assert "explanation" in run("judge", number, "--invalid", *MANAGER, ok=False)
    assert run("judge", number, "--valid", *MANAGER, "--json")["valid"] is True
    assert run("grade", number, "important", *MANAGER, "--json")["severity"] == "important"
    run("confirm", number, *BUTLER, "--json")
    run("dispatch", number, "--to", "客服中心", *BUTLER, "--json")
    run("start", number, *BUTLER, "--json")
    run("complete", number, "--signature", SIGNATURE, *BUTLER, "--json")
    run("reply", number, "已向当班保安核实并道歉", *MANAGER, "--json")
    with ctx.database().read() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(
            AuditEvent.subject == f"repair:{number}")))  # fmt: skip
    for step in ("complaint.forwarded", "complaint.judged", "complaint.graded",
                 "complaint.replied"):  # fmt: skip
        assert step in actions
    invalid = run("file", "--category", "complaint.noise", "--unit", "2-803", *BUTLER, "--json")
    closed = run("judge", invalid["number"], "--invalid", "--explanation", "许可时间内施工",
                 *MANAGER, "--json")  # fmt: skip
    assert closed["status"] == "closed" and closed["explanation"] == "许可时间内施工"


def test_a_wrong_pin_or_a_step_out_of_order_is_a_message_not_a_traceback(ctx, run) -> None:
    out = run("list", "--staff", "S001", "--pin", "0000", ok=False)
    assert out.startswith("kiosk: ") and "Traceback" not in out
    t = run("file", "--category", "plumbing.leak", "--unit", "1-101", *BUTLER, "--json")
    out = run("start", t["number"], *ENGINEER, ok=False)
    assert out.startswith("kiosk: ") and t["number"] in out
    assert run("grade", t["number"], "major", *ENGINEER, ok=False).startswith("kiosk: ")
    assert "kiosk: " in run("quote", t["number"], "lots", *ENGINEER, ok=False)


def test_sweep_and_daily_check_print_the_missed_deadlines(ctx, run) -> None:
    c = run("file", "--category", "complaint.security", "--unit", "2-803", *GUARD, "--json")
    ctx.clock.advance(minutes=11)
    assert json.loads(run("sweep"))["forwards_late"] == [c["number"]]
    assert json.loads(run("daily-check"))["forwards_late"] == [c["number"]]
    assert run("sla", "--json")["forwards_late"] == [c["number"]]
