"""How a service writes: a change made once, and a function run in its own transaction.

Several kiosks and desks write to one database. A change that may race (a code used, a key
handed out, a pass approved) is a conditional ``UPDATE ... WHERE id = :id AND status = :was``
whose row count says whether this caller made it: :func:`change_once` runs it and refuses the
caller that lost. A service function that other services call inside their own transaction is
written once, as ``x_in(session, ctx, ...)``; :func:`in_own_transaction` gives the ``x(ctx,
...)`` a screen or a command calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, overload

from kiosk.errors import Refused

if TYPE_CHECKING:
    from sqlalchemy import Update
    from sqlalchemy.orm import Session

    from kiosk.context import KioskContext

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")


def change_once(session: Session, statement: Update, refusal: Refused) -> None:
    """Run the conditional update ``statement`` (one row, guarded by its current state) and
    raise ``refusal`` unless it changed that row: of two callers making the same change at
    once, exactly one goes on."""
    if session.execute(statement).rowcount != 1:  # type: ignore[attr-defined]
        raise refusal


@overload
def in_own_transaction(
    fn: Callable[Concatenate[Session, KioskContext, P], R],
) -> Callable[Concatenate[KioskContext, P], R]: ...


@overload
def in_own_transaction(
    fn: Callable[Concatenate[Session, KioskContext, P], R], then: Callable[[R], S]
) -> Callable[Concatenate[KioskContext, P], S]: ...


def in_own_transaction(
    fn: Callable[Concatenate[Session, KioskContext, P], Any],
    then: Callable[[Any], Any] | None = None,
) -> Callable[Concatenate[KioskContext, P], Any]:
    """``fn(session, ctx, ...)`` as ``f(ctx, ...)`` that opens a write transaction for it; its
    answer passed through ``then`` (e.g. the new row's id) before the transaction ends."""

    def run(ctx: KioskContext, /, *args: P.args, **kwargs: P.kwargs) -> Any:
        with ctx.database().write() as session:
            answer = fn(session, ctx, *args, **kwargs)
            return answer if then is None else then(answer)

    name = fn.__name__.removesuffix("_in")
    run.__name__, run.__qualname__, run.__module__ = name, name, fn.__module__
    run.__doc__ = f":func:`{fn.__name__}` in its own write transaction."
    return run
