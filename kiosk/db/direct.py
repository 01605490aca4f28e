"""Hot statements run on the driver's cursor, below SQLAlchemy's execution path.

A prebuilt Core statement costs 0.1-0.15 ms of Python CPU in SQLAlchemy's execution (execution
context, result metadata, row processing), the same SQL on psycopg's cursor about 0.05 ms; on
a kiosk that wakes from a pause with cold caches the gap is some 0.4 ms a statement (see
docs/architecture.md, "What an operation costs"). :func:`execute` runs a statement that is
executed on every operation (the audit chain's two, a card tap's, a payment's) that way on
PostgreSQL: compiled once per statement, its parameters processed as SQLAlchemy would (the
type's bind and result processors applied), errors raised as SQLAlchemy's (a lost connection
invalidated, so the pool opens another). The statement still runs in the caller's transaction,
on the connection's DBAPI connection; round trips are the same.

An expanding ``IN`` list (``col.in_(bindparam("ids", expanding=True))``) is sent as one array,
``col = ANY (%(ids)s::INTEGER[])`` (``NOT IN`` as ``<> ALL``): one statement for every length of
the list, where SQLAlchemy renders and caches one per length. What this path does not handle
goes the ordinary way: SQLite (not where the CPU is spent: a kiosk with SQLite is alone),
other post-compile parameters and lists whose elements need bind processing, escaped bind
names, defaults computed at execution, and any connection whose engine has listeners to
``before_cursor_execute`` or ``after_cursor_execute`` (they see every statement). The statements stay written in SQLAlchemy's Core, and the ordinary path is what the
SQLite half of the suite runs, so each runs both ways in the tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Integer, String
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, configure_mappers
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler

_T = TypeVar("_T")


class DirectRow(tuple[Any, ...]):
    """A result row: a tuple with ``_mapping`` and attribute access by column key, as
    SQLAlchemy's ``Row`` offers them."""

    __slots__ = ()
    _keys: tuple[str, ...] = ()

    @property
    def _mapping(self) -> dict[str, Any]:
        return dict(zip(self._keys, self, strict=True))

    def __getattr__(self, name: str) -> Any:
        try:
            return self[self._keys.index(name)]
        except ValueError:
            raise AttributeError(name) from None


class DirectResult:
    """The rows of one statement, fetched at once (the hot statements return a few)."""

    def __init__(self, rows: list[DirectRow], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[DirectRow]:
        return iter(self._rows)

    def all(self) -> list[DirectRow]:
        return list(self._rows)

    def first(self) -> DirectRow | None:
        return self._rows[0] if self._rows else None

    def one(self) -> DirectRow:
        if len(self._rows) != 1:
            raise sa_exc.NoResultFound() if not self._rows else sa_exc.MultipleResultsFound()
        return self._rows[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalars(self) -> list[Any]:
        return [row[0] for row in self._rows]


class _Prepared:
    """A statement compiled for one dialect, with what running it needs."""

    def __init__(self, compiled: SQLCompiler, dialect: Any) -> None:
        self.compiled = compiled
        self.sql, self.arrays = _as_arrays(compiled, dialect)
        processors = compiled._bind_processors
        self.bind = {name: proc for name, proc in processors.items() if callable(proc)}
        # The columns' Python-side defaults an INSERT (or an UPDATE's onupdate) fills in where
        # the parameters leave them out: a fixed value is filled in here, a function of the
        # execution context only SQLAlchemy's path can call.
        self.defaults: dict[str, Any] = {}
        computed = False
        for columns, attr in (
            (compiled.insert_prefetch, "default"),
            (compiled.update_prefetch, "onupdate"),
        ):
            for column in columns:
                default = getattr(column, attr)
                if default is not None and default.is_scalar:
                    self.defaults[column.key] = default.arg
                else:
                    computed = True
        # Something only SQLAlchemy's path can do: it takes that path.
        self.ordinary = (
            computed
            or len(self.bind) != len(processors)
            or bool(compiled.escaped_bind_names)
            or "__[POSTCOMPILE" in self.sql
            or bool(getattr(compiled, "_post_compile_expanded_state", None))
        )
        entries = compiled._result_columns or []
        keys = tuple(entry.keyname for entry in entries)
        self.returns_rows = bool(keys)
        self.row_type = type("Row", (DirectRow,), {"__slots__": (), "_keys": keys})
        self.result = [entry.type._cached_result_processor(dialect, None) for entry in columns]
        if not any(self.result):
            self.result = []


def _as_arrays(compiled: SQLCompiler, dialect: Any) -> tuple[str, tuple[str, ...]]:
    """The statement's SQL with each expanding ``IN`` list (``col.in_(bindparam(name,
    expanding=True))``, which SQLAlchemy renders anew for every length at execution) as one
    array parameter: ``col = ANY (%(name)s::T[])``, and ``NOT IN`` as ``col <> ALL (...)``, the
    same truth values for every list, the empty one and NULLs included. Only where the
    elements need no bind processing; anything else stays for SQLAlchemy's path. With the
    names of those array parameters (their values are sent as lists)."""
    sql, arrays = compiled.string, []
    for param in compiled.post_compile_params:
        if not param.expanding or param.literal_execute:
            continue
        if param.type._cached_bind_processor(dialect) is not None:
            continue
        if not isinstance(param.type, (Integer, String)):  # ids and codes: what is listed
            continue
        name = compiled.bind_names[param]
        # The element type as SQLAlchemy casts a bind of it (VARCHAR without its length: a
        # length would cut a longer value down and let it match).
        element = compiled.render_bind_cast(
            param.type, param.type.dialect_impl(dialect), ""
        ).removeprefix("::")
        placeholder = f"(__[POSTCOMPILE_{name}])"
        array = f"(%({name})s::{element}[])"
        sql = sql.replace(f" NOT IN {placeholder}", f" <> ALL {array}")
        sql = sql.replace(f" IN {placeholder}", f" = ANY {array}")
        arrays.append(name)
    return sql, tuple(arrays)


_prepared: dict[tuple[int, str, tuple[str, ...]], tuple[Executable, _Prepared]] = {}
_lock = threading.Lock()


def _prepare(stmt: Executable, dialect: Any, keys: tuple[str, ...]) -> _Prepared:
    """``stmt`` compiled for ``dialect`` and the parameters ``keys`` (an ``INSERT`` or an
    ``UPDATE`` without ``values()`` takes its columns from them, as SQLAlchemy compiles it)."""
    key = (id(stmt), dialect.name, keys)
    found = _prepared.get(key)
    if found is not None and found[0] is stmt:
        return found[1]
    compiled = stmt.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
    prepared = _Prepared(compiled, dialect)
    with _lock:
        _prepared[key] = (stmt, prepared)  # the statement is kept: its id stays its own
    return prepared


def execute(conn: Connection, stmt: Executable, params: Mapping[str, Any] | None = None) -> Any:
    """Run ``stmt`` (a module-level, prebuilt statement) with ``params`` on ``conn``: on
    PostgreSQL on the driver's cursor, else SQLAlchemy's way. The result offers what both
    share: iteration, ``first``, ``one``, ``all``, ``scalar``, ``scalar_one``, ``rowcount``;
    rows are tuples with ``_mapping`` (typed ``Any``: it stands in for SQLAlchemy's ``Result``
    where callers expect one)."""
    dialect = conn.dialect
    if dialect.name != "postgresql":
        return conn.execute(stmt, params or {})
    prepared = _prepare(stmt, dialect, tuple(sorted(params)) if params else ())
    # Listeners to the cursor's statements (a test's fault injection, a tracer) see every
    # statement: with one, the ordinary path, which calls them.
    watched = conn.dispatch.before_cursor_execute or conn.dispatch.after_cursor_execute
    if prepared.ordinary or watched:
        return conn.execute(stmt, params or {})
    given = {**prepared.defaults, **params} if prepared.defaults and params else params
    values = prepared.compiled.construct_params(given or {})
    for name, proc in prepared.bind.items():
        if name in values:
            values[name] = proc(values[name])
    for name in prepared.arrays:
        values[name] = list(values[name])  # psycopg sends a list (not a tuple) as an array
    dbapi_conn = conn.connection.dbapi_connection
    assert dbapi_conn is not None
    cursor = None
    try:
        cursor = dbapi_conn.cursor()
        cursor.execute(prepared.sql, values)
        # Only a statement with result columns (a select, RETURNING) returns rows; asking the
        # cursor for its description would build it column by column.
        raw: Sequence[Any] = cursor.fetchall() if prepared.returns_rows else []
        rowcount = cursor.rowcount
    except dialect.loaded_dbapi.Error as err:
        invalidated = dialect.is_disconnect(err, dbapi_conn, cursor)
        if invalidated and not conn.invalidated:
            conn.invalidate(err)
        raise sa_exc.DBAPIError.instance(
            prepared.sql,
            values,
            err,
            dialect.loaded_dbapi.Error,
            connection_invalidated=invalidated,
            dialect=dialect,
        ) from err
    finally:
        if cursor is not None:
            cursor.close()
    row_type = prepared.row_type
    if prepared.result:
        procs = prepared.result
        rows = [
            row_type(v if p is None else p(v) for p, v in zip(procs, r, strict=True)) for r in raw
        ]
    else:
        rows = [row_type(r) for r in raw]
    return DirectResult(rows, rowcount)


def detached(cls: type[_T], values: Mapping[Any, Any]) -> _T:
    """An object of the mapped class ``cls`` holding ``values`` (a row just written or read
    here), in no session: built as SQLAlchemy builds the object of a loaded row, without the
    constructor's attribute events (which cost a payment's path more than its statements'
    execution). Changing an attribute afterwards works as on any object."""
    manager = cls._sa_class_manager  # type: ignore[attr-defined]
    if not manager.mapper.configured:
        # The constructor configures the mappers on a first use; new_instance does not.
        configure_mappers()
    obj: _T = manager.new_instance()
    obj.__dict__.update(values)
    return obj


def inserted(session: Session, stmt: Executable, cls: type[_T], values: Mapping[str, Any]) -> _T:
    """Write ``values`` with ``stmt`` (a prebuilt ``INSERT ... RETURNING id``: one round trip,
    off the ORM's unit of work) in the session's transaction; the row comes back as a
    :func:`detached` ``cls`` object with its id."""
    row_id = execute(session.connection(), stmt, values).scalar_one()
    return detached(cls, {"id": row_id, **values})
