"""AppJob: each job runs in its own app context and one transaction, and is run again when the database is busy."""

from __future__ import annotations

import logging
import os
import time
from typing import Any, ClassVar

from flask import Flask
from rq.job import Job
from sqlalchemy.exc import OperationalError

from app.db import transaction

log = logging.getLogger(__name__)
# PostgreSQL: deadlock detected, could not serialize, lock not available (lock_timeout).
BUSY_SQLSTATES = frozenset({"40P01", "40001", "55P03"})
_inherited_pools: list[Any] = []


def is_busy(error: OperationalError) -> bool:
    """Whether the database refused because another transaction held a lock, not because the job is wrong."""
    if getattr(error.orig, "sqlstate", None) in BUSY_SQLSTATES:
        return True
    message = str(error.orig).lower()
    return "is locked" in message  # SQLite: "database is locked", "database table is locked"


class AppJob(Job):
    app: ClassVar[Flask]  # set once by worker/__main__.py (and by the tests)
    # Pauses between attempts within the job when the database is busy; after the last, RQ schedules the job
    # again after each of REQUEUE_SECONDS (unless the job was enqueued with its own Retry).
    BUSY_PAUSES: ClassVar[tuple[float, ...]] = (0.1, 0.3, 1.0, 3.0)
    REQUEUE_SECONDS: ClassVar[list[int]] = [30, 120, 600]
    _engine_pid: ClassVar[int] = os.getpid()

    def perform(self) -> Any:
        self._forget_inherited_connections()
        for pause in (*self.BUSY_PAUSES, None):
            try:
                with self.app.app_context(), transaction():
                    return super().perform()
            except OperationalError as error:
                if not is_busy(error):
                    raise
                if pause is None:
                    if self.retries_left is None:
                        self.retries_left, self.retry_intervals = len(self.REQUEUE_SECONDS), self.REQUEUE_SECONDS
                    raise
                log.warning("job %s: the database is busy (%s); again in %ss", self.id, error.orig, pause)
                time.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    def _forget_inherited_connections(self) -> None:
        """RQ forks a work horse per job: the pooled connections it inherits belong to the worker (whose sweep
        thread keeps using them), and a SQLite or PostgreSQL connection must not be shared across a fork."""
        if AppJob._engine_pid == os.getpid():
            return
        from app.extensions import db

        with self.app.app_context():
            engine = db.engine
            # A fresh pool for this process; the inherited one is kept, never closed nor garbage-collected: a
            # SQLite connection closed here would release or checkpoint the worker's WAL state.
            _inherited_pools.append(engine.pool)
            engine.pool = engine.pool.recreate()
        AppJob._engine_pid = os.getpid()
