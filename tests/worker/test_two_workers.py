"""Two worker processes take jobs from one queue and write to one database (on SQLite: one file): every job
finishes, none fails with "database is locked", and each timer fires once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

from sqlalchemy import func, select

from app import jobs
from app.engine import definitions, services
from app.engine.jobs import wake_instance
from app.engine.models import HistoryEvent
from app.org import services as org
from config import ROOT

FORMS = str(ROOT / "tests" / "data" / "forms")
INSTANCES = 20
DONE = ("finished", "failed", "stopped", "canceled")


def test_two_worker_processes_finish_every_job_on_one_database(app, committed, clock, tmp_path):
    agency = org.create_agency(committed, "000.00.67.H99", "Cơ quan hai tiến trình", "CQH")
    xml = (ROOT / "tests" / "data" / "bpmn" / "timer.bpmn").read_bytes()
    definitions.deploy(committed, "timer.bpmn", xml, scope="_default", forms_dir=FORMS, actor="test", now=clock.now())
    ids = [
        services.start_instance(
            committed, agency, "timer", business_key=f"t:{n}", data={}, actor="test", now=clock.now()
        ).instance.id
        for n in range(INSTANCES)
    ]
    committed.commit()
    queue = jobs.queue()
    queue.empty()
    for job_id in queue.scheduled_job_registry.get_job_ids():
        queue.scheduled_job_registry.remove(job_id, delete_job=True)
    queued = [queue.enqueue(wake_instance, instance_id) for instance_id in ids for _ in range(2)]
    environment = {
        **os.environ,
        "INSTANCE_DIR": app.config["INSTANCE_DIR"],
        "DATABASE_URL": app.config["DATABASE_URL"],
        "REDIS_URL": app.config["REDIS_URL"],
        "RQ_QUEUE": app.config["RQ_QUEUE"],
        "FROZEN_CLOCK": (clock.now() + timedelta(minutes=45)).isoformat(),
        "TIMER_SWEEP_SECONDS": "1",  # the sweep thread of each worker writes too, while its work horses run
        # The test app's secrets (public test values, accepted only under TESTING): one audit key for all.
        "TESTING": "true",
        **{name: app.config[name] for name in ("SECRET_KEY", "SIGNING_SECRET", "AUDIT_SECRET")},
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "worker"],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"worker{n}.log").open("w"),
            text=True,
        )
        for n in range(2)
    ]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not all(job.get_status(refresh=True) in DONE for job in queued):
        assert all(worker.poll() is None for worker in workers), "a worker exited: see its log"
        time.sleep(0.5)
    for worker in workers:
        worker.send_signal(signal.SIGTERM)  # a warm shut-down: the job in hand is finished first
    [worker.wait(timeout=60) for worker in workers]
    logs = [(tmp_path / f"worker{n}.log").read_text() for n in range(2)]
    try:
        failed = queue.failed_job_registry.get_job_ids()
        assert failed == [], [jobs_failed.exc_info for jobs_failed in map(queue.fetch_job, failed)][:2]
        assert all(job.get_status(refresh=True) == "finished" for job in queued)
        assert all("Job OK" in log for log in logs), "both workers took jobs"
        assert not any("Traceback" in log for log in logs), "\n".join(log[-3000:] for log in logs)
        fired = committed.execute(
            select(HistoryEvent.instance_id, func.count())
            .where(HistoryEvent.instance_id.in_(ids), HistoryEvent.kind == "timer_fired")
            .group_by(HistoryEvent.instance_id)
        ).all()
        assert sorted(fired) == sorted((instance_id, 1) for instance_id in ids)
    finally:
        for registry in (queue.failed_job_registry, queue.finished_job_registry):
            for job_id in registry.get_job_ids():
                registry.remove(job_id, delete_job=True)
