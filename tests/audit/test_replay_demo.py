"""Replay reproduces every untampered instance of a demo-like installation: an incoming document through
direction and completion, an outgoing one through signing and publication, and the exchange to the agency
that receives it, accepts it and handles it (its status helpers report back to the sender), and a document
still waiting for its leader."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import clock as app_clock
from app.audit import services as audit
from app.documents import exchange
from app.documents.models import OutgoingState, ReceivedDocument
from app.engine.models import InstanceStatus, ProcessInstance
from app.org.models import Role
from tests.documents.test_outgoing import act, make_office, start, the_document, to_signature
from tests.inbox.test_incoming_flow import register, task_uuid_in
from tests.signing.conftest import PASSWORD


@pytest.fixture
def running_clock(clock, monkeypatch):
    """The clock runs, as it does under `make run`, from the fixture's Wednesday morning; `advance` jumps ahead.
    A frozen clock hides any step that reads the time twice and records only one of the readings."""
    start, origin = clock.now(), time.monotonic()
    jumped = [timedelta(0)]
    monkeypatch.setattr(app_clock, "now", lambda: start + jumped[0] + timedelta(seconds=time.monotonic() - origin))

    class Running:
        @staticmethod
        def advance(delta: timedelta) -> None:
            jumped[0] += delta

        now = staticmethod(app_clock.now)

    return Running


def handle(login_as, leader, specialist):
    leader_web = login_as(leader)
    uuid = task_uuid_in(leader_web.get("/inbox/").get_data(as_text=True))
    directed = leader_web.post(
        f"/inbox/tasks/{uuid}", {"directive": "Giao xử lý", "lead": specialist.username, "deadline_days": "3"}
    )
    assert directed.status_code == 302, directed.get_data(as_text=True)[:2000]
    specialist_web = login_as(specialist)
    uuid = task_uuid_in(specialist_web.get("/inbox/").get_data(as_text=True))
    assert specialist_web.post(f"/inbox/tasks/{uuid}", {"result": "Đã xử lý"}).status_code == 302


def test_replay_reproduces_incoming_outgoing_and_exchanged_instances(
    app,
    db,
    running_clock,
    make_agency,
    make_user,
    login_as,
    signing_app,
    trusted,
):
    clock = running_clock
    local = make_agency("000.00.23.H99", name="UBND huyện Thử nghiệm")
    register(login_as(make_user(local, Role.CLERK, unit="VP")))
    clock.advance(timedelta(minutes=20))
    handle(login_as, make_user(local, Role.LEADER), make_user(local, Role.SPECIALIST, unit="KT"))

    _sender, recipient, people = make_office(db, clock, make_agency, make_user, trusted)
    assert start(login_as, people, recipient).status_code == 302
    document = the_document(db)
    clock.advance(timedelta(minutes=30))
    to_signature(db, login_as, people, document)
    signed = act(login_as, people["director"], db, document, "sign", {"decision": "sign", "password": PASSWORD})
    assert signed.status_code == 302, signed.get_data(as_text=True)[:2000]
    clock.advance(timedelta(minutes=10))
    published = act(login_as, people["clerk"], db, document, "publish", {"page_amount": "2", "receipt_hours": "4"})
    assert published.status_code == 302, published.get_data(as_text=True)[:2000]
    assert the_document(db).state == OutgoingState.PUBLISHED

    received = db.scalar(select(ReceivedDocument).where(ReceivedDocument.agency_id == recipient.id))
    clock.advance(timedelta(hours=1))
    values = exchange.header_of(received).registration_values() | {"secrecy": "0", "due_date": ""}
    accepted = login_as(people["their_clerk"]).post(f"/exchange/received/{received.id}/accept", values)
    assert accepted.status_code == 302, accepted.get_data(as_text=True)[:2000]
    clock.advance(timedelta(hours=1))
    handle(login_as, make_user(recipient, Role.LEADER), make_user(recipient, Role.SPECIALIST, unit="VP"))

    clock.advance(timedelta(minutes=5))
    register(login_as(make_user(local, Role.CLERK, unit="VP")), subject="Về việc chờ lãnh đạo cho ý kiến")

    db.expire_all()
    statuses = db.scalars(select(ProcessInstance.status).order_by(ProcessInstance.id)).all()
    # Completed ones, and one waiting at its first task as most of the demo's do: its predicted tasks keep the
    # time they were built at.
    assert statuses == [InstanceStatus.COMPLETED] * 3 + [InstanceStatus.RUNNING]
    outcomes = dict(audit.replay_all(db))
    assert {instance_id: outcome.reason for instance_id, outcome in outcomes.items() if not outcome.is_reproduced} == {}

    result = app.test_cli_runner().invoke(args=["audit", "verify", "--replay"])
    assert result.exit_code == 0, result.output
    assert "replay: 0 instances diverged" in result.output
