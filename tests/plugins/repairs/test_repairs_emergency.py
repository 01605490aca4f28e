"""Emergencies (000: burst pipe, smoking appliance, sudden loss of water or power; people trapped,
electricity or gas leaking) are recognised from the resident's own words, and the desk can
correct the classification."""

from __future__ import annotations

import pytest
from repairs_helpers import BUTLER, resident
from sqlalchemy import select

from kiosk.db.models import DeskAlert, Notification
from kiosk.errors import Refused
from plugins.repairs import service
from plugins.repairs.rules import emergency_signs

EMERGENCIES = {
    "厨房水管爆了，到处是水": "burst_pipe",
    "卫生间水管爆裂": "burst_pipe",
    "热水器接口在喷水": "burst_pipe",
    "楼上跑水，天花板在滴": "burst_pipe",
    "The pipe under the sink burst pipe, flooding the kitchen": "burst_pipe",
    "插座冒烟了": "smoke_fire",
    "空调有焦味": "smoke_fire",
    "微波炉起火了": "smoke_fire",
    "The fridge is smoking": "smoke_fire",
    "早上起来就停水了": "no_water",
    "家里没水了": "no_water",
    "家里突然停电了": "no_power",
    "整栋楼都没电": "no_power",
    "总闸跳闸合不上": "no_power",
    "Power cut in the whole flat": "no_power",
    "电梯困人！3号楼": "lift_trapped",
    "我妈被困电梯里": "lift_trapped",
    "Someone is stuck in the lift": "lift_trapped",
    "洗衣机漏电，手碰到麻": "electric_leak",
    "厨房有燃气味": "gas",
    "煤气味很重": "gas",
    "I can smell gas in the corridor": "gas",
}

ORDINARY = [
    "水龙头有点滴水",
    "灯泡坏了",
    "门锁不太好用",
    "插座松了，没有冒烟",
    "请问下周的停水通知是几点",
    "楼道灭火器过期了",
    "防火门关不上",
    "The smoke detector beeps",
    "Kitchen tap drips",
    "空调不制冷",
    "没停电，只是灯不亮",
]


@pytest.mark.parametrize(("text", "kind"), EMERGENCIES.items())
def test_an_emergency_is_recognised_from_everyday_words(text: str, kind: str) -> None:
    assert kind in emergency_signs(text)


@pytest.mark.parametrize("text", ORDINARY)
def test_an_ordinary_request_or_a_negated_sign_is_not_an_emergency(text: str) -> None:
    assert emergency_signs(text) == []


def test_a_burst_pipe_described_under_an_ordinary_category_calls_engineering_at_once(ctx) -> None:
    t = service.file_ticket(
        ctx, resident(ctx, "张伟"), category="plumbing.leak", description="水管爆了，喷水"
    )
    assert t.emergency
    with ctx.database().read() as s:
        alerts = s.scalars(select(DeskAlert).where(DeskAlert.kind == "repair_emergency")).all()
        sent = s.scalars(
            select(Notification).where(Notification.template == "repair_emergency")
        ).all()
    assert [a.severity for a in alerts] == ["urgent"] and t.number in alerts[0].message
    assert len(sent) == 1 and sent[0].recipient == "engineering"
    # Engineering's phone gets the category by name in their language, never its code.
    from kiosk.notify_messages import render

    _title, body = render(sent[0].template, sent[0].payload, "zh_CN")
    assert "plumbing" not in body and "请立即响应" in body
    assert "plumbing" not in render(sent[0].template, sent[0].payload, "en")[1]


def test_the_resident_saying_it_is_urgent_makes_it_an_emergency(ctx) -> None:
    t = service.file_ticket(ctx, resident(ctx, "张伟"), category="doors.window", urgent=True)
    assert t.emergency


def test_the_desk_reclassifies_an_emergency_the_kiosk_missed_and_engineering_is_called(
    ctx,
) -> None:
    t = service.file_ticket(
        ctx, resident(ctx, "张伟"), category="doors.window", description="窗户关不上"
    )
    assert not t.emergency
    again = service.reclassify(ctx, BUTLER, t.number, emergency=True, note="玻璃碎了有人受伤")
    assert again.emergency
    with ctx.database().read() as s:
        alerts = s.scalars(select(DeskAlert.message).where(DeskAlert.kind == "repair_emergency"))
        assert any(t.number in m for m in alerts)
    down = service.reclassify(ctx, BUTLER, t.number, emergency=False)
    assert not down.emergency


def test_a_resident_cannot_reclassify_a_ticket(ctx) -> None:
    who = resident(ctx, "张伟")
    t = service.file_ticket(ctx, who, category="doors.window")
    with pytest.raises(Refused):
        service.reclassify(ctx, who, t.number, emergency=True)
