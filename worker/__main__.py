"""`python -m worker [--burst]`: the app built once, then RQ with its scheduler and a timer sweep thread."""

from __future__ import annotations

import argparse
import logging
import threading
import time

from rq import SimpleWorker, Worker
from sqlalchemy.orm import configure_mappers

from app import create_app
from app.audit import jobs as audit_jobs
from app.db import transaction
from app.engine import jobs as engine_jobs
from app.interop import jobs as interop_jobs
from app.jobs import connection, queue
from worker.app_job import AppJob


def sweep_forever(app: object, interval_seconds: int, stop: threading.Event) -> None:
    """Every interval, queue a wake-up for each instance whose timer is due and each package whose attempt is due
    (Redis may have lost them), take in the packages of the inbox folder, and sign the daily audit checkpoint."""
    log = logging.getLogger("worker.sweep")
    while not stop.wait(interval_seconds):
        try:
            with app.app_context(), transaction():  # type: ignore[attr-defined]
                count = engine_jobs.sweep_due_timers()
                packages = interop_jobs.sweep_due_packages()
            if count or packages:
                log.info("re-queued %s due timers, %s packages", count, packages)
            with app.app_context():  # type: ignore[attr-defined]
                taken = interop_jobs.poll_inbox()
            if any(taken.values()):
                log.info("inbox folder: %s", taken)
            write_checkpoint(app, log)
        except Exception:
            log.exception("timer sweep failed; retrying in %ss", interval_seconds)
            time.sleep(1)


def write_checkpoint(app: object, log: logging.Logger) -> None:
    """The daily checkpoint, in its own transaction: a refusal (the history does not verify) is logged loudly
    and retried on the next pass, without stopping the timer sweep."""
    try:
        with app.app_context(), transaction():  # type: ignore[attr-defined]
            checkpoint_id = audit_jobs.write_daily_checkpoint()
        if checkpoint_id is not None:
            with app.app_context():  # type: ignore[attr-defined]
                from app.audit.models import Checkpoint
                from app.extensions import db

                checkpoint = db.session.get(Checkpoint, checkpoint_id)
                log.info("audit checkpoint #%s written, mac %s", checkpoint_id, checkpoint.mac if checkpoint else "?")
    except Exception:
        log.exception("audit checkpoint refused")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m worker")
    parser.add_argument("--burst", action="store_true", help="run queued jobs, then exit")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    app = create_app()
    configure_mappers()
    AppJob.app = app
    stop = threading.Event()
    if not args.burst:
        sweeper = threading.Thread(
            target=sweep_forever, args=(app, app.config["TIMER_SWEEP_SECONDS"], stop), daemon=True
        )
        sweeper.start()
    # The sweep also runs once at start: a worker restarted after Redis was lost catches up at once.
    with app.app_context(), transaction():
        engine_jobs.sweep_due_timers()
        interop_jobs.sweep_due_packages()
    if not args.burst:
        write_checkpoint(app, logging.getLogger("worker.sweep"))
    with app.app_context():
        # SQLite keeps per-process lock state that fork() copies but its locks do not follow: a work horse forked
        # from a worker that has the file open is refused ("database is locked") whatever it waits. On SQLite the
        # jobs run in the worker process itself; on PostgreSQL each runs in a forked work horse.
        on_sqlite = app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
        worker_class = SimpleWorker if on_sqlite else Worker
        worker = worker_class([queue()], connection=connection(), job_class=AppJob)
        try:
            worker.work(with_scheduler=True, burst=args.burst)
        finally:
            stop.set()


if __name__ == "__main__":
    main()
