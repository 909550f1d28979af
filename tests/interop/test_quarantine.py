"""Packages that cannot be taken in: each ends in quarantine byte for byte with a clear reason, its sender is
answered with the standard's refusal when it can be read, nothing is half-written, and an administrator sees,
downloads, retries or dismisses it. Also `flask interop export` and `flask interop import`."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from app.documents.models import (
    DraftVersion,
    ExchangeStatus,
    FileRole,
    OutgoingDocument,
    OutgoingState,
    ReceivedDocument,
    ReceivedFile,
)
from app.documents.specimen import document_pdf
from app.interop import services
from app.interop.edxml import VIETNAM, read_package, read_status, write_package, write_status
from app.interop.messages import RECALL, REPLACE, Attachment, DocumentRef, Header, Message, StatusMessage
from app.interop.models import DirectoryEntry, OutboundPackage, QuarantinedPackage, QuarantineState
from app.org.models import Role

SENDER = "000.00.00.H49"
OURS = "000.00.12.H97"
PDF = document_pdf(
    agency_name="Ủy ban nhân dân tỉnh Quảng Ninh",
    type_name="Công văn",
    subject="V/v triển khai kế hoạch",
    body="Nội dung.",
    signer_position="Phó Chủ tịch",
    signer_name="Nguyễn Văn Thắng",
)


def message(**changes) -> Message:
    header = Header(
        organ_code=SENDER,
        organ_name="Ủy ban nhân dân tỉnh Quảng Ninh",
        number_symbol="12/UBND-VP",
        issued_date=date(2026, 11, 20),
        type_name="Công văn",
        subject="V/v triển khai kế hoạch chuyển đổi số",
        urgency=1,
        signer_position="Phó Chủ tịch",
        signer_name="Nguyễn Văn Thắng",
    )
    base = dict(
        header=header,
        recipients=[(OURS, "Sở Thử nghiệm")],
        message_id="7d1c8f00-0000-4000-8000-000000000001",
        attachments=[Attachment("12_UBND-VP.pdf", "application/pdf", PDF)],
        sent_at=datetime(2026, 11, 24, 15, 0, tzinfo=VIETNAM),
    )
    return Message(**(base | changes))


@pytest.fixture
def ours(db, make_agency, make_user, clock):
    agency = make_agency(OURS, name="Sở Thử nghiệm")
    # The sender is outside; packages to it leave through the folder gateway.
    db.add(DirectoryEntry(code=SENDER, name="UBND tỉnh Quảng Ninh", transport="directory", updated_at=clock.now()))
    db.commit()
    return agency, make_user(agency, Role.ADMIN), make_user(agency, Role.CLERK, unit="VP")


def take(db, clock, data: bytes, **options):
    return services.take_in(db, data, transport="http", source="test", now=clock.now(), **options)


def answers(db) -> list[tuple[str, str, str]]:
    packages = db.scalars(select(OutboundPackage).where(OutboundPackage.kind == "status")).all()
    result = []
    for package in packages:
        status = read_status(package.content)
        result.append((package.recipient_code, status.status_code, status.description))
    return result


def test_a_good_package_is_taken_in_once_with_its_header_and_files(db, clock, ours):
    data = write_package(message())
    first = take(db, clock, data)
    second = take(db, clock, data)
    assert first.kind == second.kind == "document"
    assert [r.id for r in first.received] == [r.id for r in second.received]
    [received] = db.scalars(select(ReceivedDocument)).all()
    assert received.sender_code == SENDER and received.number_symbol == "12/UBND-VP" and received.urgency == 1
    assert received.document_id == f"{SENDER},2026,12"
    assert [f.content for f in received.files] == [PDF]
    assert answers(db) == [(SENDER, "01", "")]  # arrived, said automatically


def broken_cases() -> dict[str, tuple[bytes, str]]:
    good = write_package(message())
    no_subject = good.replace("<Subject>V/v triển khai kế hoạch chuyển đổi số</Subject>".encode(), b"")
    fake_pdf = write_package(message(attachments=[Attachment("12.pdf", "application/pdf", b"GIF89a not a pdf")]))
    broken_pdf = write_package(message(attachments=[Attachment("12.pdf", "application/pdf", b"%PDF-1.7\nbroken")]))
    exe = write_package(message(attachments=[Attachment("setup.exe", "application/octet-stream", b"MZ\x90\x00")]))
    page = b"<!doctype html><script>document.title='x'</script>"
    web_page = write_package(message(attachments=[Attachment("ke_hoach.txt", "text/html", page)]))
    renamed_exe = write_package(message(attachments=[Attachment("phu_luc.docx", "text/plain", b"MZ\x90\x00" * 16)]))
    return {
        "truncated": (good[: len(good) // 2], "XML"),
        "wrong namespace": (good.replace(b"http://www.mic.gov.vn/TBT/QCVN_102_2016", b"urn:other"), "urn:other"),
        "missing subject": (no_subject, "Subject"),
        "fake pdf": (fake_pdf, "12.pdf"),
        "unreadable pdf": (broken_pdf, "12.pdf"),
        "refused file type": (exe, ".exe"),
        "web page as text": (web_page, "ke_hoach.txt"),  # issue 12: the content decides, not the name
        "exe renamed docx": (renamed_exe, "phu_luc.docx"),
        "no files": (write_package(message(attachments=[])), "Điều 10.1"),
        "not ours": (write_package(message(recipients=[("000.00.99.H97", "Nơi khác")])), "000.00.99.H97"),
        "replacement": (write_package(message(business_type=REPLACE)), "BussinessDocType"),
        "empty": (b"", "XML"),
        "binary": (bytes(range(256)) * 4, "XML"),
    }


@pytest.mark.parametrize("case", list(broken_cases()))
def test_a_broken_package_is_kept_unchanged_with_its_reason_and_nothing_else_is_written(db, clock, ours, case):
    data, expected = broken_cases()[case]
    intake = take(db, clock, data)
    assert intake.kind == "quarantined"
    entry = intake.quarantined
    assert entry.content == data and entry.sha256 == hashlib.sha256(data).hexdigest() and entry.size == len(data)
    reason, params = services.reason_of(entry)
    assert expected in reason % params
    assert db.scalar(select(func.count()).select_from(ReceivedDocument)) == 0
    assert db.scalar(select(func.count()).select_from(ReceivedFile)) == 0
    sent = answers(db)
    if case in ("empty", "binary"):
        # Nothing tells who sent it: no answer, and the entry says why.
        said, _ = services.answer_of(entry)
        assert sent == [] and said.startswith("No answer"), said
    else:
        code = ExchangeStatus.RECALL_REFUSED if case == "replacement" else ExchangeStatus.RETURNED
        [(to, status, description)] = sent
        assert (to, status) == (SENDER, code)
        assert description and description != reason  # the sender reads the reason in Vietnamese
    again = take(db, clock, data)
    assert again.quarantined.id == entry.id and again.quarantined.times_received == 2
    assert len(answers(db)) == len(sent)  # the same bytes again are not answered twice


def test_a_60_mb_attachment_ends_in_quarantine(db, clock, ours):
    big = base64.b64encode(b"%PDF-1.7\n" + b"\0" * (60 * 1024 * 1024)).decode()
    small = write_package(message())
    start = small.index(b"<ContentTransferEncoded>") + len(b"<ContentTransferEncoded>")
    end = small.index(b"</ContentTransferEncoded>")
    data = small[:start] + big.encode() + small[end:]
    intake = take(db, clock, data)
    reason, params = services.reason_of(intake.quarantined)
    assert intake.kind == "quarantined" and "52428800" in reason % params, reason % params
    assert db.scalar(select(func.count()).select_from(ReceivedDocument)) == 0


def test_fuzzed_packages_are_either_taken_in_whole_or_quarantined(db, clock, ours):
    good = write_package(message())
    generator = random.Random(102)
    outcomes = {"document": 0, "quarantined": 0}
    for round_ in range(40):
        data = bytearray(good)
        for _ in range(generator.randint(1, 6)):
            position = generator.randrange(len(data))
            data[position] = generator.randrange(256)
        mutated = bytes(data).replace(b"7d1c8f00-0000-4000-8000-000000000001", f"fuzz-{round_}".encode())
        intake = take(db, clock, mutated)
        outcomes[intake.kind] += 1
        for received in intake.received:
            assert received.files and received.files[0].size > 0
    assert outcomes["quarantined"] > 0
    entries = db.scalar(select(func.count()).select_from(QuarantinedPackage))
    documents = db.scalar(select(func.count()).select_from(ReceivedDocument))
    assert entries == outcomes["quarantined"] and documents == outcomes["document"]


def test_a_status_for_a_document_never_sent_is_kept_and_not_answered(db, clock, ours):
    status = StatusMessage(
        response_for=DocumentRef(OURS, "1/STN", date(2026, 11, 1), f"{OURS},2026,1"),
        sender_code=SENDER,
        sender_name="UBND tỉnh Quảng Ninh",
        status_code="03",
        timestamp=datetime(2026, 11, 25, 8, 0, tzinfo=VIETNAM),
    )
    intake = take(db, clock, write_status(status))
    assert intake.kind == "quarantined" and answers(db) == []
    reason, params = services.reason_of(intake.quarantined)
    assert f"{OURS},2026,1" in reason % params


def test_a_recall_of_a_document_never_received_is_refused_with_16(db, clock, ours):
    intake = take(db, clock, write_package(message(business_type=RECALL, business_reason="Nhầm", attachments=[])))
    assert intake.kind == "quarantined"
    assert [(to, code) for to, code, _ in answers(db)] == [(SENDER, "16")]


def test_a_package_for_an_agency_that_joins_later_is_released_by_the_administrator(
    db, clock, ours, make_agency, login_as
):
    _agency, admin, _clerk = ours
    data = write_package(message(recipients=[("000.00.13.H97", "Sở Đến sau")]))
    entry = take(db, clock, data).quarantined
    assert entry.agency_id is None
    db.commit()

    page = login_as(admin).get("/interop/quarantine").get_data(as_text=True)
    assert "không phải cơ quan của hệ thống" in page and SENDER in page
    detail = login_as(admin).get(f"/interop/quarantine/{entry.id}")
    assert detail.status_code == 200 and "12/UBND-VP" in detail.get_data(as_text=True)
    download = login_as(admin).get(f"/interop/quarantine/{entry.id}/package")
    assert download.data == data

    still = login_as(admin).post(f"/interop/quarantine/{entry.id}/release")
    assert still.status_code == 422 and "vẫn chưa" in still.get_data(as_text=True)
    make_agency("000.00.13.H97", name="Sở Đến sau")
    released = login_as(admin).post(f"/interop/quarantine/{entry.id}/release")
    assert released.status_code == 302
    db.expire_all()
    assert db.get(QuarantinedPackage, entry.id).state == QuarantineState.RELEASED
    [received] = db.scalars(select(ReceivedDocument)).all()
    assert received.number_symbol == "12/UBND-VP"


def test_only_administrators_see_the_quarantine_and_only_of_their_agency(
    db, clock, ours, make_agency, make_user, login_as
):
    agency, admin, clerk = ours
    data = write_package(message(attachments=[Attachment("12.pdf", "application/pdf", b"not a pdf")]))
    entry = take(db, clock, data).quarantined
    assert entry.agency_id == agency.id
    db.commit()
    assert login_as(clerk).get("/interop/quarantine").status_code == 403
    other = make_agency("000.00.14.H97", name="Sở Khác")
    other_admin = make_user(other, Role.ADMIN)
    client = login_as(other_admin)
    assert f'data-entry="{entry.id}"' not in client.get("/interop/quarantine").get_data(as_text=True)
    assert f'data-entry="{entry.id}"' in login_as(admin).get("/interop/quarantine").get_data(as_text=True)
    assert client.get(f"/interop/quarantine/{entry.id}").status_code == 403
    assert client.get(f"/interop/quarantine/{entry.id}/package").status_code == 403
    dismissed = login_as(admin).post(f"/interop/quarantine/{entry.id}/dismiss")
    assert dismissed.status_code == 302
    db.expire_all()
    assert db.get(QuarantinedPackage, entry.id).state == QuarantineState.DISMISSED
    assert db.get(QuarantinedPackage, entry.id).content == data  # still kept


def published_document(clock, agency, drafter) -> OutgoingDocument:
    """A published outgoing document as the outgoing procedure leaves it (tests/documents/test_outgoing.py
    covers getting there)."""
    document = OutgoingDocument(
        agency_id=agency.id,
        drafter_id=drafter.id,
        type_name="Công văn",
        subject="V/v phối hợp tổ chức hội nghị",
        urgency=2,
        recipients_json=json.dumps(["000.00.15.H97"]),
        state=OutgoingState.PUBLISHED,
        number=7,
        code_number="07",
        code_notation="STN-VP",
        document_code=f"{agency.code},2026,07",
        issued_date=date(2026, 11, 25),
        signer_name="Nguyễn Văn Hùng",
        signer_position="Giám đốc",
        page_amount=2,
        created_at=clock.now(),
        published_at=clock.now(),
    )
    return document


def test_export_and_import_by_hand(db, clock, ours, make_agency, make_user, app, tmp_path):
    agency, admin, _clerk = ours
    recipient = make_agency("000.00.15.H97", name="Sở Nhận tay")
    document = published_document(clock, agency, admin)
    db.add(document)
    db.flush()
    db.add(
        DraftVersion(
            document_id=document.id,
            role=FileRole.PUBLISHED,
            version=1,
            file_name="07_STN-VP.pdf",
            original_name="07_STN-VP.pdf",
            content_type="application/pdf",
            content=PDF,
            size=len(PDF),
            sha256=hashlib.sha256(PDF).hexdigest(),
            uploaded_by=admin.username,
            uploaded_at=clock.now(),
        )
    )
    db.commit()
    runner = app.test_cli_runner()
    target = tmp_path / "out.edxml"
    result = runner.invoke(args=["interop", "export", str(document.id), str(target)])
    assert result.exit_code == 0, result.output
    message = read_package(target.read_bytes())
    assert message.header.number_symbol == "07/STN-VP" and message.header.urgency == 2
    assert message.recipients == [("000.00.15.H97", "000.00.15.H97")]
    assert message.document_id == f"{agency.code},2026,07" and message.attachments[0].content == PDF

    imported = runner.invoke(args=["interop", "import", str(target), "--agency", recipient.code])
    assert imported.exit_code == 0, imported.output
    again = runner.invoke(args=["interop", "import", str(target), "--agency", recipient.code])
    assert again.output == imported.output  # the same package twice is one document
    db.expire_all()
    [received] = db.scalars(select(ReceivedDocument).where(ReceivedDocument.agency_id == recipient.id)).all()
    assert received.subject == "V/v phối hợp tổ chức hội nghị" and received.transport == "cli"

    wrong = runner.invoke(args=["interop", "import", str(target), "--agency", agency.code])
    assert wrong.exit_code == 1 and "quarantine" in wrong.output
    garbage = tmp_path / "garbage.edxml"
    garbage.write_bytes(b"<edXML")
    failed = runner.invoke(args=["interop", "import", str(garbage), "--agency", recipient.code])
    assert failed.exit_code == 1 and "XML" in failed.output
    missing = runner.invoke(args=["interop", "export", "999999", str(tmp_path / "x.edxml")])
    assert missing.exit_code != 0 and "999999" in missing.output
