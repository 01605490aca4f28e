"""Guards against guessing: account lockouts and per-kiosk backoff, kept in the database.

Every thing a person can guess at has a :class:`~kiosk.db.models.LoginGuard` row, read and
updated under a row lock inside the caller's write transaction, so the processes of one kiosk
(and all kiosks of the estate) agree on it. Times come from the caller (``ctx.clock``).

- an *account* (a unit's PINs, a staff account at one kiosk) locks after ``max_attempts``
  failures; each lockout in a row doubles the next (``lockout_minutes`` up to
  ``lockout_max_minutes``) until a successful login;
- a *keypad* (every PIN, or every invite code, typed at one kiosk) lets ``free`` failures
  through in a window, then makes each next attempt wait 1 s, 2 s, 4 s ... up to the window;
  the count starts again after a window without failures, never on a success (a guesser who
  knows one PIN must not be able to reset it). The accounts that failed in the window are
  remembered so spraying across units can be told from one person's typos;
- a *budget* (invite codes estate-wide): at most ``limit`` failures per fixed window.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.clock import as_utc
from kiosk.db.models import LoginGuard

MAX_RECENT = 50


def guard(session: Session, scope: str, key: str) -> LoginGuard:
    """The guard of ``scope``/``key``, created when missing, locked until the transaction ends."""
    query = (
        select(LoginGuard)
        .where(LoginGuard.scope == scope, LoginGuard.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = session.scalars(query).first()
    if row is not None:
        return row
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    session.execute(
        insert(LoginGuard)
        .values(scope=scope, key=key, failures=0, level=0, recent=[])
        .on_conflict_do_nothing(index_elements=["scope", "key"])
    )
    return session.scalars(query).one()


def peek(session: Session, scope: str, key: str) -> LoginGuard | None:
    """The guard without locking it (to check whether it is closed), or None."""
    return session.scalars(
        select(LoginGuard)
        .where(LoginGuard.scope == scope, LoginGuard.key == key)
        .execution_options(populate_existing=True)
    ).first()


def locked_until(g: LoginGuard, now: dt.datetime) -> dt.datetime | None:
    """When the guard opens again, or None when it is open now."""
    if g.locked_until is not None and as_utc(g.locked_until) > now:
        return as_utc(g.locked_until)
    return None


# -- accounts -----------------------------------------------------------------------------------


def account_failed(
    g: LoginGuard,
    now: dt.datetime,
    max_attempts: int,
    lockout_minutes: int,
    lockout_max_minutes: int,
) -> bool:
    """Count a wrong PIN; True when this one locked the account."""
    g.failures = (g.failures or 0) + 1
    g.last_failure_at = now
    if g.failures < max_attempts:
        return False
    level = g.level or 0
    minutes = min(lockout_minutes * 2 ** min(level, 20), lockout_max_minutes)
    g.failures = 0
    g.level = level + 1
    g.locked_until = now + dt.timedelta(minutes=minutes)
    return True


def account_succeeded(g: LoginGuard) -> None:
    g.failures = 0
    g.level = 0
    g.locked_until = None


# -- keypads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeypadFailure:
    """After a failure at a keypad: how long it now waits, how many accounts failed there in
    the window, and whether the desk should be told (once per window)."""

    failures: int
    wait_until: dt.datetime | None
    accounts: int
    alert: bool


def keypad_failed(
    g: LoginGuard,
    now: dt.datetime,
    account: str,
    *,
    free: int,
    window_minutes: int,
    spray_accounts: int,
) -> KeypadFailure:
    """Count a failure at a keypad against ``account`` (e.g. ``unit:3-1205``)."""
    window = dt.timedelta(minutes=window_minutes)
    if g.last_failure_at is None or now - as_utc(g.last_failure_at) > window:
        g.failures = 0
        g.window_start = now
        g.recent = []
    g.failures = (g.failures or 0) + 1
    g.last_failure_at = now
    recent = [
        [a, t]
        for a, t in (g.recent or [])
        if a != account and now - dt.datetime.fromisoformat(t) <= window
    ]
    recent.append([account, now.isoformat()])
    g.recent = recent[-MAX_RECENT:]
    wait_until = None
    if g.failures > free:
        seconds = min(2 ** min(g.failures - free - 1, 30), int(window.total_seconds()))
        wait_until = g.locked_until = now + dt.timedelta(seconds=seconds)
    accounts = len(g.recent)
    suspicious = accounts >= spray_accounts or g.failures > free
    start = as_utc(g.window_start) if g.window_start is not None else now
    alert = suspicious and (g.alerted_at is None or as_utc(g.alerted_at) < start)
    if alert:
        g.alerted_at = now
    return KeypadFailure(g.failures, wait_until, accounts, alert)


# -- budgets ------------------------------------------------------------------------------------


def budget_failed(g: LoginGuard, now: dt.datetime, limit: int, window_minutes: int) -> bool:
    """Count a failure against a budget of ``limit`` per window; True when this one used it up
    (the guard is then closed until the window ends)."""
    window = dt.timedelta(minutes=window_minutes)
    if g.window_start is None or now - as_utc(g.window_start) >= window:
        g.window_start = now
        g.failures = 0
    g.failures = (g.failures or 0) + 1
    g.last_failure_at = now
    if g.failures >= limit:
        g.locked_until = as_utc(g.window_start) + window
        return g.failures == limit
    return False
