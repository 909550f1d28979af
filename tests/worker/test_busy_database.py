"""A job that finds the database locked by another writer is run again — within the job, then by RQ — instead
of failing; and a forked work horse opens its own connections instead of using the worker's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from rq import Worker
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from app import jobs
from app.engine.jobs import wake_instance
from app.extensions import db as database
from app.org import services as org
from tests.worker.test_timers import fired, start_timer_instance
from worker.app_job import AppJob


def engine_of(app: Flask) -> Engine:
    with app.app_context():
        return database.engine


@contextmanager
def short_lock_waits(engine: Engine) -> Iterator[None]:
    """New connections give up on a lock after 50 ms instead of 30 s, so the test sees the refusal at once."""
    sqlite = engine.dialect.name == "sqlite"

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=50" if sqlite else "SET lock_timeout = '50ms'")
        cursor.close()
        if not sqlite:
            dbapi_connection.commit()

    event.listen(engine, "connect", on_connect)
    engine.dispose()
    try:
        yield
    finally:
        event.remove(engine, "connect", on_connect)
        engine.dispose()


@contextmanager
def writer_holding_the_lock(engine: Engine, seconds: float | None) -> Iterator[None]:
    """Another writer takes the database's write lock (SQLite) or the instances table (PostgreSQL) and lets it
    go after `seconds` (None: when the block ends)."""
    connection = engine.connect()
    transaction = connection.begin()  # SQLite: BEGIN IMMEDIATE, the write lock
    if engine.dialect.name != "sqlite":
        connection.execute(text("LOCK TABLE process_instances IN ACCESS EXCLUSIVE MODE"))
    released = threading.Event()

    def release() -> None:
        if not released.is_set():
            released.set()
            transaction.rollback()
            connection.close()

    timer = threading.Timer(seconds, release) if seconds is not None else None
    if timer:
        timer.start()
    try:
        yield
    finally:
        if timer:
            timer.join()
        release()


@pytest.fixture
def due_instance(app, committed, clock):
    agency = org.create_agency(committed, "000.00.68.H99", "Cơ quan bận", "CQB")
    instance = start_timer_instance(committed, clock, agency)
    clock.advance(timedelta(hours=1))
    queue = jobs.queue()
    queue.empty()
    for job_id in queue.scheduled_job_registry.get_job_ids():
        queue.scheduled_job_registry.remove(job_id, delete_job=True)
    AppJob.app = app
    instance_id = instance.id
    committed.rollback()  # reading the id began a transaction: on SQLite it holds the write lock
    yield instance_id
    queue.empty()
    for registry in (queue.scheduled_job_registry, queue.failed_job_registry, queue.finished_job_registry):
        for job_id in registry.get_job_ids():
            registry.remove(job_id, delete_job=True)


def work(burst_worker: type[Worker] | None = None) -> None:
    from rq import SimpleWorker

    worker_class = burst_worker or SimpleWorker
    worker_class([jobs.queue()], connection=jobs.connection(), job_class=AppJob).work(burst=True)


def test_a_job_that_finds_the_database_locked_waits_and_finishes(app, committed, due_instance):
    engine = engine_of(app)
    job = jobs.queue().enqueue(wake_instance, due_instance)
    with short_lock_waits(engine), writer_holding_the_lock(engine, seconds=0.6):
        work()
    assert job.get_status(refresh=True) == "finished", job.exc_info
    assert jobs.queue().failed_job_registry.get_job_ids() == []
    committed.expire_all()
    assert fired(committed, due_instance) == 1
    committed.rollback()


def test_a_job_locked_out_through_every_attempt_is_scheduled_again_not_failed(
    app, committed, due_instance, monkeypatch
):
    engine = engine_of(app)
    monkeypatch.setattr(AppJob, "BUSY_PAUSES", (0.05,))
    job = jobs.queue().enqueue(wake_instance, due_instance)
    with short_lock_waits(engine), writer_holding_the_lock(engine, seconds=None):
        work()
    job.refresh()
    assert job.get_status() == "scheduled"
    assert job.retries_left == len(AppJob.REQUEUE_SECONDS) - 1
    assert job.id in jobs.queue().scheduled_job_registry.get_job_ids()
    assert jobs.queue().failed_job_registry.get_job_ids() == []
    committed.expire_all()
    assert fired(committed, due_instance) == 0  # nothing half-written: the job's transaction rolled back
    committed.rollback()


def test_an_error_that_is_not_a_lock_still_fails_the_job_at_once(app, due_instance):
    job = jobs.queue().enqueue(wake_instance, "not an id")
    work()
    assert job.get_status(refresh=True) == "failed"
    assert job.retries_left is None


def connection_of_this_job() -> str:
    """The database session's server process (PostgreSQL) or connection object (SQLite) of the running job."""
    session = database.session()
    if session.get_bind().dialect.name == "sqlite":
        return str(id(session.connection().connection.dbapi_connection))
    return str(session.execute(text("select pg_backend_pid()")).scalar_one())


def test_a_forked_work_horse_does_not_use_the_workers_pooled_connection(app):
    AppJob.app = app
    with app.app_context():
        parent = connection_of_this_job()
        database.session.remove()  # back to the pool, where the fork finds it
    queue = jobs.queue()
    job = queue.enqueue(connection_of_this_job)
    work(Worker)  # forks a work horse for the job
    assert job.get_status(refresh=True) == "finished", job.exc_info
    assert job.return_value() != parent
    queue.finished_job_registry.remove(job.id, delete_job=True)
