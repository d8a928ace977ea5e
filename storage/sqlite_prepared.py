"""The repositories' constant statements run straight on the sqlite3 connection.

Why: the SQLite writer thread is the server's bottleneck (docs/performance.md), and of its
time about 70 % went to executing statements through SQLAlchemy Core, although the
repositories build their statements once, at import (storage/repositories/base.py).
Per statement SQLAlchemy still derives a cache key, looks the compiled form up, builds an
execution context, processes the parameters and wraps the cursor in a result: about
35 µs around the 7 µs that sqlite3 takes for an indexed read or a small insert.

How: :class:`PreparedStatements`, one per worker thread (so nothing here is shared
between threads), keeps for each statement *object* it has seen executed twice (a
constant of a repository; a statement built per call is never seen twice) and each set
of parameter names a *plan*: the SQL SQLAlchemy compiled for it, the order of its
parameters with their type processors, and the result keys with theirs. The SQL, the
parameter conversion and the result conversion are SQLAlchemy's own, taken from its
compiled statement; only the per-call wrapping is skipped. The SQL is SQLAlchemy's for
this dialect, so the next execution finds it in sqlite3's own statement cache.

What is not planned runs through SQLAlchemy as before: statements built per call,
an executemany of anything but a list of dicts, ``text()``, RETURNING, Python-side
column defaults, expanding (``IN``) and literal-execute parameters, escaped parameter
names. A statement that fails in sqlite3 is run again through SQLAlchemy, which raises
the error the callers expect (``IntegrityError``, ``OperationalError`` ...) after the
same handling as always: SQLite undoes a failed statement's own changes, so the second
try starts from the same state (in an executemany, the rows before the failing one stay
written, as they do through SQLAlchemy, and the second try fails too; the caller's
savepoint or transaction undoes them). While anyone listens to the engine's
``before_cursor_execute`` or ``after_cursor_execute`` when a transaction begins (the
tests that count statements), that transaction runs everything through SQLAlchemy, so
every statement is seen.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Delete, Insert, Update
from sqlalchemy.sql.selectable import Select

from storage.repositories.base import DirectConnection, Parameters
from storage.rows import Row

__all__ = ["DirectSqlite", "PreparedStatements"]

_Processor = Callable[[Any], Any] | None

#: Statements seen once, kept (so that their id cannot be taken by another object) until
#: they are seen again or pushed out by newer ones.
SEEN_LIMIT = 512
#: Plans kept at most: the repositories have about 150 constant statements.
PLAN_LIMIT = 2048
#: Compare every planned read with SQLAlchemy's own result and raise AssertionError on a
#: difference (the tests switch it on, tests/storage/test_sqlite_prepared.py).
VERIFY = False


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where one ``?`` of a plan's SQL gets its value: the caller's parameter ``key`` or
    ``name``, else (unless ``required``) the value bound in the statement; then
    ``processor``."""

    key: str
    name: str
    default: Any
    required: bool
    processor: _Processor


class _Missing(Exception):
    """A required parameter is missing: SQLAlchemy raises the error callers expect."""


@dataclass(frozen=True, slots=True)
class _Plan:
    statement: Executable  # kept: the plan is looked up by its id
    sql: str
    slots: tuple[_Slot, ...]
    #: Result keys and their processors; None for a statement that returns no rows.
    keys: tuple[str, ...] | None
    result_processors: tuple[_Processor, ...]

    def parameters(self, params: Mapping[str, Any] | None) -> tuple[Any, ...]:
        """The values in the SQL's order, as ``SQLCompiler.construct_params`` and the
        bind processors make them; raises :class:`_Missing` for a required one."""
        given = params or {}
        values = []
        for slot in self.slots:
            if slot.key in given:
                value = given[slot.key]
            elif slot.name in given:
                value = given[slot.name]
            elif slot.required:
                raise _Missing(slot.key)
            else:
                value = slot.default
            values.append(value if slot.processor is None else slot.processor(value))
        return tuple(values)

    def row(self, raw: tuple[Any, ...]) -> dict[str, Any]:
        assert self.keys is not None
        return {
            key: value if processor is None else processor(value)
            for key, value, processor in zip(self.keys, raw, self.result_processors, strict=True)
        }


#: The statement kinds a plan is made for.
_PLANNABLE = (Select, Insert, Update, Delete)


class PreparedStatements:
    """The plans of one worker thread's connection (see the module's docstring).

    :meth:`plan` answers a plan or ``None`` (run it through SQLAlchemy);
    :meth:`execute` runs a plan on the connection's sqlite3 connection and answers its
    cursor, or ``None`` when it could not (run it through SQLAlchemy, for the error)."""

    def __init__(self) -> None:
        self.verify = VERIFY
        #: Statements seen once, kept so that no other object can take their id.
        self._seen: OrderedDict[int, Executable] = OrderedDict()
        #: Statements seen twice: the repositories' constants.
        self._constants: dict[int, Executable] = {}
        #: By statement id and parameter names: the statement and its plan (None: not
        #: plannable, it runs through SQLAlchemy).
        self._plans: dict[tuple[int, tuple[str, ...]], tuple[Executable, _Plan | None]] = {}

    def plan(
        self, conn: Connection, statement: Executable, params: Mapping[str, Any] | None
    ) -> _Plan | None:
        if params is not None and type(params) is not dict:
            return None  # a mapping of another kind
        key = (id(statement), tuple(params) if params else ())
        entry = self._plans.get(key)
        if entry is not None and entry[0] is statement:
            return entry[1]
        if len(self._plans) >= PLAN_LIMIT or not self._constant(statement):
            return None
        made = _make_plan(conn, statement, key[1])
        self._plans[key] = (statement, made)
        return made

    def _constant(self, statement: Executable) -> bool:
        """Whether the statement object was executed before (then it is a constant, kept
        by its module); remembered as seen otherwise."""
        if not isinstance(statement, _PLANNABLE):
            return False
        sid = id(statement)
        if self._constants.get(sid) is statement:
            return True
        if self._seen.get(sid) is statement:
            del self._seen[sid]
            self._constants[sid] = statement
            return True
        self._seen[sid] = statement
        if len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)
        return False

    @staticmethod
    def listened(conn: Connection) -> bool:
        """Whether anyone listens to the connection's cursor executions: then nothing may
        be planned (the connection asks once per transaction)."""
        return bool(conn.dispatch.before_cursor_execute or conn.dispatch.after_cursor_execute)

    def plan_many(
        self, conn: Connection, statement: Executable, params: Sequence[Mapping[str, Any]]
    ) -> _Plan | None:
        """The plan for an executemany of rows with the same parameter names (as
        SQLAlchemy compiles one for the names of the first row), or None."""
        if not params or type(params) is not list or type(params[0]) is not dict:
            return None
        plan = self.plan(conn, statement, params[0])
        return plan if plan is not None and plan.keys is None else None

    @staticmethod
    def execute_many(conn: Connection, plan: _Plan, params: Sequence[Mapping[str, Any]]) -> bool:
        """Run a plan for every row; False when it could not (then nothing ran, or
        sqlite3 refused the statement and undid it: run it through SQLAlchemy)."""
        try:
            rows = [plan.parameters(row) for row in params]
        except Exception:
            return False
        raw = conn.connection.dbapi_connection
        if raw is None:
            return False
        try:
            raw.executemany(plan.sql, rows)
        except sqlite3.Error:
            return False
        return True

    @staticmethod
    def execute(conn: Connection, plan: _Plan, params: Mapping[str, Any] | None) -> Any | None:
        try:
            values = plan.parameters(params)
        except Exception:
            return None
        raw = conn.connection.dbapi_connection
        if raw is None:
            return None
        try:
            return raw.execute(plan.sql, values)
        except sqlite3.Error:
            return None


def _make_plan(conn: Connection, statement: Executable, names: tuple[str, ...]) -> _Plan | None:
    if not isinstance(statement, _PLANNABLE):
        return None
    dialect = conn.dialect
    try:
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
    except Exception:
        return None  # SQLAlchemy will raise the same error when it runs it
    if not isinstance(compiled, SQLCompiler) or not compiled.positional:
        return None
    if (
        compiled.insert_prefetch
        or compiled.update_prefetch
        or compiled.effective_returning
        or compiled.post_compile_params
        or compiled.literal_execute_params
        or compiled.escaped_bind_names
        or compiled.positiontup is None
        or "POSTCOMPILE" in compiled.string
    ):
        return None
    slots: list[_Slot] = []
    for name in compiled.positiontup:
        bind = compiled.binds.get(name)
        processor = compiled._bind_processors.get(name)
        if bind is None or bind.callable is not None or bind.expanding:
            return None
        if processor is not None and not callable(processor):
            return None  # a tuple type's processors, one per element
        slots.append(_Slot(bind.key, name, bind.value, bool(bind.required), processor))
    keys: tuple[str, ...] | None = None
    result_processors: tuple[_Processor, ...] = ()
    if isinstance(statement, Select):
        columns = compiled._result_columns
        keys = tuple(column.keyname for column in columns)
        if len(set(keys)) != len(keys):
            return None
        result_processors = tuple(
            column.type._cached_result_processor(dialect, None) for column in columns
        )
    return _Plan(
        statement=statement,
        sql=compiled.string,
        slots=tuple(slots),
        keys=keys,
        result_processors=result_processors,
    )


class DirectSqlite(DirectConnection):
    """The repositories' ``*_now`` helpers over one SQLAlchemy :class:`Connection` of a
    SQLite worker thread: a planned statement runs on sqlite3 itself, anything else (or a
    plan sqlite3 refuses) through SQLAlchemy. Nothing is planned on a connection whose
    cursor someone listens to when it is wrapped (the tests that count statements)."""

    __slots__ = ("_conn", "_prepared")

    def __init__(self, conn: Connection, prepared: PreparedStatements | None = None) -> None:
        self._conn = conn
        listened = PreparedStatements.listened(conn)
        self._prepared = None if listened else prepared or PreparedStatements()

    def run_now(self, statement: Executable, parameters: Parameters, /) -> None:
        prepared, conn = self._prepared, self._conn
        if prepared is not None:
            if isinstance(parameters, list):
                many = prepared.plan_many(conn, statement, parameters)
                if many is not None and prepared.execute_many(conn, many, parameters):
                    return
            elif parameters is None or isinstance(parameters, dict):
                plan = prepared.plan(conn, statement, parameters)
                if plan is not None and prepared.execute(conn, plan, parameters) is not None:
                    return
        conn.execute(statement, parameters)

    def first_now(
        self, statement: Executable, parameters: Mapping[str, Any] | None, /
    ) -> Row | None:
        rows = self._planned(statement, parameters, first=True)
        if rows is None:
            return self._conn.execute(statement, parameters).mappings().first()
        return rows[0] if rows else None

    def all_now(self, statement: Executable, parameters: Mapping[str, Any] | None, /) -> list[Row]:
        rows = self._planned(statement, parameters, first=False)
        if rows is None:
            return list(self._conn.execute(statement, parameters).mappings().all())
        return rows

    def scalar_one_now(self, statement: Executable, parameters: Mapping[str, Any] | None, /) -> Any:
        rows = self._planned(statement, parameters, first=False)
        if rows is None or len(rows) != 1:  # SQLAlchemy raises NoResultFound / MultipleResults
            return self._conn.execute(statement, parameters).scalar_one()
        return next(iter(rows[0].values()))

    def _planned(
        self, statement: Executable, parameters: Mapping[str, Any] | None, *, first: bool
    ) -> list[Row] | None:
        """The rows of a planned read (only the first with ``first``); ``None`` when it
        is not planned or sqlite3 refused it (the caller asks SQLAlchemy)."""
        prepared = self._prepared
        if prepared is None:
            return None
        plan = prepared.plan(self._conn, statement, parameters)
        if plan is None or plan.keys is None:
            return None
        cursor = prepared.execute(self._conn, plan, parameters)
        if cursor is None:
            return None
        raw = [cursor.fetchone()] if first else cursor.fetchall()
        cursor.close()
        rows: list[Row] = [plan.row(r) for r in raw if r is not None]
        if prepared.verify:
            result = self._conn.execute(statement, parameters).mappings()
            theirs = [result.first()] if first else result.all()
            if [dict(r) for r in rows] != [dict(r) for r in theirs if r is not None]:
                raise AssertionError(f"a planned read differs from SQLAlchemy's: {statement}")
        return rows
