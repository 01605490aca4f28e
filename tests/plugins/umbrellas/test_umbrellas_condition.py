"""雨伞 (000): the condition is checked at lending and noted in the register; damage or loss at
return is compensated at the original price — but never damage that was already there, and
only the borrowing household (or staff) can declare it. Damaged and lost umbrellas are reported
to the property department for replacement (上报物业部更换)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from umbrellas_helpers import BUTLER, resident

from kiosk.context import KioskContext
from kiosk.errors import Refused
from kiosk.identity import Actor
from plugins.umbrellas import service
from plugins.umbrellas.models import Umbrella


def _state(ctx: KioskContext, tag: str) -> str:
    with ctx.database().read() as s:
        return s.scalar(select(Umbrella.state).where(Umbrella.tag == tag))


def test_the_loan_carries_the_condition_the_butler_recorded_not_intact(ctx) -> None:
    service.note_condition(ctx, BUTLER, "U001", "one bent rib")
    assert service.condition_of(ctx, "U001") == "one bent rib"
    loan = service.lend(ctx, resident(ctx, "张伟"), "U001")
    assert loan.condition_out == "one bent rib"


def test_a_resident_cannot_overwrite_the_recorded_condition_at_lending(ctx) -> None:
    service.note_condition(ctx, BUTLER, "U001", "stained cover")
    loan = service.lend(ctx, resident(ctx, "张伟"), "U001", condition_out="intact")
    assert loan.condition_out == "stained cover"


def test_damage_that_was_already_there_is_not_charged_at_return(ctx) -> None:
    service.note_condition(ctx, BUTLER, "U001", "one bent rib")
    who = resident(ctx, "张伟")
    service.lend(ctx, who, "U001")
    back = service.return_umbrella(ctx, who, "U001", "damaged")
    assert back.compensation_fen == 0
    assert _state(ctx, "U001") == "damaged"


def test_an_umbrella_lent_intact_and_returned_damaged_is_charged_its_original_price(ctx) -> None:
    who = resident(ctx, "张伟")
    loan = service.lend(ctx, who, "U001")
    back = service.return_umbrella(ctx, who, "U001", "damaged")
    assert loan.condition_out == "intact" and back.compensation_fen == loan.price_fen > 0


def test_a_lost_umbrella_is_charged_whatever_its_condition_when_lent(ctx) -> None:
    service.note_condition(ctx, BUTLER, "U001", "one bent rib")
    who = resident(ctx, "张伟")
    loan = service.lend(ctx, who, "U001")
    assert service.return_umbrella(ctx, who, "U001", "lost").compensation_fen == loan.price_fen


@pytest.mark.parametrize("condition", ["damaged", "lost"])
def test_only_the_borrowing_household_can_declare_its_umbrella_damaged_or_lost(
    ctx, condition: str
) -> None:
    service.lend(ctx, resident(ctx, "张伟"), "U001")
    for other in (resident(ctx, "刘芳"), Actor("kiosk")):
        with pytest.raises(Refused) as err:
            service.return_umbrella(ctx, other, "U001", condition)
        assert err.value.code == "umbrellas.not_borrower"
    assert _state(ctx, "U001") == "lent"
    assert service.return_umbrella(ctx, BUTLER, "U001", condition).compensation_fen > 0


def test_anyone_may_hand_an_umbrella_back_intact(ctx) -> None:
    service.lend(ctx, resident(ctx, "张伟"), "U001")
    back = service.return_umbrella(ctx, Actor("kiosk"), "U001", "intact")
    assert back.compensation_fen == 0 and _state(ctx, "U001") == "available"


def test_damaged_and_lost_umbrellas_appear_in_the_replacement_report(ctx) -> None:
    zhang, liu = resident(ctx, "张伟"), resident(ctx, "刘芳")
    service.lend(ctx, zhang, "U001")
    service.return_umbrella(ctx, zhang, "U001", "damaged")
    service.lend(ctx, liu, "U002")
    service.return_umbrella(ctx, liu, "U002", "lost")
    report = {line.tag: line for line in service.replacement_report(ctx)}
    assert set(report) == {"U001", "U002"}
    assert report["U001"].state == "damaged" and report["U001"].unit_code == "1-101"
    assert report["U002"].state == "lost" and report["U002"].unit_code == "2-803"
    assert report["U001"].reported_at is not None


def test_the_desk_replaces_a_reported_umbrella_and_it_leaves_the_report(ctx) -> None:
    who = resident(ctx, "张伟")
    service.lend(ctx, who, "U001")
    service.return_umbrella(ctx, who, "U001", "lost")
    service.replace_umbrella(ctx, BUTLER, "U001", "U101")
    assert _state(ctx, "U001") == "retired" and _state(ctx, "U101") == "available"
    assert [line.tag for line in service.replacement_report(ctx)] == []
    with pytest.raises(Refused) as err:
        service.replace_umbrella(ctx, BUTLER, "U002", "U102")
    assert err.value.code == "umbrellas.not_reported"


def test_the_desk_reads_stock_and_the_replacement_report_from_the_command_line(
    ctx, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from plugins.umbrellas.cli import register
    from tests.plugins.demo_people import cli_with, config_for

    who = resident(ctx, "张伟")
    service.lend(ctx, who, "U001")
    service.return_umbrella(ctx, who, "U001", "lost")
    cfg = config_for(ctx, tmp_path)

    def run(*args: str) -> str:
        out = CliRunner().invoke(cli_with("umbrellas", register), ["umbrellas", *args, "-c", cfg])
        assert out.exit_code == 0, out.output
        return out.stdout

    stock = json.loads(run("stock", "--json"))
    assert sum(states.get("lost", 0) for states in stock.values()) == 1
    assert any("lost 1" in line for line in run("stock").splitlines())
    rows = json.loads(run("replacement", "--json"))
    assert [(r["tag"], r["state"], r["unit_code"]) for r in rows] == [("U001", "lost", "1-101")]
    assert run("replacement").startswith(f"{rows[0]['lobby']} U001 ")
