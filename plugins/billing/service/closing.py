"""QR orders that end without a notification: polled while the QR is on screen, expired,
cancelled by the payer. The provider is always asked first, so an order paid at the last
second is applied, never closed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, update

from kiosk import audit
from plugins.billing.models import PaymentOrder
from plugins.billing.providers import OrderState, PaidNotice, ProviderError
from plugins.billing.service.bills import provider
from plugins.billing.service.orders import (
    OrderView,
    apply_paid_notice,
    close_at_providers,
    log,
    order_status,
)

if TYPE_CHECKING:
    from kiosk.context import KioskContext


def poll_order(ctx: KioskContext, out_trade_no: str) -> OrderView:
    """Ask the provider about a pending order (the kiosk polls while the QR is shown, so a
    payment lands even when the notification never reaches an on-premises kiosk)."""
    current = order_status(ctx, out_trade_no)
    if current.status != "pending":
        return current
    state = _bound(
        provider(ctx, current.provider).query(out_trade_no), out_trade_no, current.amount_fen
    )
    if state.status == "paid":
        apply_paid_notice(
            ctx,
            current.provider,
            PaidNotice(
                out_trade_no, state.txn_id, state.amount_fen, state.paid_at or ctx.clock.now()
            ),
        )
        close_at_providers(ctx)
    return order_status(ctx, out_trade_no)


def _bound(state: OrderState, out_trade_no: str, amount_fen: int) -> OrderState:
    """A provider's "paid" answer counts only for the order's own amount (the provider checked
    it is about this order number): an answer for another amount is not this order's."""
    if state.status == "paid" and state.amount_fen != amount_fen:
        log.warning(
            "query of %s answered paid for %s, the order is for %s: ignored",
            out_trade_no,
            state.amount_fen,
            amount_fen,
        )
        return OrderState("unknown")
    return state


def expire_orders(ctx: KioskContext) -> list[str]:
    """Close pending orders past their expiry. Each is queried first: one paid at the last
    minute is applied, not closed. Returns the numbers closed."""
    now = ctx.clock.now()
    with ctx.database().read() as session:
        due = list(
            session.execute(
                select(
                    PaymentOrder.out_trade_no, PaymentOrder.provider, PaymentOrder.amount_fen
                ).where(PaymentOrder.status == "pending", PaymentOrder.expires_at <= now)
            )
        )
    closed = []
    for no, prov_name, amount_fen in due:
        prov = provider(ctx, prov_name)
        state = _bound(prov.query(no), no, amount_fen)
        if state.status == "paid":
            apply_paid_notice(
                ctx, prov_name, PaidNotice(no, state.txn_id, state.amount_fen, state.paid_at or now)
            )
            continue
        try:
            prov.close(no)
        except ProviderError as exc:
            log.warning("closing %s at %s failed: %s", no, prov_name, exc)
        with ctx.database().write() as session:
            changed = session.execute(
                update(PaymentOrder)
                .where(PaymentOrder.out_trade_no == no, PaymentOrder.status == "pending")
                .values(status="closed", close_reason="expired", closed_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if changed:
                audit.record_for(ctx, session, "system", "billing.order.expired", f"order:{no}", {})
                closed.append(no)
    close_at_providers(ctx)
    return closed


def cancel_order(ctx: KioskContext, out_trade_no: str) -> OrderView:
    """The payer pressed Cancel on the QR screen: close the pending order here and at its
    provider, so the code on screen can no longer be paid. The provider is asked first: an
    order paid at the last second is applied, not closed (its view then says "paid")."""
    current = order_status(ctx, out_trade_no)
    if current.status != "pending":
        return current
    prov = provider(ctx, current.provider)
    try:
        state = _bound(prov.query(out_trade_no), out_trade_no, current.amount_fen)
    except ProviderError as exc:
        log.warning("query of %s at %s failed: %s", out_trade_no, current.provider, exc)
        state = OrderState("unknown")
    if state.status == "paid":
        now = ctx.clock.now()
        apply_paid_notice(
            ctx,
            current.provider,
            PaidNotice(out_trade_no, state.txn_id, state.amount_fen, state.paid_at or now),
        )
        close_at_providers(ctx)
        return order_status(ctx, out_trade_no)
    try:
        prov.close(out_trade_no)
    except ProviderError as exc:
        log.warning("closing %s at %s failed: %s", out_trade_no, current.provider, exc)
    with ctx.database().write() as session:
        changed = session.execute(
            update(PaymentOrder)
            .where(PaymentOrder.out_trade_no == out_trade_no, PaymentOrder.status == "pending")
            .values(status="closed", close_reason="cancelled", closed_at=ctx.clock.now())
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if changed:
            audit.record_for(
                ctx, session, "system", "billing.order.cancelled", f"order:{out_trade_no}", {}
            )
    return order_status(ctx, out_trade_no)
