"""The outgoing procedure through the web: draft → initial → format check → sign-off chain → digital signature →
number, seal and publish to an agency and a unit → the recipient's clerk; returns, the 16:00 cut-off, recall."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.audit.services import verify_all
from app.documents.models import (
    Delivery,
    DraftVersion,
    ExchangeStatus,
    FileRole,
    IncomingDocument,
    OutgoingDocument,
    OutgoingState,
    ReceivedDocument,
)
from app.documents.specimen import document_pdf
from app.engine import services as engine
from app.engine.models import InstanceStatus, OpenTask, ProcessInstance
from app.engine.replay import replay
from app.inbox.models import Notification
from app.org.models import Role
from app.signing import services as signing
from tests.signing.conftest import PASSWORD
from tests.signing.test_web import give_key


def draft_pdf(subject: str = "Quyết định ban hành quy chế làm việc") -> bytes:
    return document_pdf(
        agency_name="Sở Thử nghiệm",
        type_name="Quyết định",
        subject=subject,
        body="Điều 1. Ban hành kèm theo Quyết định này Quy chế làm việc.",
        signer_position="Giám đốc",
        signer_name="Nguyễn Văn Hùng",
    )


def make_office(db, clock, make_agency, make_user, trusted, code="000.00.21.H99", office_unit="VP"):
    """A sending agency (drafter in KT, its unit head, a deputy, the director who signs, the clerk) with the
    director's and the agency's keys, and a recipient agency with a clerk."""
    sender = make_agency(code, name="Sở Thử nghiệm", units=(office_unit, "KT"))
    recipient = make_agency("000.00.22.H99", name="Sở Nhận", units=("VP",))
    people = {
        "drafter": make_user(sender, Role.SPECIALIST, unit="KT"),
        "head": make_user(sender, Role.UNIT_LEADER, unit="KT"),
        "clerk": make_user(sender, Role.CLERK, unit=office_unit),
        "deputy": make_user(sender, Role.DEPUTY_LEADER),
        "director": make_user(sender, Role.LEADER),
        "colleague": make_user(sender, Role.SPECIALIST, unit=office_unit),
        "their_clerk": make_user(recipient, Role.CLERK, unit="VP"),
    }
    people["director"].full_name, people["director"].position = "Nguyễn Văn Hùng", "Giám đốc"
    db.commit()
    give_key(db, clock, sender, people["director"], trusted.person_p12["hung"])
    give_key(db, clock, sender, None, trusted.agency_p12["UBND"])
    return sender, recipient, people


@pytest.fixture
def office(db, clock, make_agency, make_user, signing_app, trusted):
    return make_office(db, clock, make_agency, make_user, trusted)


def post_files(client, url, fields, files, page=None):
    data = {**fields, "csrf_token": client.token(page or url)}
    for name, items in files.items():
        data[name] = [(io.BytesIO(content), filename) for filename, content in items]
    return client.client.post(url, data=data, content_type="multipart/form-data")


DRAFT = {
    "type_name": "Quyết định",
    "subject": "Quyết định ban hành quy chế làm việc",
    "urgency": "0",
    "secrecy": "0",
    "consult_days": "2",
}


def start(login_as, people, recipient, *, files=None, **overrides):
    fields = {
        **DRAFT,
        "signer": people["director"].username,
        "reviewer": people["deputy"].username,
        "recipients": recipient.code,
        "internal_units": "VP",
        **overrides,
    }
    files = files or {
        "draft": [("du_thao.pdf", draft_pdf())],
        "submission": [("phieu_trinh.pdf", draft_pdf("Phiếu trình"))],
    }
    return post_files(login_as(people["drafter"]), "/outgoing/new", fields, files)


def the_document(db) -> OutgoingDocument:
    db.expire_all()
    return db.scalars(select(OutgoingDocument).order_by(OutgoingDocument.id.desc())).first()


def open_task(db, document: OutgoingDocument, bpmn_id: str) -> str:
    db.expire_all()
    row = db.scalar(select(OpenTask).where(OpenTask.instance_id == document.instance_id, OpenTask.bpmn_id == bpmn_id))
    assert row is not None, [
        t.bpmn_id for t in db.scalars(select(OpenTask).where(OpenTask.instance_id == document.instance_id))
    ]
    return row.task_uuid


def act(login_as, user, db, document, bpmn_id, fields, files=None):
    uuid = open_task(db, document, bpmn_id)
    return post_files(login_as(user), f"/inbox/tasks/{uuid}", fields, files or {})


def to_signature(db, login_as, people, document):
    assert act(login_as, people["head"], db, document, "review", {"decision": "initial"}).status_code == 302
    assert act(login_as, people["clerk"], db, document, "format_check", {"decision": "ok"}).status_code == 302
    assert act(login_as, people["deputy"], db, document, "approve", {"decision": "approve"}).status_code == 302


def test_a_decision_goes_from_draft_to_the_recipient_agency(db, clock, office, login_as):
    _sender, recipient, people = office
    response = start(login_as, people, recipient)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    document = the_document(db)
    assert document.state == OutgoingState.DRAFTING and document.number is None
    to_signature(db, login_as, people, document)

    wrong = act(login_as, people["director"], db, document, "sign", {"decision": "sign", "password": "sai"})
    assert wrong.status_code == 422
    assert db.scalar(select(func.count()).where(DraftVersion.role == FileRole.SIGNED)) == 0
    signed = act(login_as, people["director"], db, document, "sign", {"decision": "sign", "password": PASSWORD})
    assert signed.status_code == 302, signed.get_data(as_text=True)[:3000]
    document = the_document(db)
    assert document.state == OutgoingState.SIGNED and document.signer_name == "Nguyễn Văn Hùng"

    published = act(login_as, people["clerk"], db, document, "publish", {"page_amount": "2", "receipt_hours": "4"})
    assert published.status_code == 302, published.get_data(as_text=True)[:3000]
    document = the_document(db)
    assert document.state == OutgoingState.PUBLISHED
    assert document.number_symbol == "01/QĐ-STN"  # a leading 0 below 10, type and agency abbreviations
    assert document.document_code == "000.00.21.H99,2026,01"
    instance = db.get(ProcessInstance, document.instance_id)
    assert instance.status == InstanceStatus.COMPLETED

    [final] = [v for v in document.versions if v.role == FileRole.PUBLISHED]
    check = signing.verify_document(db, final.content, now=clock.now() + timedelta(minutes=1))
    assert check.all_valid and check.signatures[0].signer_name == "Nguyễn Văn Hùng"
    assert len(check.signatures) == 2  # the director's and the agency's seal

    received = db.scalar(select(ReceivedDocument).where(ReceivedDocument.agency_id == recipient.id))
    assert received.number_symbol == "01/QĐ-STN" and received.files[0].content == final.content
    [delivery] = db.scalars(select(Delivery).where(Delivery.outgoing_id == document.id)).all()
    assert [e.status for e in delivery.events] == [ExchangeStatus.SENT, ExchangeStatus.ARRIVED]
    assert delivery.flag_after == clock.now() + timedelta(hours=4)
    told = db.scalars(select(Notification.user_id).where(Notification.link == f"/outgoing/{document.id}")).all()
    assert people["colleague"].id in told and people["clerk"].id in told  # the VP unit received it

    page = login_as(people["colleague"]).get(f"/outgoing/{document.id}").get_data(as_text=True)
    assert "01/QĐ-STN" in page and "Sở Nhận" in page and "late-flag" not in page
    clock.advance(timedelta(hours=4, minutes=1))  # the recipient has not accepted it within the 4 hours set
    page = login_as(people["clerk"]).get(f"/outgoing/{document.id}").get_data(as_text=True)
    assert "late-flag" in page


def test_a_return_by_the_signer_goes_back_through_the_unit_head_and_every_version_is_kept(db, clock, office, login_as):
    _sender, recipient, people = office
    start(login_as, people, recipient)
    document = the_document(db)
    to_signature(db, login_as, people, document)
    no_comment = act(login_as, people["director"], db, document, "sign", {"decision": "return"})
    assert no_comment.status_code == 422
    returned = act(login_as, people["director"], db, document, "sign", {"decision": "return", "comment": "Sửa Điều 1"})
    assert returned.status_code == 302
    passed = act(login_as, people["head"], db, document, "pass_back", {"comment": "Sửa theo ý kiến Giám đốc"})
    assert passed.status_code == 302
    page = login_as(people["drafter"]).get(f"/inbox/tasks/{open_task(db, document, 'prepare')}")
    assert "Sửa Điều 1" in page.get_data(as_text=True)  # the signer's comment reaches the drafter
    revised = act(
        login_as,
        people["drafter"],
        db,
        document,
        "prepare",
        {"comment": "Đã sửa"},
        {"draft": [("du_thao.pdf", draft_pdf("Quyết định ban hành quy chế (sửa)"))]},
    )
    assert revised.status_code == 302, revised.get_data(as_text=True)[:2000]
    to_signature(db, login_as, people, document)
    open_task(db, document, "sign")  # up again to the signer
    drafts = db.scalars(
        select(DraftVersion.version).where(DraftVersion.document_id == document.id, DraftVersion.role == FileRole.DRAFT)
    ).all()
    assert sorted(drafts) == [1, 2]


def test_a_draft_initialled_after_four_waits_for_the_morning_unless_flash(db, clock, office, login_as):
    _sender, recipient, people = office
    clock.freeze("2026-11-27T16:30:00+07:00")  # a Friday, after the cut-off
    start(login_as, people, recipient)
    document = the_document(db)
    act(login_as, people["head"], db, document, "review", {"decision": "initial"})
    db.expire_all()
    instance = db.get(ProcessInstance, document.instance_id)
    assert instance.next_timer_at.isoformat()[:16] == "2026-11-30T01:00"  # Monday 08:00 in Vietnam
    assert not db.scalar(select(OpenTask).where(OpenTask.instance_id == instance.id))
    assert not engine.fire_timers(db, instance.id, now=clock.now() + timedelta(hours=60))
    assert engine.fire_timers(db, instance.id, now=instance.next_timer_at)
    db.commit()
    open_task(db, document, "format_check")

    start(login_as, people, recipient, urgency="3")
    flash = the_document(db)
    act(login_as, people["head"], db, flash, "review", {"decision": "initial"})
    open_task(db, flash, "format_check")  # at once


def test_bad_drafts_are_refused_and_nothing_is_written(db, clock, office, login_as):
    _sender, recipient, people = office
    secret = start(login_as, people, recipient, secrecy="1")
    assert secret.status_code == 422 and "Mật" in secret.get_data(as_text=True)
    no_sheet = start(login_as, people, recipient, files={"draft": [("du_thao.pdf", draft_pdf())]})
    assert no_sheet.status_code == 422
    letter = start(login_as, people, recipient, type_name="Công văn", files={"draft": [("cv.pdf", draft_pdf())]})
    assert letter.status_code == 302  # a công văn needs no phiếu trình (OUT-2)
    assert db.scalar(select(func.count()).select_from(OutgoingDocument)) == 1
    assert login_as(people["their_clerk"]).get(f"/outgoing/{the_document(db).id}").status_code == 403


def test_a_recall_stops_the_recipients_process_and_both_sides_keep_the_history(db, clock, office, login_as):
    _sender, recipient, people = office
    start(login_as, people, recipient)
    document = the_document(db)
    to_signature(db, login_as, people, document)
    act(login_as, people["director"], db, document, "sign", {"decision": "sign", "password": PASSWORD})
    act(login_as, people["clerk"], db, document, "publish", {"page_amount": "1", "receipt_hours": "8"})
    received = db.scalar(select(ReceivedDocument).where(ReceivedDocument.agency_id == recipient.id))
    their_clerk = login_as(people["their_clerk"])
    values = {
        **json.loads(received.header_json),
        "secrecy": "0",
        "due_date": "",
        "urgency": "0",
        "page_amount": "1",
        "received_via": "Trục liên thông",
    }
    assert their_clerk.post(f"/exchange/received/{received.id}/accept", values).status_code == 302
    incoming = db.scalar(select(IncomingDocument).where(IncomingDocument.agency_id == recipient.id))

    recall = login_as(people["clerk"]).post(f"/outgoing/{document.id}/recall", {"reason": "Ban hành nhầm"})
    assert recall.status_code == 302
    listing = their_clerk.get("/exchange/received").get_data(as_text=True)
    assert 'id="recalls"' in listing and "Ban hành nhầm" in listing
    refused = their_clerk.post(f"/exchange/received/{received.id}/recall", {"agree": "0", "note": ""})
    assert refused.status_code == 422
    confirmed = their_clerk.post(f"/exchange/received/{received.id}/recall", {"agree": "1", "note": ""})
    assert confirmed.status_code == 302
    db.expire_all()
    instance = db.get(ProcessInstance, incoming.instance_id)
    assert instance.status == InstanceStatus.CANCELLED
    assert not db.scalar(select(OpenTask).where(OpenTask.instance_id == instance.id))
    delivery = db.scalar(select(Delivery).where(Delivery.outgoing_id == document.id))
    assert [e.status for e in delivery.events][-2:] == [ExchangeStatus.RECALL_REQUESTED, ExchangeStatus.RECALL_ACCEPTED]
    assert the_document(db).state == OutgoingState.RECALLED
    assert not verify_all(db, now=clock.now()).broken  # the cancelled instance's history still verifies and replays
    result = replay(db, instance, engine.history_of(db, instance.id))
    assert result.is_reproduced, result


def test_the_sở_nội_vụ_copies_every_published_document_to_its_leaders_and_office(
    db, clock, make_agency, make_user, signing_app, trusted, login_as
):
    _sender, recipient, people = make_office(
        db, clock, make_agency, make_user, trusted, code="000.00.12.H34", office_unit="HCTH"
    )
    form = login_as(people["drafter"]).get("/outgoing/new").get_data(as_text=True)
    assert '<option value="HCTH" selected>' in form  # the office is a standing recipient (OUT-12)
    start(login_as, people, recipient, internal_units="HCTH")
    document = the_document(db)
    to_signature(db, login_as, people, document)
    act(login_as, people["director"], db, document, "sign", {"decision": "sign", "password": PASSWORD})
    act(login_as, people["clerk"], db, document, "publish", {"page_amount": "1", "receipt_hours": "8"})
    copies = db.scalars(select(Notification.user_id).where(Notification.message.contains("01/QĐ-STN"))).all()
    assert {people["director"].id, people["deputy"].id, people["colleague"].id} <= set(copies)


def test_a_reply_published_to_an_agency_outside_leaves_as_an_edxml_package(db, clock, office, login_as, tmp_path):
    """INT-1: the directory says the recipient is reached through the gateway folder; publishing stores the
    package (header, ResponseFor the incoming document answered, the sealed PDF and appendix) for the worker."""
    from app.documents.services import register_incoming
    from app.interop.edxml import read_package
    from app.interop.models import DirectoryEntry, OutboundPackage

    sender, _recipient, people = office
    outside = "000.00.00.H49"
    db.add(DirectoryEntry(code=outside, name="UBND tỉnh Quảng Ninh", transport="directory", updated_at=clock.now()))
    answered = register_incoming(
        db,
        people["clerk"],
        {
            "organ_name": "UBND tỉnh Quảng Ninh",
            "organ_code": outside,
            "number_symbol": "12/UBND-VP",
            "issued_date": "2026-11-20",
            "type_name": "Công văn",
            "subject": "V/v đề nghị phối hợp",
            "urgency": "0",
            "page_amount": "1",
            "signer_position": "",
            "signer_name": "",
            "due_date": None,
            "description": "",
        },
        [],
        now=clock.now(),
    )
    db.commit()
    files = {
        "draft": [("du_thao.pdf", draft_pdf())],
        "submission": [("phieu_trinh.pdf", draft_pdf("Phiếu trình"))],
        "appendix": [("phu_luc.pdf", draft_pdf("Phụ lục"))],
    }
    fields = {**DRAFT, "type_name": "Công văn", "signer": people["director"].username, "recipients": outside}
    response = post_files(login_as(people["drafter"]), "/outgoing/new", fields, files)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    document = the_document(db)
    document.reply_to_id = answered.id  # as "Draft a reply" on the incoming document's task sets it (IN-11)
    db.commit()
    assert act(login_as, people["head"], db, document, "review", {"decision": "initial"}).status_code == 302
    assert act(login_as, people["clerk"], db, document, "format_check", {"decision": "ok"}).status_code == 302
    signed = act(login_as, people["director"], db, document, "sign", {"decision": "sign", "password": PASSWORD})
    assert signed.status_code == 302, signed.get_data(as_text=True)[:3000]
    published = act(login_as, people["clerk"], db, the_document(db), "publish", {"page_amount": "2"})
    assert published.status_code == 302, published.get_data(as_text=True)[:3000]

    document = the_document(db)
    [delivery] = db.scalars(select(Delivery).where(Delivery.outgoing_id == document.id)).all()
    assert (delivery.transport, delivery.recipient_name, delivery.handed_at) == (
        "directory",
        "UBND tỉnh Quảng Ninh",
        None,
    )
    [package] = db.scalars(select(OutboundPackage).where(OutboundPackage.delivery_id == delivery.id)).all()
    message = read_package(package.content)
    assert message.recipients == [(outside, "UBND tỉnh Quảng Ninh")] and message.message_id == delivery.message_id
    assert message.header.number_symbol == document.number_symbol and message.header.page_amount == 2
    assert message.header.organ_code == sender.code and message.header.signer_name == "Nguyễn Văn Hùng"
    assert message.document_id == document.document_code == delivery.document_id
    [reference] = message.response_for
    assert (reference.organ_code, reference.number_symbol, str(reference.issued_date)) == (
        outside,
        "12/UBND-VP",
        "2026-11-20",
    )
    published_files = [v.content for v in document.versions if v.role == FileRole.PUBLISHED]
    assert [a.content for a in message.attachments] == published_files and len(published_files) == 2
    assert not db.scalars(select(ReceivedDocument)).all()  # nothing crossed inside the installation
