"""Timers: due times live in the database, RQ holds the wake-up, a sweep repairs a lost schedule, and a
wake-up that runs twice or early changes nothing — with a real worker, real Redis and a frozen clock."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select

from app import jobs
from app.engine import definitions, services
from app.engine.jobs import sweep_due_timers, wake_instance
from app.engine.models import HistoryEvent, OpenTask
from app.org import services as org
from app.org.models import Role
from config import ROOT

FORMS = str(ROOT / "tests" / "data" / "forms")


def start_timer_instance(session, clock, agency):
    xml = (ROOT / "tests" / "data" / "bpmn" / "timer.bpmn").read_bytes()
    definitions.deploy(session, "timer.bpmn", xml, scope="_default", forms_dir=FORMS, actor="test", now=clock.now())
    started = services.start_instance(
        session, agency, "timer", business_key="t:1", data={}, actor="test", now=clock.now()
    )
    session.commit()  # the wake-up is queued only once the advance is committed
    return started.instance


def fired(session, instance_id):
    query = select(HistoryEvent).where(HistoryEvent.instance_id == instance_id, HistoryEvent.kind == "timer_fired")
    return len(session.scalars(query).all())


def test_a_committed_timer_is_scheduled_in_redis_and_the_worker_fires_it_when_due(db, clock, make_agency, run_worker):
    instance = start_timer_instance(db, clock, make_agency())
    scheduled = jobs.queue().scheduled_job_registry
    (job_id,) = scheduled.get_job_ids()
    assert scheduled.get_scheduled_time(job_id) == instance.next_timer_at.replace(microsecond=0)

    run_worker()  # RQ's own clock says the job is due; ours says it is early: nothing happens
    db.expire_all()
    assert fired(db, instance.id) == 0
    assert db.scalar(select(OpenTask).where(OpenTask.instance_id == instance.id)) is None

    clock.advance(timedelta(minutes=31))
    jobs.queue().enqueue(wake_instance, instance.id)
    run_worker()
    db.expire_all()
    assert fired(db, instance.id) == 1
    assert db.scalar(select(OpenTask.bpmn_id).where(OpenTask.instance_id == instance.id)) == "act"


def test_a_wake_up_that_runs_twice_fires_the_timer_once(db, clock, make_agency, run_worker):
    instance = start_timer_instance(db, clock, make_agency())
    clock.advance(timedelta(hours=1))
    jobs.queue().enqueue(wake_instance, instance.id)
    jobs.queue().enqueue(wake_instance, instance.id)
    run_worker()
    db.expire_all()
    assert fired(db, instance.id) == 1
    assert len(db.scalars(select(OpenTask).where(OpenTask.instance_id == instance.id)).all()) == 1


def test_the_sweep_rebuilds_a_schedule_that_redis_lost(db, clock, make_agency, run_worker):
    instance = start_timer_instance(db, clock, make_agency())
    jobs.connection().flushdb()  # Redis restarted empty: the scheduled wake-up is gone
    clock.advance(timedelta(hours=1))
    run_worker()
    db.expire_all()
    assert fired(db, instance.id) == 0
    jobs.queue().enqueue(sweep_due_timers)
    run_worker()
    db.expire_all()
    assert fired(db, instance.id) == 1


def test_a_worker_process_fires_a_due_timer_at_the_time_it_is_told(app, committed, clock):
    agency = org.create_agency(committed, "000.00.66.H99", "Cơ quan thử", "CQT")
    org.create_user(committed, agency, "worker.specialist", "Chuyên viên", "Secret@123", [Role.SPECIALIST])
    instance = start_timer_instance(committed, clock, agency)
    environment = {
        **os.environ,
        "INSTANCE_DIR": app.config["INSTANCE_DIR"],
        "DATABASE_URL": app.config["DATABASE_URL"],
        "REDIS_URL": app.config["REDIS_URL"],
        "RQ_QUEUE": app.config["RQ_QUEUE"],
        "FROZEN_CLOCK": (clock.now() + timedelta(minutes=45)).isoformat(),
        # The test app's secrets (public test values, accepted only under TESTING): the same audit key for both.
        "TESTING": "true",
        **{name: app.config[name] for name in ("SECRET_KEY", "SIGNING_SECRET", "AUDIT_SECRET")},
    }
    result = subprocess.run(
        [sys.executable, "-m", "worker", "--burst"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    committed.expire_all()
    assert fired(committed, instance.id) == 1
    assert committed.scalar(select(OpenTask.bpmn_id).where(OpenTask.instance_id == instance.id)) == "act"
