"""Concurrent clicks on one task, and concurrent registrations, with real commits on the real database."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from app.documents import services as documents
from app.engine import definitions, services
from app.engine.models import HistoryEvent, OpenTask
from app.errors import Conflict
from app.extensions import db as database
from app.org import services as org
from app.org.models import Role, User
from config import ROOT
from tests.documents.test_registration import VALUES

FORMS = str(ROOT / "tests" / "data" / "forms")


def run_together(count: int, work) -> list[object]:
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def worker(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_people_completing_the_same_task_at_once_complete_it_once(app, committed, clock):
    agency = org.create_agency(committed, "000.00.55.H99", "Cơ quan thử", "CQT")
    people = [
        org.create_user(committed, agency, f"cv{i}", "Chuyên viên", "Secret@123", [Role.SPECIALIST]) for i in range(2)
    ]
    xml = (ROOT / "tests" / "data" / "bpmn" / "timer.bpmn").read_bytes()
    definitions.deploy(committed, "timer.bpmn", xml, scope="_default", forms_dir=FORMS, actor="t", now=clock.now())
    instance = services.start_instance(
        committed, agency, "timer", business_key="c:1", data={}, actor="t", now=clock.now()
    ).instance
    services.fire_timers(committed, instance.id, now=clock.now() + timedelta(hours=1))
    committed.commit()
    uuid = committed.scalar(select(OpenTask.task_uuid).where(OpenTask.instance_id == instance.id))
    with app.app_context():
        engine = database.engine
    factory = sessionmaker(bind=engine)
    ids = [person.id for person in people]
    committed.commit()  # on SQLite an open transaction holds the write lock

    def complete(index: int) -> str:
        with factory() as session, session.begin():
            user = session.get(User, ids[index])
            services.complete_task(session, user, uuid, {"note": f"by {index}"}, now=clock.now())
        return "done"

    results = run_together(2, complete)
    assert sorted(map(type, results), key=str) == sorted([str, Conflict], key=str), results
    committed.expire_all()
    events = committed.scalars(
        select(HistoryEvent).where(HistoryEvent.task_uuid == uuid, HistoryEvent.kind == "task_completed")
    ).all()
    assert len(events) == 1


def test_clerks_registering_at_the_same_instant_get_consecutive_numbers(app, committed, clock):
    agency = org.create_agency(committed, "000.00.56.H99", "Cơ quan thử", "CQT")
    org.create_user(committed, agency, "ld", "Lãnh đạo", "Secret@123", [Role.LEADER])
    clerks = [org.create_user(committed, agency, f"vt{i}", "Văn thư", "Secret@123", [Role.CLERK]).id for i in range(6)]
    committed.commit()
    with app.app_context():
        engine = database.engine
    factory = sessionmaker(bind=engine)

    def register(index: int) -> int:
        with factory() as session, session.begin():
            clerk = session.get(User, clerks[index])
            return documents.register_incoming(session, clerk, dict(VALUES), [], now=clock.now()).arrival_number

    results = run_together(len(clerks), register)
    assert sorted(results) == list(range(1, len(clerks) + 1)), results
