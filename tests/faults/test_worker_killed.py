"""A worker SIGKILLed in the middle of an advance leaves the instance exactly as it was, and the timer it was
firing fires once when a worker comes back; two workers racing on one due timer fire it once. Real
`python -m worker` processes (with their forked work horse) on the test app's database and Redis."""

from __future__ import annotations

import time
from datetime import timedelta

from rq.suspension import resume, suspend
from sqlalchemy import select, text

from app import jobs
from app.engine import services
from app.engine.jobs import wake_instance
from app.engine.models import OpenTask, ProcessInstance
from app.extensions import db as database
from app.org import services as org
from app.org.models import Role
from tests.faults.conftest import count_events, deploy, picture, start_timer_instance, wait_for


def open_tasks(session, instance_id):
    session.expire_all()
    rows = session.scalars(select(OpenTask.bpmn_id).where(OpenTask.instance_id == instance_id)).all()
    session.rollback()
    return rows


def waiting_for_a_lock(engine) -> int:
    """Backends of this database waiting for a row lock (read afresh: a transaction sees one snapshot)."""
    with engine.connect() as connection:
        return int(
            connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query ILIKE '%FOR UPDATE%'"
                )
            )
        )


def test_a_worker_killed_mid_advance_changes_nothing_and_two_restarted_workers_fire_the_timer_once(
    app, committed, clock, start_worker, clean_queue
):
    agency = org.create_agency(committed, "000.00.71.H99", "Cơ quan thử", "CQT")
    org.create_user(committed, agency, "faults.cv", "Chuyên viên", "Secret@123", [Role.SPECIALIST])
    deploy(committed, clock, "timer.bpmn")
    instance_id = start_timer_instance(committed, clock, agency, "faults:kill")
    before = picture(committed, instance_id)
    assert before.next_timer_at is not None and before.open_tasks == ()
    due = clock.now() + timedelta(minutes=45)
    queue, redis = jobs.queue(), jobs.connection()
    queue.empty()
    for job_id in queue.scheduled_job_registry.get_job_ids():  # the commit's wake-up: the sweep queues one
        queue.scheduled_job_registry.remove(job_id, delete_job=True)

    suspend(redis)  # the worker's start sweep queues the wake-up; it then waits until we resume it
    worker = start_worker(due)
    wait_for(lambda: queue.count >= 1, "the worker's start sweep to queue the wake-up")
    with app.app_context():
        engine = database.engine
    holder = engine.connect()
    held = holder.begin()  # SQLite: BEGIN IMMEDIATE, the write lock; PostgreSQL: the instance row below
    holder.execute(select(ProcessInstance.id).where(ProcessInstance.id == instance_id).with_for_update())
    try:
        resume(redis)
        wait_for(lambda: queue.started_job_registry.get_job_ids(), "the worker to start the wake-up job")
        if engine.dialect.name == "postgresql":
            wait_for(lambda: waiting_for_a_lock(engine), "the work horse to wait for the instance's row lock")
        else:
            wait_for(lambda: "wake_instance" in worker.output(), "the work horse to log the job")
            time.sleep(1)  # SQLite shows no lock waits: give the horse time to reach BEGIN IMMEDIATE and wait
        worker.kill()
    finally:
        held.rollback()
        holder.close()

    assert picture(committed, instance_id) == before, "the killed advance left a trace"
    assert count_events(committed, "timer_fired", instance_id=instance_id) == 0

    # Two workers come back at once and race: each one's start sweep queues the wake-up again, besides the
    # copies that restarts and sweeps may have left queued; every copy may run, one fires.
    for _ in range(4):
        queue.enqueue(wake_instance, instance_id)
    restarted = [start_worker(due, burst=True) for _ in range(2)]
    for process in restarted:
        assert process.wait() == 0, process.output()
    assert queue.failed_job_registry.get_job_ids() == [], [process.output() for process in restarted]
    assert count_events(committed, "timer_fired", instance_id=instance_id) == 1
    assert open_tasks(committed, instance_id) == ["act"]
    after = picture(committed, instance_id)
    assert after.revision == before.revision + 1
    assert after.history[: len(before.history)] == before.history  # appended to, never rewritten
    assert services.due_instance_ids(committed, now=due) == []  # nothing left for another sweep to fire
    committed.rollback()
