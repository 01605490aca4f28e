"""What a database failure is: the database gone (an outage) or held up past its timeout
(busy), as opposed to a bug in the code that ran the statement. The lobby and the desk turn
an outage into their out-of-service path; :mod:`kiosk.plugins` keeps a plugin whose hook
failed only because the database did."""

from __future__ import annotations


def error_chain(error: BaseException) -> list[BaseException]:
    """``error`` and what it wraps, outermost first: textual's ``WorkerFailed`` around a
    worker's error, else the cause or context (a StopIteration inside a handler surfaces as
    RuntimeError); each once, so a cycle ends the chain."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not e for e in seen):
        seen.append(current)
        wrapped = getattr(current, "error", None)
        current = (
            wrapped
            if isinstance(wrapped, BaseException)
            else (current.__cause__ or current.__context__)
        )
    return seen


# PostgreSQL: query_canceled (statement_timeout), lock_not_available (lock_timeout).
_BUSY_SQLSTATES = {"57014", "55P03"}


def is_database_busy(error: BaseException) -> bool:
    """Whether ``error`` is the database reachable but too busy to answer in time: another
    writer held the SQLite lock past ``busy_timeout``, or PostgreSQL cancelled the statement
    after ``statement_timeout``. Worth trying again in a moment; not an outage."""
    from sqlalchemy.exc import OperationalError

    for e in error_chain(error):
        if isinstance(e, OperationalError):
            orig = e.orig
            if getattr(orig, "sqlstate", None) in _BUSY_SQLSTATES:
                return True
            text = str(orig).lower()
            if "database is locked" in text or "database is busy" in text:
                return True
    return False


def is_database_outage(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps) is the database going away, not a bug."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    from kiosk.db import DatabaseUnavailable

    for e in error_chain(error):
        if isinstance(e, DatabaseUnavailable | OperationalError):
            return True
        if isinstance(e, DBAPIError) and e.connection_invalidated:
            return True
    return False
