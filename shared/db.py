"""Database helpers: one engine per service and one way to run a transaction (and one to only read).

The same code runs on PostgreSQL (tests, production) and SQLite (the one-command local run).

Reads that anyone may trigger (verification, the public credential page) go through `read()`:
a second pool of connections that PostgreSQL itself keeps read-only
(`default_transaction_read_only`) and that runs in autocommit, so each statement is one round
trip, with no pre-ping, BEGIN or COMMIT around it. Each statement sees what was committed when
it started, in any process: nothing read there is cached. Without the pre-ping, a connection the
server dropped (a restart) fails the one request that uses it, and SQLAlchemy then discards
every older connection of that pool, so a restart costs at most one failed read per process;
`READ_POOL_RECYCLE` seconds bounds a connection's age for servers and proxies that drop idle ones.
"""

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any

from datetime import UTC, datetime

from sqlalchemy import DateTime, Engine, Table, TypeDecorator, create_engine, event, insert
from sqlalchemy.orm import Session, sessionmaker

READ_POOL_RECYCLE = 600  # seconds: well below the idle timeouts of common proxies and firewalls


class UtcDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back time-zone aware, on PostgreSQL and SQLite alike.

    SQLite has no time zones: without this, it returns naive datetimes and compares
    aware parameters with naive stored text.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Database:
    """A service's database: its engine, the only transaction helper in the code base, and read-only sessions."""

    def __init__(self, url: str, **engine_options: Any):
        sqlite = url.startswith("sqlite")
        if sqlite:
            engine_options.setdefault("connect_args", {"timeout": 30})
        else:
            engine_options.setdefault("pool_pre_ping", True)
        self.engine: Engine = create_engine(url, **engine_options)
        # Engines connect lazily: a process that never calls read() never opens its pool.
        self.read_engine: Engine = create_engine(url, **_read_only_options(sqlite, engine_options))
        if sqlite:
            event.listen(self.engine, "connect", _configure_sqlite)
            event.listen(self.read_engine, "connect", _configure_sqlite_read_only)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._reads = sessionmaker(self.read_engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Yield a session whose work is committed on success and rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """Yield a session that can only read, each statement on its own (autocommit): one round trip per query."""
        with self._reads() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()


def _read_only_options(sqlite: bool, engine_options: dict[str, Any]) -> dict[str, Any]:
    """The read pool's engine options: the service's own, in autocommit, read-only, without pre-ping."""
    options = dict(engine_options) | {"isolation_level": "AUTOCOMMIT"}
    if sqlite:  # read-only through PRAGMA query_only, set on connect
        return options
    connect_args = dict(options.get("connect_args", {}))
    connect_args["options"] = f"{connect_args.get('options', '')} -c default_transaction_read_only=on".strip()
    return options | {"connect_args": connect_args, "pool_pre_ping": False, "pool_recycle": READ_POOL_RECYCLE}


def _configure_sqlite(connection, _record) -> None:
    """WAL lets the web process read while the worker writes; foreign keys are off by default."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _configure_sqlite_read_only(connection, record) -> None:
    """The SQLite settings, and a connection that refuses to write."""
    _configure_sqlite(connection, record)
    cursor = connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def insert_if_absent(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert a row unless it conflicts with one that exists (its key or a unique constraint); return whether it was inserted."""
    key = next(iter(table.primary_key.columns))
    statement = _insert_ignoring_conflicts(session, table).values(**values).returning(key)
    # RETURNING, not rowcount: through the ORM session rowcount is -1 for this statement.
    return session.execute(statement).first() is not None


def insert_at_commit(session: Session, table: Table, values: dict[str, Any]) -> None:
    """Like `insert_if_absent`, for a row nothing reads back before the commit: the rows queued in a
    transaction are inserted together just before it commits, one statement per table (which psycopg
    sends as one pipeline) instead of a round trip per row."""
    session.info.setdefault(_AT_COMMIT, {}).setdefault(table, []).append(values)


_AT_COMMIT = "skillstack.insert_at_commit"


@event.listens_for(Session, "before_commit")
def _insert_queued_rows(session: Session) -> None:
    for table, rows in session.info.pop(_AT_COMMIT, {}).items():
        session.execute(_insert_ignoring_conflicts(session, table), rows)


@event.listens_for(Session, "after_rollback")
def _forget_queued_rows(session: Session) -> None:
    session.info.pop(_AT_COMMIT, None)


def _insert_ignoring_conflicts(session: Session, table: Table):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"unsupported database {dialect}")
    return dialect_insert(table).on_conflict_do_nothing()


def once_per_transaction(session: Session, key: Hashable, load: Callable[[], Any]) -> Any:
    """`load()`, remembered for the rest of the session (one transaction: `Database.transaction`).

    For what a worker reads again and again while it handles a chunk of events in one transaction
    (a pathway's levels, a manager's choices) and what nothing in that transaction changes.
    """
    remembered = session.info.setdefault("skillstack.remembered", {})
    if key not in remembered:
        remembered[key] = load()
    return remembered[key]


__all__ = ["Database", "Session", "UtcDateTime", "insert", "insert_at_commit", "insert_if_absent", "once_per_transaction"]
