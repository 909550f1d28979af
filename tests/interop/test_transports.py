"""Two agencies that reach each other only through packages: over HTTP (a real server, a real worker) and
through a pair of folders (a file-based axis gateway). Every step of the receiver comes back to the sender's
table as a status package, in order, with its time (INT-1, INT-2, OUT-13, OUT-14, OUT-16)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.documents import exchange
from app.documents.models import (
    Delivery,
    ExchangeStatus,
    IncomingDocument,
    ReceivedDocument,
    ReceivedState,
)
from app.documents.services import Upload
from app.documents.specimen import document_pdf
from app.engine.models import InstanceStatus, ProcessInstance
from app.interop import jobs, services
from app.interop.edxml import read_package, read_status
from app.interop.endpoints import Policy
from app.interop.models import DirectoryEntry, OutboundPackage, PackageState
from app.org import services as org
from app.org.models import Agency, Role, Unit, User
from tests.conftest import PASSWORD
from tests.inbox.test_incoming_flow import task_uuid_in

TOKEN = "peer-token-for-tests"
SENDER, RECEIVER = "000.00.01.H98", "000.00.12.H98"
HEADER = exchange.Header(
    organ_code=SENDER,
    organ_name="Văn phòng UBND tỉnh Thử nghiệm",
    number_symbol="45/VP-TH",
    issued_date=date(2026, 11, 24),
    type_name="Công văn",
    subject="V/v báo cáo tình hình tiếp nhận hồ sơ",
    signer_position="Chánh Văn phòng",
    signer_name="Trần Văn Bình",
    due_date=date(2026, 12, 4),
    extra={"place": "Kon Tum"},
)
S = ExchangeStatus


def pdf(subject: str = HEADER.subject) -> bytes:
    return document_pdf(
        agency_name=HEADER.organ_name,
        type_name="Công văn",
        subject=subject,
        body="Nội dung thử nghiệm.",
        signer_position="Chánh Văn phòng",
        signer_name="Trần Văn Bình",
    )


@pytest.fixture
def deliver(app: Flask, run_worker) -> Callable[[], None]:
    """What the worker does: its sweep queues every package due (the test's own session has no after-commit
    hook to queue them), then the jobs run; twice, for the answers the first round caused."""

    def run() -> None:
        for _ in range(2):
            with app.app_context():
                jobs.sweep_due_packages()
            run_worker()

    return run


@pytest.fixture
def exchange_settings(app: Flask, tmp_path: Path) -> Iterator[services.Settings]:
    saved, token = services.settings, app.config["INTEROP_INBOUND_TOKEN"]
    services.settings = replace(
        saved,
        outbox_dir=str(tmp_path / "out"),
        inbox_dir=str(tmp_path / "in"),
        http_token=TOKEN,
        http_timeout=10,
        # The served app listens on 127.0.0.1 over plain http: allowed here only, never by default.
        endpoint_policy=Policy(allowed_hosts=frozenset({"127.0.0.1"}), allow_private=True),
    )
    app.config["INTEROP_INBOUND_TOKEN"] = TOKEN
    try:
        yield services.settings
    finally:
        services.settings = saved
        app.config["INTEROP_INBOUND_TOKEN"] = token


class Pair:
    """Two agencies in one database that the directory says are reached through a transport: every byte between
    them goes through packages, as between two installations."""

    def __init__(self, session: Session, transport: str, endpoint: str, now) -> None:
        self.session = session
        self.sender = org.create_agency(session, SENDER, HEADER.organ_name, "VP")
        self.receiver = org.create_agency(session, RECEIVER, "Sở Thử nghiệm liên thông", "STN")
        for agency, units in ((self.sender, ("VP",)), (self.receiver, ("VP", "KT"))):
            session.add_all(Unit(agency_id=agency.id, code=code, name=f"Phòng {code}") for code in units)
        session.flush()
        self.people: dict[str, int] = {}
        for key, agency, role, unit in (
            ("sender_clerk", self.sender, Role.CLERK, "VP"),
            ("clerk", self.receiver, Role.CLERK, "VP"),
            ("leader", self.receiver, Role.LEADER, None),
            ("specialist", self.receiver, Role.SPECIALIST, "KT"),
        ):
            unit_row = (
                session.scalar(select(Unit).where(Unit.agency_id == agency.id, Unit.code == unit)) if unit else None
            )
            user = org.create_user(session, agency, f"ix.{key}", f"Người {key}", PASSWORD, [role], unit=unit_row)
            user.must_change_password = False
            self.people[key] = user.id
        for agency in (self.sender, self.receiver):
            session.add(
                DirectoryEntry(
                    code=agency.code,
                    name=agency.name,
                    transport=transport,
                    endpoint=endpoint,
                    updated_at=now,
                    updated_by="tests",
                )
            )
        session.commit()
        self.sender_id, self.receiver_id = self.sender.id, self.receiver.id

    def user(self, key: str) -> User:
        user = self.session.get(User, self.people[key])
        assert user is not None
        return user

    def login(self, login_as, key: str):
        """A browser-like client of that person; the test's session is released first (SQLite: one writer)."""
        user = self.user(key)
        _ = user.agency.name, user.unit, user.roles
        self.session.close()
        return login_as(user)

    def send(self, now, subject: str = HEADER.subject, number: str = "45/VP-TH") -> int:
        sender = self.session.get(Agency, self.sender_id)
        header = replace(HEADER, subject=subject, number_symbol=number)
        files = [Upload(f"{number.replace('/', '_')}.pdf", "application/pdf", pdf(subject))]
        [delivery] = exchange.send(self.session, sender, header, files, [RECEIVER], actor="ix", now=now)
        self.session.commit()
        delivery_id = delivery.id
        self.session.close()  # no transaction left open: on SQLite it would hold the served app's writes
        return delivery_id

    def statuses(self, delivery_id: int) -> list[str]:
        self.session.expire_all()
        delivery = self.session.get(Delivery, delivery_id)
        assert delivery is not None
        result = [event.status for event in delivery.events]
        self.session.close()
        return result

    def received(self, number: str = "45/VP-TH") -> ReceivedDocument:
        self.session.expire_all()
        found = self.session.scalar(
            select(ReceivedDocument).where(
                ReceivedDocument.agency_id == self.receiver_id, ReceivedDocument.number_symbol == number
            )
        )
        assert found is not None
        return found

    def done(self) -> None:
        self.session.commit()
        self.session.close()


def test_two_agencies_over_http_every_step_comes_back_in_order(
    committed, clock, live_server, exchange_settings, deliver, login_as
):
    pair = Pair(committed, "http", f"{live_server}/interop/packages", clock.now())
    delivery_id = pair.send(clock.now())
    committed.expire_all()
    delivery = committed.get(Delivery, delivery_id)
    assert delivery.transport == "http" and delivery.handed_at is None
    assert pair.statuses(delivery_id) == [S.SENT]
    assert not pair.session.scalars(select(ReceivedDocument)).all()  # nothing crossed without the worker
    pair.done()

    deliver()  # the package is POSTed; the peer takes it in and answers 01 with a status package
    received = pair.received()
    assert received.transport == "http" and received.state == ReceivedState.PENDING
    assert received.delivery_id is None and received.document_id == f"{SENDER},2026,45"
    header = exchange.header_of(received)
    assert header.extra["place"] == "Kon Tum" and header.due_date == date(2026, 12, 4)
    assert received.files[0].content.startswith(b"%PDF-")
    pair.done()
    assert pair.statuses(delivery_id) == [S.SENT, S.ARRIVED]
    delivery = committed.get(Delivery, delivery_id)
    assert delivery.handed_at == clock.now()
    pair.done()

    clock.advance(timedelta(hours=1))
    received = pair.received()
    values = exchange.header_of(received).registration_values() | {"secrecy": "0", "due_date": ""}
    document = exchange.accept(committed, pair.user("clerk"), received, values, [], now=clock.now())
    assert document.organ_code == SENDER and document.received_via == "Trục liên thông"
    pair.done()
    deliver()
    assert pair.statuses(delivery_id) == [S.SENT, S.ARRIVED, S.ACCEPTED]

    clock.advance(timedelta(hours=1))
    specialist_name = pair.user("specialist").username
    leader = pair.login(login_as, "leader")
    uuid = task_uuid_in(leader.get("/inbox/").get_data(as_text=True))
    directed = leader.post(
        f"/inbox/tasks/{uuid}", {"directive": "Giao KT", "lead": specialist_name, "deadline_days": "2"}
    )
    assert directed.status_code == 302
    deliver()
    assert pair.statuses(delivery_id)[-2:] == [S.ASSIGNED, S.IN_PROGRESS]

    clock.advance(timedelta(hours=1))
    specialist = pair.login(login_as, "specialist")
    uuid = task_uuid_in(specialist.get("/inbox/").get_data(as_text=True))
    assert specialist.post(f"/inbox/tasks/{uuid}", {"result": "Đã báo cáo"}).status_code == 302
    deliver()
    assert pair.statuses(delivery_id) == [S.SENT, S.ARRIVED, S.ACCEPTED, S.ASSIGNED, S.IN_PROGRESS, S.COMPLETED]
    committed.expire_all()
    events = committed.get(Delivery, delivery_id).events
    assert [e.at.isoformat() for e in events][-1] == "2026-11-25T05:00:00+00:00"  # the receiver's time
    assert "Sở Thử nghiệm liên thông" in events[-1].reported_by
    pair.done()
    sent = pair.login(login_as, "sender_clerk").get("/exchange/sent").get_data(as_text=True)
    assert "2026-11-25T12:00:00+07:00" in sent and 'data-transport="http"' in sent

    # Every package of the story crossed as QCVN 102 XML: one document, six statuses, all handed over.
    packages = committed.scalars(select(OutboundPackage).order_by(OutboundPackage.id)).all()
    assert [p.kind for p in packages] == ["document"] + ["status"] * 5
    assert {p.state for p in packages} == {PackageState.SENT}
    codes = [read_status(p.content).status_code for p in packages[1:]]
    assert codes == ["01", "03", "04", "05", "06"]
    pair.done()


def test_over_http_a_return_carries_its_reason_and_a_recall_cancels_the_receivers_process(
    committed, clock, live_server, exchange_settings, deliver, login_as
):
    pair = Pair(committed, "http", f"{live_server}/interop/packages", clock.now())
    returned_id = pair.send(clock.now(), "V/v gửi nhầm", "46/VP-TH")
    recalled_id = pair.send(clock.now(), "V/v thu hồi", "47/VP-TH")
    deliver()
    deliver()

    received = pair.received("46/VP-TH")
    exchange.return_to_sender(
        committed, pair.user("clerk"), received, "Gửi nhầm cơ quan, đề nghị kiểm tra.", now=clock.now()
    )
    received = pair.received("47/VP-TH")
    values = exchange.header_of(received).registration_values() | {"secrecy": "0", "due_date": ""}
    document = exchange.accept(committed, pair.user("clerk"), received, values, [], now=clock.now())
    instance_id = document.instance_id
    pair.done()
    deliver()
    assert pair.statuses(returned_id) == [S.SENT, S.ARRIVED, S.RETURNED]
    committed.expire_all()
    assert committed.get(Delivery, returned_id).status_note == "Gửi nhầm cơ quan, đề nghị kiểm tra."
    pair.done()

    clock.advance(timedelta(minutes=30))
    delivery = committed.get(Delivery, recalled_id)
    exchange.request_recall(committed, delivery, "Ban hành nhầm phiên bản.", by="Văn thư", now=clock.now())
    pair.done()
    deliver()
    received = pair.received("47/VP-TH")
    assert received.recall_note == "Ban hành nhầm phiên bản." and received.recall_requested_at is not None
    exchange.answer_recall(committed, pair.user("clerk"), received, agree=True, note="", now=clock.now())
    pair.done()
    deliver()
    assert pair.statuses(recalled_id) == [S.SENT, S.ARRIVED, S.ACCEPTED, S.RECALL_REQUESTED, S.RECALL_ACCEPTED]
    assert committed.get(ProcessInstance, instance_id).status == InstanceStatus.CANCELLED
    recall = committed.scalar(
        select(OutboundPackage).where(OutboundPackage.kind == "document").order_by(OutboundPackage.id.desc())
    )
    message = read_package(recall.content)
    assert message.business_type == 1 and message.business_reason == "Ban hành nhầm phiên bản."
    assert message.attachments == [] and message.document_id == f"{SENDER},2026,47"
    pair.done()


def test_through_folders_a_gateway_carries_documents_statuses_and_a_refused_recall(
    committed, clock, exchange_settings, app
):
    pair = Pair(committed, "directory", "", clock.now())
    outbox, inbox = Path(exchange_settings.outbox_dir), Path(exchange_settings.inbox_dir)

    def push_all() -> None:
        result = app.test_cli_runner().invoke(args=["interop", "push"])
        assert result.exit_code == 0, result.output

    def gateway() -> list[str]:
        """The axis between two folders: what one side wrote appears in the other's inbox."""
        inbox.mkdir(parents=True, exist_ok=True)
        moved = sorted(path.name for path in outbox.iterdir() if not path.name.startswith("."))
        for name in moved:
            shutil.move(outbox / name, inbox / name)
        return moved

    def poll() -> str:
        result = app.test_cli_runner().invoke(args=["interop", "poll"])
        assert result.exit_code == 0, result.output
        return result.output

    delivery_id = pair.send(clock.now())
    push_all()
    [name] = gateway()
    assert name.endswith(".edxml") and read_package((inbox / name).read_bytes()).header.subject == HEADER.subject
    assert "document: 1" in poll()
    assert not list(inbox.glob("*.edxml")) and len(list((inbox / "done").iterdir())) == 1
    push_all()
    gateway()
    assert "status: 1" in poll()
    assert pair.statuses(delivery_id) == [S.SENT, S.ARRIVED]

    received = pair.received()
    values = exchange.header_of(received).registration_values() | {"secrecy": "0", "due_date": ""}
    exchange.accept(committed, pair.user("clerk"), received, values, [], now=clock.now())
    pair.done()
    push_all()
    gateway()
    poll()
    exchange.request_recall(
        committed, committed.get(Delivery, delivery_id), "Đề nghị thu hồi.", by="VT", now=clock.now()
    )
    pair.done()
    push_all()
    gateway()
    assert "recall: 1" in poll()
    received = pair.received()
    exchange.answer_recall(
        committed, pair.user("clerk"), received, agree=False, note="Văn bản đã được triển khai.", now=clock.now()
    )
    pair.done()
    push_all()
    gateway()
    poll()
    assert pair.statuses(delivery_id) == [S.SENT, S.ARRIVED, S.ACCEPTED, S.RECALL_REQUESTED, S.RECALL_REFUSED]
    committed.expire_all()
    assert committed.get(Delivery, delivery_id).status_note == "Văn bản đã được triển khai."
    pair.done()

    # The same package dropped in the folder again (a gateway that delivers twice) is still one document.
    first = sorted((inbox / "done").iterdir())[0]
    shutil.copy(first, inbox / "again.edxml")
    poll()
    assert len(committed.scalars(select(ReceivedDocument)).all()) == 1
    assert len(committed.scalars(select(IncomingDocument)).all()) == 1
    pair.done()


def test_an_unreachable_peer_is_tried_again_later_and_then_given_up_with_the_reason(
    committed, clock, exchange_settings, app, login_as
):
    pair = Pair(committed, "http", "http://127.0.0.1:9/interop/packages", clock.now())  # port 9: nothing listens
    services.settings = replace(exchange_settings, max_attempts=3)
    delivery_id = pair.send(clock.now())
    [package] = committed.scalars(select(OutboundPackage)).all()
    package_id = package.id
    pair.done()

    def attempt() -> str:
        result = services.push(committed, package_id, now=clock.now(), commit=committed.commit)
        pair.done()
        return result

    assert attempt() == "retry"
    package = committed.get(OutboundPackage, package_id)
    assert package.attempts == 1 and package.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert "cannot reach" in package.last_error
    assert "cannot reach" in committed.get(Delivery, delivery_id).transport_note
    pair.done()
    assert attempt() == "skipped"  # not due yet: a second job for it does nothing
    clock.advance(timedelta(seconds=30))
    assert attempt() == "retry"
    assert committed.get(OutboundPackage, package_id).next_attempt_at == clock.now() + timedelta(minutes=1)
    pair.done()
    clock.advance(timedelta(minutes=1))
    assert attempt() == "failed"
    assert committed.get(OutboundPackage, package_id).state == PackageState.FAILED
    pair.done()

    sent = pair.login(login_as, "sender_clerk").get("/exchange/sent").get_data(as_text=True)
    assert "transport-error" in sent and "cannot reach" in sent
    pair.done()


def test_a_package_due_again_after_redis_lost_its_job_is_found_by_the_sweep(committed, clock, exchange_settings):
    pair = Pair(committed, "directory", "", clock.now())
    pair.send(clock.now())
    [package] = committed.scalars(select(OutboundPackage)).all()
    package_id = package.id
    pair.done()
    assert services.due_packages(committed, clock.now()) == [package_id]
    assert services.push(committed, package_id, now=clock.now(), commit=committed.commit) == "sent"
    pair.done()
    assert services.due_packages(committed, clock.now()) == []
    written = list(Path(exchange_settings.outbox_dir).iterdir())
    assert [path.name for path in written] == [committed.get(OutboundPackage, package_id).file_name]
    pair.done()


def test_the_http_door_refuses_a_wrong_token_and_keeps_what_it_cannot_read(
    committed, clock, live_server, exchange_settings, app
):
    import urllib.error
    import urllib.request

    pair = Pair(committed, "http", f"{live_server}/interop/packages", clock.now())
    pair.done()

    def post(body: bytes, token: str) -> tuple[int, dict]:
        request = urllib.request.Request(f"{live_server}/interop/packages", data=body, method="POST")
        request.add_header("Authorization", f"Bearer {token}")
        request.add_header("Content-Type", "application/xml")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    status, body = post(b"<edXML/>", "wrong")
    assert status == 401 and "không đúng" in body["error"]
    from app.interop.models import QuarantinedPackage

    assert committed.scalars(select(QuarantinedPackage)).all() == []
    pair.done()

    status, body = post(b"<edXML><truncated", TOKEN)
    assert status == 200 and body["result"] == "quarantined"
    assert "XML" in body["reason"]
    [entry] = committed.scalars(select(QuarantinedPackage)).all()
    assert entry.content == b"<edXML><truncated" and entry.transport == "http"
    pair.done()
