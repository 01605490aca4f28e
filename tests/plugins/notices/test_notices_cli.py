"""``kiosk notices ...`` as the desk uses it: the butler drafts, the manager approves, the
butler publishes; the issue register as CSV; refusals in one line, exit 1."""

from __future__ import annotations

import csv
import io
import json

from typer.testing import CliRunner

from kiosk.context import KioskContext
from tests.plugins.demo_people import cli_with, config_for


def cli():  # type: ignore[no-untyped-def]
    from plugins.notices.cli import register

    return cli_with("notices", register)


def run(*args: str) -> object:
    return CliRunner().invoke(cli(), ["notices", *args])


def test_draft_approve_publish_and_the_register(ctx: KioskContext, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cfg = ["-c", config_for(ctx, tmp_path)]
    butler, manager = ["--staff", "S001", "--pin", "2580"], ["--staff", "S005", "--pin", "1470"]
    out = run("draft", "--title", "消防演练", "--body", "周三", "--households", "--json",
              *butler, *cfg)  # fmt: skip
    assert out.exit_code == 0, out.output
    notice = json.loads(out.output)
    assert notice["status"] == "draft" and notice["number"] == ""
    out = run("approve", str(notice["id"]), *butler, *cfg)
    assert out.exit_code == 1 and "needs the role manager" in out.output
    out = run("approve", str(notice["id"]), "--json", *manager, *cfg)
    assert out.exit_code == 0, out.output
    number = json.loads(out.output)["number"]
    assert number.startswith("阳光花园通〔")
    assert run("publish", str(notice["id"]), *butler, *cfg).exit_code == 0
    out = run("current", "--json", *cfg)
    assert number in [n["number"] for n in json.loads(out.output)]
    out = run("reads", str(notice["id"]), *cfg)
    assert out.exit_code == 0 and "read by 0 of" in out.output
    out = run("register", *butler, *cfg)
    assert out.exit_code == 0, out.output
    rows = list(csv.reader(io.StringIO(out.output)))
    assert rows[0][:5] == ["发文日期", "编号", "标题", "内容", "发文部门"]
    assert any(r[1] == number and r[2] == "消防演练" for r in rows)
    out = run("draft", "--title", "x", "--expires", "tomorrow", *butler, *cfg)
    assert out.exit_code == 1 and "YYYY-MM-DD" in out.output


def test_a_listing_with_an_unknown_status_is_refused_not_empty(ctx: KioskContext, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A butler's typo must not read as "no notices": the read says what the statuses are.
    out = run("list", "--status", "publised", "-c", config_for(ctx, tmp_path))
    assert out.exit_code == 1
    assert "no notice status publised" in out.output and "published" in out.output
    assert "Traceback" not in out.output


def test_a_lobby_filter_takes_any_case_and_refuses_a_lobby_the_estate_has_not(
    ctx: KioskContext, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from plugins.notices import service
    from tests.plugins.notices.test_notices_procedure import _published

    only_b = _published(ctx, "B座", lobbies=("B",))
    cfg = ["-c", config_for(ctx, tmp_path)]
    out = run("current", "--lobby", "b", "--json", *cfg)
    assert out.exit_code == 0, out.output
    assert only_b.id in [n["id"] for n in json.loads(out.output)]
    out = run("current", "--lobby", "a", "--json", *cfg)
    assert only_b.id not in [n["id"] for n in json.loads(out.output)]
    out = run("current", "--lobby", "ZZZ", *cfg)
    assert out.exit_code == 1 and "There is no lobby ZZZ." in out.output
    assert "Traceback" not in out.output
    assert service.current(ctx, "B")  # the kiosk's own read is unchanged
