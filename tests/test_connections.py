"""The pool on PostgreSQL: connections the server ended are replaced at checkout, with no ping per request."""

from __future__ import annotations

import os
import time

import psycopg
import pytest

from app.extensions import db as database
from app.org import services as org
from app.org.models import Role
from tests.conftest import PASSWORD, WebClient

DATABASE_URL = os.environ.get("DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not DATABASE_URL.startswith("postgres"), reason="PostgreSQL only")


def _terminate_other_sessions() -> int:
    """pg_terminate_backend of every other session in the test database (only that one), once they are gone."""
    url = DATABASE_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as connection:
        pids = [
            pid
            for (pid,) in connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
        for pid in pids:
            connection.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            left = connection.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchone()
            if left is not None and left[0] == 0:
                break
            time.sleep(0.05)
    return len(pids)


def test_requests_after_the_server_ended_every_pooled_connection_succeed(app, committed):
    agency = org.create_agency(committed, "000.00.57.H99", "Cơ quan thử", "CQT")
    clerk = org.create_user(committed, agency, "vt.pool", "Văn thư", PASSWORD, [Role.CLERK])
    clerk.must_change_password = False
    committed.commit()
    committed.close()
    web = WebClient(app.test_client())
    assert web.login("vt.pool").status_code == 302
    assert web.get("/inbox/").status_code == 200
    with app.app_context():
        pool = database.engine.pool
    assert pool.checkedin() >= 1  # idle connections that the pool will hand out again

    assert _terminate_other_sessions() >= pool.checkedin()

    for _ in range(3):  # the first request after it as well: no error page, no ping
        response = web.get("/inbox/")
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
