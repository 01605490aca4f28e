"""Every billing screen, in Chinese and English, at 80x24 and 120x40 (SVG snapshots)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from textual.app import App

from kiosk.i18n import set_language
from plugins.billing.screens import BillsScreen, ExpiredScreen, PaidScreen, PayQRScreen
from plugins.billing.service import OrderView
from tests.screens import screen_ctx

ORDER = OrderView(
    out_trade_no="KO20261123020000A1B2C3D4",
    provider="wechat-native",
    bill_number="B202610-3-1205",
    amount_fen=2633642,
    late_fee_fen=37642,
    qr_content="weixin://wxpay/bizpayurl?pr=Kx3bT9a",
    status="paid",
    expires_at=dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC),
    receipt_no="SK20261123A1B2C3D4",
)
ARREARS = dataclasses.replace(
    ORDER,
    bill_number="B202610-3-1205",
    bill_numbers=("B202610-3-1205", "B202611-3-1205"),
    amount_fen=75317,
    late_fee_fen=567,
    status="pending",
)


class OneScreen(App[None]):
    def __init__(self, screen_factory) -> None:
        super().__init__()
        self.factory = screen_factory

    def on_mount(self) -> None:
        self.push_screen(self.factory())


@pytest.fixture
def snap_ctx(sqlite_demo_url):
    with screen_ctx(sqlite_demo_url) as ctx:
        yield ctx


def _resident(ctx):
    from sqlalchemy import select

    from kiosk.db.models import Resident, Unit
    from kiosk.identity import Actor

    with ctx.database().read() as s:
        r = s.scalars(
            select(Resident).join(Unit).where(Unit.code == "3-1205").order_by(Resident.id)
        ).first()
        return Actor.of_resident(r)


SCREENS = {
    "bills": lambda ctx: BillsScreen(ctx, _resident(ctx)),
    "qr": lambda ctx: PayQRScreen(ctx, None, ORDER),
    "arrears-qr": lambda ctx: PayQRScreen(ctx, None, ARREARS),
    "paid": lambda ctx: PaidScreen(ctx, None, ORDER),
    "expired": lambda ctx: ExpiredScreen(ctx, None, ORDER),
}


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("screen", sorted(SCREENS))
def test_billing_screen_snapshot(snap_compare, snap_ctx, screen, lang, size) -> None:
    set_language(lang)
    app = OneScreen(lambda: SCREENS[screen](snap_ctx))
    assert snap_compare(app, terminal_size=size)
