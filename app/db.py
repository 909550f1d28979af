"""Declarative base, the UTC datetime type, one transaction per state change, after-commit hooks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored naive UTC so SQLite and PostgreSQL agree."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


AfterCommit = Callable[[], None]


def after_commit(session: Session, action: AfterCommit) -> None:
    """Run `action` once the session's current transaction commits; forget it on rollback."""
    session.info.setdefault("after_commit", []).append(action)


def _run_after_commit(session: Session) -> None:
    actions: list[AfterCommit] = session.info.pop("after_commit", [])
    for action in actions:
        action()


def _forget_after_commit(session: Session, *args: Any) -> None:
    session.info.pop("after_commit", None)


def install_session_hooks(session_target: Any) -> None:
    event.listen(session_target, "after_commit", _run_after_commit)
    event.listen(session_target, "after_soft_rollback", _forget_after_commit)


def install_sqlite_hooks(engine: Engine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE so two writers serialise instead of failing on upgrade."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the 'begin' hook below issue BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def install_postgresql_hooks(engine: Engine) -> None:
    """Replace, at checkout and without a round trip, a pooled connection the server has closed.

    pool_pre_ping would cost a `SELECT 1` round trip per checkout (one in eight of an advance's). Instead: a
    server that ends a session (restart, pg_terminate_backend, idle timeout) sends its goodbye and closes the
    socket, so the idle connection's socket turns readable, which a zero-timeout poll sees; the pool then opens
    a fresh connection (DisconnectionError at checkout, up to three attempts). What the poll cannot see (the
    server going away while a statement runs, a silent network drop) fails that one request: SQLAlchemy then
    invalidates the connection and every older one in the pool, so the next request reconnects; pool_recycle
    bounds how long a connection lives."""

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, connection_record: Any, connection_proxy: Any) -> None:
        if closed_by_server(dbapi_connection):
            raise DisconnectionError("the server closed this pooled connection")


def closed_by_server(dbapi_connection: Any) -> bool:
    """Whether an idle psycopg connection is dead: closed, in a bad state, or with something to read (an idle
    session is sent nothing but its end, as this app never LISTENs)."""
    import select

    if dbapi_connection.closed:
        return True
    pgconn = dbapi_connection.pgconn
    try:
        if pgconn.status != 0:  # CONNECTION_OK
            return True
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except Exception:  # the socket is already gone
        return True


@contextmanager
def transaction() -> Iterator[Session]:
    """Commit once at the boundary (view, CLI, job); roll back everything on any error."""
    from app.extensions import db

    session = db.session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def utcnow_column_default() -> datetime:
    """Column default for audit columns that do not take the injected clock (created_at of rows)."""
    from app import clock

    return clock.now()


__all__ = [
    "UTC",
    "Base",
    "UTCDateTime",
    "after_commit",
    "install_postgresql_hooks",
    "install_session_hooks",
    "install_sqlite_hooks",
    "transaction",
]
