"""Documents between agencies of the installation: arrival, the clerk's signature check, return with a reason
(IN-2), acceptance into the register (IN-3, IN-5), and every handling status back at the sender (OUT-13)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from app.documents import exchange
from app.documents.models import (
    Attachment,
    Delivery,
    ExchangeStatus,
    IncomingDocument,
    ReceivedDocument,
    ReceivedState,
)
from app.documents.services import Upload
from app.documents.specimen import document_pdf
from app.errors import InvalidInput, PermissionDenied
from app.inbox.models import Notification
from app.org.models import Role
from app.signing import services as signing
from tests.inbox.test_incoming_flow import task_uuid_in
from tests.signing.test_web import SECRET, give_key

HEADER = exchange.Header(
    organ_code="000.00.01.H99",
    organ_name="Văn phòng Thử nghiệm",
    number_symbol="45/VP-TH",
    issued_date=date(2026, 11, 24),
    type_name="Công văn",
    subject="V/v báo cáo tình hình tiếp nhận hồ sơ",
    urgency=0,
    signer_position="Chánh Văn phòng",
    signer_name="Trần Văn Bình",
)


@pytest.fixture
def pair(db, make_agency, make_user):
    """A sending agency and a receiving one, each with a clerk; the receiver with a leader and a specialist."""
    sender = make_agency("000.00.01.H99", name="Văn phòng Thử nghiệm")
    receiver = make_agency("000.00.12.H99", name="Sở Thử nghiệm")
    people = {
        "sender_clerk": make_user(sender, Role.CLERK, unit="VP"),
        "clerk": make_user(receiver, Role.CLERK, unit="VP"),
        "leader": make_user(receiver, Role.LEADER),
        "specialist": make_user(receiver, Role.SPECIALIST, unit="KT"),
    }
    return sender, receiver, people


def plain_pdf() -> bytes:
    return document_pdf(
        agency_name="Văn phòng Thử nghiệm",
        type_name="Công văn",
        subject=HEADER.subject,
        body="Nội dung thử nghiệm.",
        signer_position="Chánh Văn phòng",
        signer_name="Trần Văn Bình",
    )


def send(db, clock, sender, receiver, content: bytes, header=HEADER) -> Delivery:
    [delivery] = exchange.send(
        db,
        sender,
        header,
        [Upload("45_VP-TH.pdf", "application/pdf", content)],
        [receiver.code],
        actor="t",
        now=clock.now(),
    )
    db.commit()
    return delivery


def statuses(db, delivery: Delivery) -> list[str]:
    db.expire_all()
    return [event.status for event in db.get(Delivery, delivery.id).events]


def test_a_sent_document_waits_for_the_clerk_and_the_sender_sees_it_arrived(db, clock, pair, login_as):
    sender, receiver, people = pair
    delivery = send(db, clock, sender, receiver, plain_pdf())
    assert statuses(db, delivery) == [ExchangeStatus.SENT, ExchangeStatus.ARRIVED]

    clerk = login_as(people["clerk"])
    listing = clerk.get("/exchange/received").get_data(as_text=True)
    assert "45/VP-TH" in listing and HEADER.subject in listing
    assert re.search(r'id="received-link"[^>]*>[^<]*<span class="count">1</span>', listing)
    [notice] = db.scalars(select(Notification).where(Notification.user_id == people["clerk"].id)).all()
    assert "Văn phòng Thử nghiệm" in notice.message

    sent = login_as(people["sender_clerk"]).get("/exchange/sent").get_data(as_text=True)
    assert "Sở Thử nghiệm" in sent
    assert 'data-status="01"' in sent and "2026-11-25T09:00:00+07:00" in sent


def test_an_unsigned_document_is_proposed_for_return_and_goes_back_with_the_reason(db, clock, pair, login_as):
    sender, receiver, people = pair
    delivery = send(db, clock, sender, receiver, plain_pdf())
    received = db.scalar(select(ReceivedDocument).where(ReceivedDocument.agency_id == receiver.id))
    clerk = login_as(people["clerk"])
    page = clerk.get(f"/exchange/received/{received.id}").get_data(as_text=True)
    assert "Đề nghị trả lại" in page  # the return proposal
    assert "45_VP-TH.pdf: không có chữ ký số" in page  # prefilled reason

    empty = clerk.post(f"/exchange/received/{received.id}/return", {"reason": " "})
    assert empty.status_code == 422 and "Hãy ghi lý do để nơi gửi biết." in empty.get_data(as_text=True)
    db.expire_all()
    assert db.get(ReceivedDocument, received.id).state == ReceivedState.PENDING

    clock.advance(timedelta(minutes=20))
    clerk = login_as(people["clerk"])  # a new session: the idle lock closed the first
    response = clerk.post(f"/exchange/received/{received.id}/return", {"reason": "Văn bản chưa được ký số."})
    assert response.status_code == 302
    db.expire_all()
    assert db.get(ReceivedDocument, received.id).state == ReceivedState.RETURNED
    assert statuses(db, delivery) == [ExchangeStatus.SENT, ExchangeStatus.ARRIVED, ExchangeStatus.RETURNED]
    returned = db.get(Delivery, delivery.id)
    assert returned.status_note == "Văn bản chưa được ký số."
    assert returned.status_at.isoformat() == "2026-11-25T02:20:00+00:00"
    [notice] = db.scalars(select(Notification).where(Notification.user_id == people["sender_clerk"].id)).all()
    assert "trả lại" in notice.message and "Văn bản chưa được ký số." in notice.message
    assert db.scalar(select(func.count()).select_from(IncomingDocument)) == 0

    again = clerk.post(f"/exchange/received/{received.id}/accept", {"organ_name": "x"})
    assert again.status_code == 422  # a returned document cannot be accepted afterwards


def test_acceptance_registers_with_the_files_and_every_handling_step_reaches_the_sender(
    db,
    clock,
    pair,
    login_as,
    signing_app,
    trusted,
    test_pki,
):
    sender, receiver, people = pair
    give_key(db, clock, sender, None, test_pki.agency_p12["UBND"])
    sealed = signing.seal_unsigned(
        db, sender, plain_pdf(), number="45/VP-TH", issued_on=date(2026, 11, 24), secret=SECRET, now=clock.now()
    )
    delivery = send(db, clock, sender, receiver, sealed)
    received = db.scalar(select(ReceivedDocument).where(ReceivedDocument.agency_id == receiver.id))

    clerk = login_as(people["clerk"])
    page = clerk.get(f"/exchange/received/{received.id}").get_data(as_text=True)
    assert 'data-all-valid="true"' in page and "Đề nghị trả lại" not in page
    form = clerk.get(f"/exchange/received/{received.id}/accept").get_data(as_text=True)
    assert 'value="45/VP-TH"' in form and 'value="Văn phòng Thử nghiệm"' in form and 'value="2026-11-24"' in form

    clock.advance(timedelta(hours=1))
    clerk = login_as(people["clerk"])
    values = exchange.header_of(received).registration_values() | {"secrecy": "0", "due_date": ""}
    response = clerk.post(f"/exchange/received/{received.id}/accept", values)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    document = db.scalar(select(IncomingDocument).where(IncomingDocument.agency_id == receiver.id))
    assert document.arrival_number == 1 and document.received_via == "Trục liên thông"
    assert document.organ_code == "000.00.01.H99" and document.number_symbol == "45/VP-TH"
    [attachment] = db.scalars(select(Attachment).where(Attachment.document_id == document.id)).all()
    assert attachment.content == sealed
    accepted = db.get(Delivery, delivery.id)
    assert accepted.status == ExchangeStatus.ACCEPTED
    assert accepted.status_at.isoformat() == "2026-11-25T03:00:00+00:00"  # the same day (IN-3)

    clock.advance(timedelta(hours=1))
    leader = login_as(people["leader"])
    uuid = task_uuid_in(leader.get("/inbox/").get_data(as_text=True))
    directed = leader.post(
        f"/inbox/tasks/{uuid}",
        {"directive": "Giao phòng KT", "lead": people["specialist"].username, "deadline_days": "2"},
    )
    assert directed.status_code == 302
    clock.advance(timedelta(hours=1))
    specialist = login_as(people["specialist"])
    uuid = task_uuid_in(specialist.get("/inbox/").get_data(as_text=True))
    assert specialist.post(f"/inbox/tasks/{uuid}", {"result": "Đã báo cáo"}).status_code == 302

    assert statuses(db, delivery) == [
        ExchangeStatus.SENT,
        ExchangeStatus.ARRIVED,
        ExchangeStatus.ACCEPTED,
        ExchangeStatus.ASSIGNED,
        ExchangeStatus.IN_PROGRESS,
        ExchangeStatus.COMPLETED,
    ]
    times = [event.at.isoformat() for event in db.get(Delivery, delivery.id).events]
    assert times[-1] == "2026-11-25T05:00:00+00:00"
    sent = login_as(people["sender_clerk"]).get("/exchange/sent").get_data(as_text=True)
    assert "2026-11-25T12:00:00+07:00" in sent  # completion, in Vietnam time


def test_the_same_message_twice_is_one_document(db, clock, pair):
    sender, receiver, _people = pair
    arguments = dict(
        message_id="m-1",
        transport="internal",
        sender_code=sender.code,
        sender_name=sender.name,
        header=HEADER,
        files=[Upload("a.pdf", "application/pdf", plain_pdf())],
        now=clock.now(),
    )
    first = exchange.receive(db, receiver, **arguments)
    second = exchange.receive(db, receiver, **arguments)
    assert first.id == second.id
    assert db.scalar(select(func.count()).select_from(ReceivedDocument)) == 1


def test_only_the_receiving_agencys_clerk_decides(db, clock, pair, make_user, login_as):
    sender, receiver, people = pair
    send(db, clock, sender, receiver, plain_pdf())
    received = db.scalar(select(ReceivedDocument).where(ReceivedDocument.agency_id == receiver.id))
    assert login_as(people["sender_clerk"]).get(f"/exchange/received/{received.id}").status_code == 403
    assert login_as(people["specialist"]).get(f"/exchange/received/{received.id}").status_code == 403
    leader = login_as(people["leader"])
    assert leader.get(f"/exchange/received/{received.id}").status_code == 200  # leaders see what waits
    response = leader.post(f"/exchange/received/{received.id}/return", {"reason": "Không đúng thẩm quyền"})
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        exchange.return_to_sender(db, people["leader"], received, "Không đúng thẩm quyền", now=clock.now())


def test_sending_refuses_bad_recipients_and_writes_nothing(db, clock, pair):
    sender, receiver, _people = pair
    files = [Upload("a.pdf", "application/pdf", plain_pdf())]
    for codes in (["12.H99"], [sender.code], []):
        with pytest.raises(InvalidInput):
            exchange.send(db, sender, HEADER, files, codes, actor="t", now=clock.now())
    with pytest.raises(InvalidInput, match="not in this installation"):
        exchange.send(db, sender, HEADER, files, ["000.00.77.H99"], actor="t", now=clock.now())
    with pytest.raises(InvalidInput):
        exchange.send(db, sender, HEADER, [], [receiver.code], actor="t", now=clock.now())


def test_the_inject_command_puts_a_sealed_document_in_the_clerks_list(
    app,
    db,
    clock,
    pair,
    signing_app,
    trusted,
    test_pki,
):
    sender, receiver, _people = pair
    give_key(db, clock, sender, None, test_pki.agency_p12["UBND"])
    result = app.test_cli_runner().invoke(
        args=[
            "exchange",
            "inject",
            "--from",
            sender.code,
            "--to",
            receiver.code,
            "--urgency",
            "3",
            "--subject",
            "Hỏa tốc thử",
        ]
    )
    assert result.exit_code == 0, result.output
    received = db.scalar(select(ReceivedDocument).where(ReceivedDocument.agency_id == receiver.id))
    assert received.urgency == 3 and received.subject == "Hỏa tốc thử"
    [item] = received.files
    check = signing.verify_document(db, item.content, now=clock.now() + timedelta(minutes=1))
    assert check.all_valid and len(check.signatures) == 1

    bad = app.test_cli_runner().invoke(args=["exchange", "inject", "--from", "x", "--to", receiver.code])
    assert bad.exit_code != 0 and "000.00.01.H34" in bad.output
