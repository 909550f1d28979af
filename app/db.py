"""Declarative base, the UTC datetime type, one transaction per state change, after-commit hooks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect, Engine
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
    "install_session_hooks",
    "install_sqlite_hooks",
    "transaction",
]
