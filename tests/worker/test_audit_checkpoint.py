"""The worker signs the daily audit checkpoint: run as an RQ job by a real worker on the real Redis."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app import jobs
from app.audit.jobs import write_daily_checkpoint
from app.audit.models import Checkpoint
from tests.worker.test_timers import start_timer_instance


def written(db):
    db.expire_all()
    return db.scalars(select(Checkpoint).order_by(Checkpoint.id)).all()


def test_the_daily_job_writes_one_chained_checkpoint_a_day(app, db, clock, make_agency, run_worker):
    start_timer_instance(db, clock, make_agency())
    jobs.queue().enqueue(write_daily_checkpoint)
    run_worker()
    [first] = written(db)
    assert first.at == clock.now() and first.instance_count >= 1 and first.prev_mac == ""

    clock.advance(timedelta(hours=23))
    jobs.queue().enqueue(write_daily_checkpoint)  # the same day: nothing to do
    run_worker()
    assert len(written(db)) == 1

    clock.advance(timedelta(hours=1))
    jobs.queue().enqueue(write_daily_checkpoint)
    run_worker()
    first, second = written(db)
    assert second.prev_mac == first.mac
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert f"checkpoint #{second.id}" in result.output


def test_the_sweep_thread_signs_the_checkpoint_and_logs_its_mac(app, db, clock, make_agency, caplog):
    import logging

    from worker.__main__ import write_checkpoint

    start_timer_instance(db, clock, make_agency())
    with caplog.at_level(logging.INFO, logger="worker.sweep"):
        write_checkpoint(app, logging.getLogger("worker.sweep"))
        write_checkpoint(app, logging.getLogger("worker.sweep"))  # not due again the same day
    [checkpoint] = written(db)
    assert f"audit checkpoint #{checkpoint.id} written, mac {checkpoint.mac}" in caplog.text
