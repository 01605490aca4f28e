"""Billing tables: bills and their lines, credit notes, payments, payment orders, the deposit
ledger and the log of provider notifications.

Money is integer fen, enums are strings (checked in the service), times are UTC. A bill's
balance is ``lines - credits - paid``; late fees become a ``late_fee`` line when a payment
crystallises them (see :mod:`plugins.billing.fees`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kiosk.db import Base
from kiosk.db.models import ActorName, KioskId, Person, UnitRef

LINE_KINDS = (
    "property_fee",
    "parking_rent",
    "utilities",
    "repair",
    "umbrella",
    "late_fee",
    "other",
)
BILL_STATUSES = ("open", "paid")
ORDER_STATUSES = ("pending", "paid", "closed")
ORDER_FLAGS = ("", "amount_mismatch", "paid_after_close", "bill_already_paid")
PAYMENT_METHODS = ("qr", "cash", "card")
DEPOSIT_STATUSES = ("held", "refunded", "forfeited")


class Bill(Base):
    """One unit's bill for one period (``2026-11``)."""

    __tablename__ = "billing_bill"
    __table_args__ = (UniqueConstraint("unit_id", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    unit_id: Mapped[UnitRef] = mapped_column(index=True)
    period: Mapped[str] = mapped_column(String(7))
    due_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    # Running totals kept with conditional updates, so two payments can never both land.
    charged_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    credited_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    late_fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # Late fee is accrued up to this date (the due date until a payment crystallises it).
    late_fee_through: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime]
    paid_at: Mapped[dt.datetime | None]
    # When the household was sent the bill (service.issue_bills); None: not yet.
    issued_at: Mapped[dt.datetime | None]
    lines: Mapped[list[BillLine]] = relationship(back_populates="bill", order_by="BillLine.id")

    @property
    def balance_fen(self) -> int:
        """What is still owed, late fees crystallised so far included."""
        return self.charged_fen - self.credited_fen - self.paid_fen


class BillLine(Base):
    """A charge on a bill: property fee, parking rent, utilities, repair, umbrella, late fee."""

    __tablename__ = "billing_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("billing_bill.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    description: Mapped[str] = mapped_column(String(200), default="")
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # Who asked for it ("umbrellas:loan:12", "csv:2026-11"): a charge from a source lands once.
    source_ref: Mapped[str] = mapped_column(String(100), default="", index=True)
    created_at: Mapped[dt.datetime]
    # Paid on its own by an order for chosen charges (the bill may still owe the rest); a
    # line of a paid bill is paid whatever this says.
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    bill: Mapped[Bill] = relationship(back_populates="lines")


class CreditNote(Base):
    """A reduction of a bill (红冲), with its reason and who issued it."""

    __tablename__ = "billing_credit_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("billing_bill.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
    issued_by: Mapped[ActorName]
    issued_at: Mapped[dt.datetime]


class PaymentOrder(Base):
    """A QR payment in progress at one provider: pending -> paid exactly once, or closed."""

    __tablename__ = "billing_order"
    __table_args__ = (Index("ix_billing_order_status_expires", "status", "expires_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(40), unique=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("billing_bill.id"), index=True)
    unit_id: Mapped[UnitRef] = mapped_column(index=True)
    # The bill lines this order pays, "12,13" ("" = everything the bill owes). An order for a
    # household's arrears lists its bills in billing_order_bill; bill_id is the oldest of them.
    line_ids: Mapped[str] = mapped_column(String(400), default="", server_default="")
    provider: Mapped[str] = mapped_column(String(32))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    late_fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    close_reason: Mapped[str] = mapped_column(String(32), default="")
    flag: Mapped[str] = mapped_column(String(32), default="")
    qr_content: Mapped[str] = mapped_column(Text, default="")
    provider_order_id: Mapped[str] = mapped_column(String(64), default="")
    provider_txn_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    notified_amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    kiosk_id: Mapped[KioskId]
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    paid_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]


class OrderBill(Base):
    """One of the bills an order for a household's arrears pays, and its share: what the bill
    owed when the order was made, late fee included (``late_fee_fen`` of it)."""

    __tablename__ = "billing_order_bill"
    __table_args__ = (UniqueConstraint("order_id", "bill_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("billing_order.id"))
    bill_id: Mapped[int] = mapped_column(ForeignKey("billing_bill.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    late_fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class Payment(Base):
    """Money received against a bill: a paid QR order, or cash / card at the cashier. An order
    for several bills pays each with its own payment (at most one per bill and order)."""

    __tablename__ = "billing_payment"
    __table_args__ = (UniqueConstraint("bill_id", "order_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(40), unique=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("billing_bill.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("billing_order.id"), index=True)
    method: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(32), default="")
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    late_fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    received_by: Mapped[ActorName]
    paid_at: Mapped[dt.datetime]


class Refund(Base):
    """Money given back for a payment (manager only), at the provider or in cash."""

    __tablename__ = "billing_refund"
    id: Mapped[int] = mapped_column(primary_key=True)
    refund_no: Mapped[str] = mapped_column(String(40), unique=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("billing_payment.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("billing_order.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="done")
    refunded_by: Mapped[ActorName]
    refunded_at: Mapped[dt.datetime]


class Deposit(Base):
    """A deposit (押金, e.g. a parking card's) held for a unit: its own ledger and 收据."""

    __tablename__ = "billing_deposit"
    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_no: Mapped[str] = mapped_column(String(40), unique=True)
    unit_id: Mapped[UnitRef] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(200), default="")
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str] = mapped_column(String(16), default="cash")
    status: Mapped[str] = mapped_column(String(16), default="held")
    source_ref: Mapped[str] = mapped_column(String(100), default="", index=True)
    received_by: Mapped[ActorName]
    received_at: Mapped[dt.datetime]
    refund_no: Mapped[str | None] = mapped_column(String(40), unique=True)
    refunded_by: Mapped[Person]
    refunded_at: Mapped[dt.datetime | None]


class NoticeLog(Base):
    """Every accepted provider notification; rejected ones (forgeries, replays) as the first
    of each minute per provider plus one "N more rejected" summary row."""

    __tablename__ = "billing_notice"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[dt.datetime]
    verdict: Mapped[str] = mapped_column(String(24))
    out_trade_no: Mapped[str] = mapped_column(String(40), default="")
    txn_id: Mapped[str] = mapped_column(String(64), default="")
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str] = mapped_column(String(300), default="")
