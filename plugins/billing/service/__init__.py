"""Billing service: headless (no textual), used by the kiosk screens, the desk, the CLI and
other plugins alike.

Not for other plugins: they charge through the core (:func:`kiosk.charges.charge`, which
reaches :func:`add_charge_in` through the ``kiosk_charge`` hook) and use
:mod:`plugins.billing.api` for the rest (docs/billing.md).

- :func:`add_charge` / :func:`add_charge_in` — put a charge line (umbrella compensation, repair
  charge, parking rent, ...) on a unit's bill for a month; idempotent on ``source_ref``.
- :func:`create_payment_order` — a QR payment order for a bill, or for chosen lines of it.
- :func:`create_arrears_order` / :func:`record_desk_arrears_payment` — all of a household's
  open bills paid at once, oldest first, by QR or at the desk.
- :func:`take_deposit_in` — receive a deposit (e.g. a parking card's) into the deposit ledger.
- :func:`issue_bills` — tell each household its month's bill (a message with a link to pay it).

Every state change takes an :class:`~kiosk.identity.Actor`, checks roles, records an audit
event in the same transaction, and race-prone changes are conditional updates: an order goes
pending -> paid exactly once, a bill can never take more money than it is owed.

A package along its sections: :mod:`.bills` (configuration, bills and charges),
:mod:`.orders` (paying a bill, QR payment orders), :mod:`.closing` (orders polled,
expired, cancelled), :mod:`.desk` (cash and card at the desk, credit notes), :mod:`.rejections` (rejected
notices counted per provider), :mod:`.arrears` (all open bills at once),
:mod:`.issuing` (households told of their bills), :mod:`.receipts`, :mod:`.refunds`, :mod:`.deposits`, :mod:`.reports` (CSV import,
statements, reconciliation); every name is re-exported here.
"""

from plugins.billing.service.arrears import (
    create_arrears_order as create_arrears_order,
)
from plugins.billing.service.arrears import (
    record_desk_arrears_payment as record_desk_arrears_payment,
)
from plugins.billing.service.bills import (
    CHARGE_ROLES as CHARGE_ROLES,
)
from plugins.billing.service.bills import (
    DESK_ROLES as DESK_ROLES,
)
from plugins.billing.service.bills import (
    LINE_TITLES as LINE_TITLES,
)
from plugins.billing.service.bills import (
    ORDER_LIFETIME as ORDER_LIFETIME,
)
from plugins.billing.service.bills import (
    BillView as BillView,
)
from plugins.billing.service.bills import (
    LineView as LineView,
)
from plugins.billing.service.bills import (
    _can_charge as _can_charge,
)
from plugins.billing.service.bills import (
    _check_period as _check_period,
)
from plugins.billing.service.bills import (
    _due_date as _due_date,
)
from plugins.billing.service.bills import (
    _principal_outstanding as _principal_outstanding,
)
from plugins.billing.service.bills import (
    _providers as _providers,
)
from plugins.billing.service.bills import (
    _providers_lock as _providers_lock,
)
from plugins.billing.service.bills import (
    _ref as _ref,
)
from plugins.billing.service.bills import (
    add_charge as add_charge,
)
from plugins.billing.service.bills import (
    add_charge_in as add_charge_in,
)
from plugins.billing.service.bills import (
    bill_for as bill_for,
)
from plugins.billing.service.bills import (
    config as config,
)
from plugins.billing.service.bills import (
    current_period as current_period,
)
from plugins.billing.service.bills import (
    due_now_total as due_now_total,
)
from plugins.billing.service.bills import (
    get_bill as get_bill,
)
from plugins.billing.service.bills import (
    in_bill_order as in_bill_order,
)
from plugins.billing.service.bills import (
    kiosk_provider as kiosk_provider,
)
from plugins.billing.service.bills import (
    late_fee_now as late_fee_now,
)
from plugins.billing.service.bills import (
    late_fee_rule as late_fee_rule,
)
from plugins.billing.service.bills import (
    line_title as line_title,
)
from plugins.billing.service.bills import (
    lines_summary as lines_summary,
)
from plugins.billing.service.bills import (
    local_today as local_today,
)
from plugins.billing.service.bills import (
    open_bills as open_bills,
)
from plugins.billing.service.bills import (
    open_bills_in as open_bills_in,
)
from plugins.billing.service.bills import (
    order_lifetime as order_lifetime,
)
from plugins.billing.service.bills import (
    provider as provider,
)
from plugins.billing.service.bills import (
    providers as providers,
)
from plugins.billing.service.bills import (
    use_providers as use_providers,
)
from plugins.billing.service.bills import (
    view as view,
)
from plugins.billing.service.closing import (
    _bound as _bound,
)
from plugins.billing.service.closing import (
    cancel_order as cancel_order,
)
from plugins.billing.service.closing import (
    expire_orders as expire_orders,
)
from plugins.billing.service.closing import (
    poll_order as poll_order,
)
from plugins.billing.service.deposits import (
    DEPOSIT_KINDS as DEPOSIT_KINDS,
)
from plugins.billing.service.deposits import (
    _close_deposit as _close_deposit,
)
from plugins.billing.service.deposits import (
    _deposit_receipt as _deposit_receipt,
)
from plugins.billing.service.deposits import (
    deposit_kind_title as deposit_kind_title,
)
from plugins.billing.service.deposits import (
    end_deposit_in as end_deposit_in,
)
from plugins.billing.service.deposits import (
    refund_deposit as refund_deposit,
)
from plugins.billing.service.deposits import (
    take_deposit as take_deposit,
)
from plugins.billing.service.deposits import (
    take_deposit_in as take_deposit_in,
)
from plugins.billing.service.desk import (
    desk_payment_in as desk_payment_in,
)
from plugins.billing.service.desk import (
    issue_credit_note as issue_credit_note,
)
from plugins.billing.service.desk import (
    record_desk_payment as record_desk_payment,
)
from plugins.billing.service.issuing import (
    IssueResult as IssueResult,
)
from plugins.billing.service.issuing import (
    issue_bills as issue_bills,
)
from plugins.billing.service.orders import (
    SUPERSEDED as SUPERSEDED,
)
from plugins.billing.service.orders import (
    SUPERSEDED_DONE as SUPERSEDED_DONE,
)
from plugins.billing.service.orders import (
    NoticeOutcome as NoticeOutcome,
)
from plugins.billing.service.orders import (
    OrderView as OrderView,
)
from plugins.billing.service.orders import (
    _apply_payment as _apply_payment,
)
from plugins.billing.service.orders import (
    _chosen_lines as _chosen_lines,
)
from plugins.billing.service.orders import (
    _close_overlapping as _close_overlapping,
)
from plugins.billing.service.orders import (
    _close_pending_if_settled as _close_pending_if_settled,
)
from plugins.billing.service.orders import (
    _flag_order as _flag_order,
)
from plugins.billing.service.orders import (
    _not_won as _not_won,
)
from plugins.billing.service.orders import (
    _order_view as _order_view,
)
from plugins.billing.service.orders import (
    _release_lines as _release_lines,
)
from plugins.billing.service.orders import (
    _settle_order as _settle_order,
)
from plugins.billing.service.orders import (
    _supersede as _supersede,
)
from plugins.billing.service.orders import (
    _take_lines as _take_lines,
)
from plugins.billing.service.orders import (
    apply_paid_notice as apply_paid_notice,
)
from plugins.billing.service.orders import (
    close_at_providers as close_at_providers,
)
from plugins.billing.service.orders import (
    create_payment_order as create_payment_order,
)
from plugins.billing.service.orders import (
    handle_notification as handle_notification,
)
from plugins.billing.service.orders import (
    order_lines as order_lines,
)
from plugins.billing.service.orders import (
    order_status as order_status,
)
from plugins.billing.service.orders import (
    provider_label as provider_label,
)
from plugins.billing.service.receipts import (
    arrears_receipt as arrears_receipt,
)
from plugins.billing.service.receipts import (
    payment_receipt as payment_receipt,
)
from plugins.billing.service.receipts import (
    receipt_url as receipt_url,
)
from plugins.billing.service.refunds import (
    REFUND_OPEN as REFUND_OPEN,
)
from plugins.billing.service.refunds import (
    REFUND_RESOLVE_MINUTES as REFUND_RESOLVE_MINUTES,
)
from plugins.billing.service.refunds import (
    RefundResolution as RefundResolution,
)
from plugins.billing.service.refunds import (
    _ask_refund as _ask_refund,
)
from plugins.billing.service.refunds import (
    _audit_refund as _audit_refund,
)
from plugins.billing.service.refunds import (
    _record_refund as _record_refund,
)
from plugins.billing.service.refunds import (
    _send_refund as _send_refund,
)
from plugins.billing.service.refunds import (
    refund_flagged_order as refund_flagged_order,
)
from plugins.billing.service.refunds import (
    refund_payment as refund_payment,
)
from plugins.billing.service.refunds import (
    resolve_refunds as resolve_refunds,
)
from plugins.billing.service.rejections import (
    REJECT_WINDOW as REJECT_WINDOW,
)
from plugins.billing.service.rejections import (
    _note_rejection as _note_rejection,
)
from plugins.billing.service.rejections import (
    _Rejections as _Rejections,
)
from plugins.billing.service.rejections import (
    _rejections as _rejections,
)
from plugins.billing.service.rejections import (
    _rejections_lock as _rejections_lock,
)
from plugins.billing.service.rejections import (
    _rejections_of as _rejections_of,
)
from plugins.billing.service.rejections import (
    _take_summary as _take_summary,
)
from plugins.billing.service.rejections import (
    _write_rejection as _write_rejection,
)
from plugins.billing.service.rejections import (
    _write_summary as _write_summary,
)
from plugins.billing.service.rejections import (
    flush_rejections as flush_rejections,
)
from plugins.billing.service.reports import (
    CSV_COLUMNS as CSV_COLUMNS,
)
from plugins.billing.service.reports import (
    FlaggedOrder as FlaggedOrder,
)
from plugins.billing.service.reports import (
    ImportResult as ImportResult,
)
from plugins.billing.service.reports import (
    Mismatch as Mismatch,
)
from plugins.billing.service.reports import (
    Reconciliation as Reconciliation,
)
from plugins.billing.service.reports import (
    UnitStatement as UnitStatement,
)
from plugins.billing.service.reports import (
    flagged_orders as flagged_orders,
)
from plugins.billing.service.reports import (
    import_bills_csv as import_bills_csv,
)
from plugins.billing.service.reports import (
    receipt_job as receipt_job,
)
from plugins.billing.service.reports import (
    reconcile as reconcile,
)
from plugins.billing.service.reports import (
    unit_statement as unit_statement,
)
