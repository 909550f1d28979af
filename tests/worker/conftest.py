"""Jobs run by a real RQ worker on the real (embedded or server) Redis of the test app."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from rq import SimpleWorker

from app import jobs
from worker.app_job import AppJob


@pytest.fixture
def run_worker(app: Flask) -> Iterator[Callable[[], None]]:
    """Run every queued (and due scheduled) job in this process, as `python -m worker --burst` would."""
    AppJob.app = app
    queue = jobs.queue()
    queue.empty()
    # Other tests' advances (escalation timers) leave wake-ups scheduled in the shared Redis: start clean.
    for job_id in queue.scheduled_job_registry.get_job_ids():
        queue.scheduled_job_registry.remove(job_id, delete_job=True)

    def run() -> None:
        worker = SimpleWorker([queue], connection=jobs.connection(), job_class=AppJob)
        worker.work(burst=True, with_scheduler=True)

    yield run
    queue.empty()
    for registry in (queue.scheduled_job_registry, queue.failed_job_registry, queue.finished_job_registry):
        for job_id in registry.get_job_ids():
            registry.remove(job_id, delete_job=True)
