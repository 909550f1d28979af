"""PostgreSQL restarted under the app, as the app sees it: every connection of the database cut by the server
(pg_terminate_backend — the shared server itself is never restarted). Between requests the next one succeeds
(pool_pre_ping); in the middle of a request's transaction the person gets the Vietnamese "try again" page with
503, nothing of the step is saved, and the same click made again completes it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.pool import NullPool

from app.engine import services
from app.engine.models import OpenTask, ProcessInstance
from app.extensions import db as database
from app.org import services as org
from app.org.models import Role
from tests.conftest import PASSWORD
from tests.faults.conftest import count_events, deploy, picture, start_timer_instance, wait_for
from tests.faults.test_worker_killed import open_tasks, waiting_for_a_lock

pytestmark = pytest.mark.postgres_only

CUT_EVERY_OTHER_CONNECTION = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)
TRY_AGAIN = "Cơ sở dữ liệu không phản hồi. Vui lòng thử lại sau giây lát."


@pytest.fixture
def engine(app):
    with app.app_context():
        engine = database.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("cuts PostgreSQL connections (set DATABASE_URL)")
    return engine


def cut_connections(engine) -> int:
    """From a connection of its own (not one of the app's pool, which it would then spare)."""
    outsider = create_engine(engine.url, poolclass=NullPool)
    try:
        with outsider.connect() as connection:
            cut = int(connection.scalar(CUT_EVERY_OTHER_CONNECTION))
            connection.commit()
    finally:
        outsider.dispose()
    return cut


@pytest.fixture
def waiting_task(committed, clock):
    """A timer instance whose timer fired: `act` is open for the specialist `faults.db.cv`."""
    agency = org.create_agency(committed, "000.00.73.H99", "Cơ quan thử", "CQT")
    org.create_user(committed, agency, "faults.db.cv", "Chuyên viên", PASSWORD, [Role.SPECIALIST])
    deploy(committed, clock, "timer.bpmn")
    instance_id = start_timer_instance(committed, clock, agency, "faults:db")
    services.fire_timers(committed, instance_id, now=clock.now() + timedelta(hours=1))
    committed.commit()
    committed.execute(text("UPDATE users SET must_change_password = false WHERE username LIKE 'faults.db.%'"))
    committed.commit()
    (task_uuid,) = committed.scalars(select(OpenTask.task_uuid).where(OpenTask.instance_id == instance_id)).all()
    committed.rollback()
    return instance_id, task_uuid


def log_in(app, username):
    from tests.conftest import WebClient

    web = WebClient(app.test_client())
    assert web.login(username).status_code == 302
    return web


def test_after_every_connection_was_cut_between_requests_the_next_request_succeeds(
    app, engine, committed, waiting_task
):
    instance_id, task_uuid = waiting_task
    specialist = log_in(app, "faults.db.cv")
    assert specialist.get("/inbox/").status_code == 200  # the pool now holds a connection
    assert cut_connections(engine) >= 1
    assert specialist.get("/inbox/").status_code == 200
    assert cut_connections(engine) >= 1
    response = specialist.post(f"/inbox/tasks/{task_uuid}", {"note": "sau khi mất kết nối"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert count_events(committed, "task_completed", instance_id=instance_id) == 1
    assert open_tasks(committed, instance_id) == []


def test_a_request_cut_in_the_middle_of_its_transaction_saves_nothing_and_the_same_click_succeeds(
    app, engine, committed, waiting_task
):
    instance_id, task_uuid = waiting_task
    specialist = log_in(app, "faults.db.cv")
    page = f"/inbox/tasks/{task_uuid}"
    form = {"note": "đã xử lý", "csrf_token": specialist.token(page)}
    before = picture(committed, instance_id)

    holder = engine.connect()
    held = holder.begin()
    holder.execute(select(ProcessInstance.id).where(ProcessInstance.id == instance_id).with_for_update())
    answers = []
    click = threading.Thread(target=lambda: answers.append(specialist.client.post(page, data=form)))
    try:
        click.start()
        wait_for(lambda: waiting_for_a_lock(engine), "the request to wait for the instance's row lock")
        holder.execute(CUT_EVERY_OTHER_CONNECTION)  # the request's connection dies inside its transaction
        click.join(timeout=30)
    finally:
        held.rollback()
        holder.close()
    (response,) = answers
    html = response.get_data(as_text=True)
    assert response.status_code == 503, html[:2000]
    assert TRY_AGAIN in html
    assert response.headers["Retry-After"] == "5"
    assert "Traceback" not in html and "OperationalError" not in html
    assert picture(committed, instance_id) == before  # nothing half-written

    again = specialist.client.post(page, data=form)  # the same click, the same form
    assert again.status_code == 302, again.get_data(as_text=True)[:2000]
    assert count_events(committed, "task_completed", instance_id=instance_id) == 1
    assert open_tasks(committed, instance_id) == []
