"""Fault fixtures: real `python -m worker` processes on the test app's database and Redis, a served app for
concurrent HTTP clicks, and the picture of an instance that a fault must leave unchanged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import jobs
from app.engine import definitions, services
from app.engine.models import HistoryEvent, OpenTask, ProcessInstance
from app.org.models import Agency
from config import ROOT
from tests.conftest import serve

FORMS = str(ROOT / "tests" / "data" / "forms")


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """SIGKILL the worker and its work horse (RQ forks one per job): the whole process group, as a
        container or the OOM killer of a cgroup would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def wait(self, timeout: float = 90) -> int:
        code = self.process.wait(timeout=timeout)
        return code

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
def start_worker(app: Flask, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start `python -m worker [--burst]` with the test app's database, Redis and queue, its clock frozen at
    `frozen`; every process still running at the end of the test is killed."""
    started: list[WorkerProcess] = []

    def start(frozen: datetime, *, burst: bool = False) -> WorkerProcess:
        environment = {
            **os.environ,
            # The test app's secrets (public test values, accepted only under TESTING): one audit key for both.
            "TESTING": "true",
            **{name: app.config[name] for name in ("SECRET_KEY", "SIGNING_SECRET", "AUDIT_SECRET")},
            "INSTANCE_DIR": app.config["INSTANCE_DIR"],
            "DATABASE_URL": app.config["DATABASE_URL"],
            "REDIS_URL": app.config["REDIS_URL"],
            "RQ_QUEUE": app.config["RQ_QUEUE"],
            "FROZEN_CLOCK": frozen.isoformat(),
            "TIMER_SWEEP_SECONDS": "3600",  # only the sweep at start: the test says when timers are due
        }
        log = tmp_path / f"worker-{len(started)}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "worker", *(["--burst"] if burst else [])],
                cwd=ROOT,
                env=environment,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so kill() reaches the work horse too
            )
        worker = WorkerProcess(process, log)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.kill()


@pytest.fixture
def clean_queue(app: Flask) -> Iterator[None]:
    """The test app's queue empty before and after, and the workers not suspended."""
    from rq.suspension import resume

    def clean() -> None:
        queue = jobs.queue()  # afresh: a test may have replaced the connection (Redis restarted)
        resume(jobs.connection())
        queue.empty()
        for registry in (queue.scheduled_job_registry, queue.failed_job_registry, queue.finished_job_registry):
            for job_id in registry.get_job_ids():
                registry.remove(job_id, delete_job=True)
        # A killed worker's job stays "started" (RQ 3 cannot remove one from there): drop the registry whole.
        jobs.connection().delete(queue.started_job_registry.key)

    clean()
    yield
    clean()


def deploy(session: Session, clock: Any, name: str) -> None:
    xml = (ROOT / "tests" / "data" / "bpmn" / name).read_bytes()
    definitions.deploy(session, name, xml, scope="_default", forms_dir=FORMS, actor="test", now=clock.now())


def start_timer_instance(session: Session, clock: Any, agency: Agency, key: str) -> int:
    """An instance of tests/data/bpmn/timer.bpmn: waits 30 minutes, then opens `act` for a specialist."""
    started = services.start_instance(session, agency, "timer", business_key=key, data={}, actor="t", now=clock.now())
    instance_id = started.instance.id
    session.commit()
    return instance_id


@dataclass(frozen=True)
class Picture:
    """What a fault must not change: the stored instance, its history and its open tasks."""

    status: str
    revision: int
    state: str
    next_timer_at: datetime | None
    event_count: int
    last_event_hash: str
    history: tuple[tuple[int, str, str], ...]
    open_tasks: tuple[tuple[str, str], ...]


def picture(session: Session, instance_id: int) -> Picture:
    session.expire_all()
    instance = session.get(ProcessInstance, instance_id)
    assert instance is not None
    history = session.execute(
        select(HistoryEvent.seq, HistoryEvent.kind, HistoryEvent.hash)
        .where(HistoryEvent.instance_id == instance_id)
        .order_by(HistoryEvent.seq)
    ).all()
    tasks = session.execute(
        select(OpenTask.task_uuid, OpenTask.bpmn_id).where(OpenTask.instance_id == instance_id).order_by(OpenTask.id)
    ).all()
    result = Picture(
        instance.status,
        instance.revision,
        instance.state,
        instance.next_timer_at,
        instance.event_count,
        instance.last_event_hash,
        tuple(tuple(row) for row in history),  # type: ignore[misc]
        tuple(tuple(row) for row in tasks),  # type: ignore[misc]
    )
    session.rollback()  # end the read: on SQLite an open transaction would hold the write lock
    return result


def count_events(session: Session, kind: str, **where: Any) -> int:
    query = select(func.count()).select_from(HistoryEvent).where(HistoryEvent.kind == kind)
    for name, value in where.items():
        query = query.where(getattr(HistoryEvent, name) == value)
    session.expire_all()
    count = int(session.scalar(query) or 0)
    session.rollback()
    return count


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The app on 127.0.0.1 and a free port, served by a threaded werkzeug server, as in tests/e2e."""
    with serve(app, "faults-server") as url:
        yield url
