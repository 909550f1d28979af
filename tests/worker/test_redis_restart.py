"""Redis goes away under a running app: a committed action neither fails nor waits on it, the embedded
redis-server is started again by the next process that needs it, and a dropped connection is re-made."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from rq.job import Job

from app import jobs
from app.engine.jobs import sweep_due_timers
from tests.worker.test_timers import start_timer_instance

embedded_only = pytest.mark.skipif(bool(os.environ.get("REDIS_URL")), reason="the embedded redis-server")


def kill_embedded_server() -> None:
    """SIGKILL the instance's redis-server, as a crash would (no shutdown, the socket file left behind)."""
    server = jobs._embedded
    assert server is not None, "this process started the embedded server"
    pid = int(Path(server.pidfile).read_text())
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.02)
    with pytest.raises(OSError):  # nobody answers on the socket any more
        import socket

        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(jobs.embedded_socket())
        finally:
            probe.close()


@embedded_only
def test_a_committed_action_after_the_embedded_server_died_is_queued_on_a_new_one(db, clock, make_agency, run_worker):
    jobs.connection().ping()
    kill_embedded_server()
    instance = start_timer_instance(db, clock, make_agency())  # commits, then queues its wake-up
    scheduled = jobs.queue().scheduled_job_registry
    (job_id,) = scheduled.get_job_ids()
    assert Job.fetch(job_id, connection=jobs.connection()).args == (instance.id,)
    # and the worker, on the same connection, works on the new server
    job = jobs.queue().enqueue(sweep_due_timers)
    run_worker()
    assert job.get_status(refresh=True) == "finished"


@embedded_only
def test_a_worker_client_reconnects_to_the_restarted_server(app, run_worker):
    jobs.connection().ping()
    kill_embedded_server()
    job = jobs.queue().enqueue(sweep_due_timers)  # the first command starts the server again
    run_worker()
    assert job.get_status(refresh=True) == "finished"


def test_a_dropped_connection_is_made_again_on_the_next_command(app):
    client = jobs.connection()
    client.ping()
    own_id = client.client_id()
    other = jobs.connection().__class__(
        connection_pool=client.connection_pool.__class__(
            connection_class=client.connection_pool.connection_class, **client.connection_pool.connection_kwargs
        )
    )
    try:
        assert other.client_kill_filter(_id=own_id) == 1  # the server drops our link, as a restart does
    finally:
        other.close()
    job = jobs.queue().enqueue(sweep_due_timers)
    assert job.id in jobs.queue().job_ids


def test_a_committed_action_does_not_wait_on_a_redis_that_is_down(app, db, clock, make_agency):
    """Redis is only the schedule (the sweep re-queues from the database): with no server listening the step
    commits and the failed enqueue costs well under a second (it cost about 4 s with redis-py's default retry)."""
    settings = dict(jobs._settings)
    jobs.configure("redis://127.0.0.1:9/0", settings["instance_dir"], settings["queue_name"])  # nothing listens
    try:
        started = time.monotonic()
        instance = start_timer_instance(db, clock, make_agency())
        elapsed = time.monotonic() - started
    finally:
        jobs.configure(settings["redis_url"], settings["instance_dir"], settings["queue_name"])
    assert instance.id is not None and instance.next_timer_at is not None
    assert elapsed < 1.5, f"a committed step waited {elapsed:.2f} s on a dead Redis"
