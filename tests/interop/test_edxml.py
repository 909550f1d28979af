"""edXML packages and status packages of QCVN 102:2016: round trips, the schema, and every broken input refused
with a reason (app/interop/edxml.py)."""

from __future__ import annotations

import base64
import random
import time
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from lxml import etree

from app.documents.models import ExchangeStatus
from app.interop.edxml import NS, VIETNAM, read_package, read_status, write_package, write_status
from app.interop.messages import (
    RECALL,
    REPLACE,
    STATUS_CODES,
    Attachment,
    DocumentRef,
    Header,
    Message,
    PackageError,
    StaffInfo,
    StatusMessage,
)

SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).resolve().parents[2] / "app" / "interop" / "qcvn102.xsd")))
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
RECIPIENTS = [
    ("000.00.12.H49", "Sở Tài chính tỉnh Quảng Ninh"),
    ("000.00.13.H49", "Sở Kế hoạch và Đầu tư"),
    ("000.00.00.G09", "Bộ Nội vụ"),
]
ATTACHMENTS = [
    Attachment("Công văn số 12.pdf", "application/pdf", PDF, "Văn bản chính"),
    Attachment(
        "Phụ lục đính kèm.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        b"PK\x03\x04" + b"\x00\xff" * 300,
    ),
    Attachment("danh-sách.txt", "text/plain", "Danh sách đơn vị: Hạ Long, Cẩm Phả, Móng Cái\n".encode(), "Bảng kê"),
]


def header(**changes: object) -> Header:
    base = Header(
        organ_code="000.00.00.H49",
        organ_name="Ủy ban nhân dân tỉnh Quảng Ninh",
        number_symbol="12/UBND-VP",
        issued_date=date(2024, 3, 5),
        type_name="Công văn",
        subject="V/v triển khai kế hoạch chuyển đổi số năm 2024 – đợt hai; báo cáo trước ngày 15/4",
        urgency=1,
        page_amount=3,
        signer_position="Phó Chủ tịch",
        signer_name="Nguyễn Văn Thắng",
        due_date=date(2024, 4, 15),
        description="Đề nghị các sở, ngành phối hợp thực hiện.",
        extra={"place": "Quảng Ninh", "organ_add": "Phường Hồng Hà, TP Hạ Long", "email": "vanthu@quangninh.gov.vn"},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def message(**changes: object) -> Message:
    base = Message(
        header=header(),
        recipients=RECIPIENTS[:2],
        message_id="3f2b6c1e-5d2a-4e8b-9b77-0c1d2e3f4a5b",
        attachments=[ATTACHMENTS[0]],
        to_places=["Như trên", "Lưu: VT, VP"],
        sent_at=datetime(2024, 3, 5, 9, 30, 15, tzinfo=VIETNAM),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def assert_valid(package: bytes) -> None:
    document = etree.fromstring(package)
    assert SCHEMA.validate(document), SCHEMA.error_log


def reason_of(data: bytes, **options: object) -> str:
    with pytest.raises(PackageError) as caught:
        read_package(data, **options)  # type: ignore[arg-type]
    return caught.value.reason


# ------------------------------------------------------------------------------------------------ round trips


@pytest.mark.parametrize("recipients", [RECIPIENTS[:1], RECIPIENTS], ids=["one-recipient", "three-recipients"])
@pytest.mark.parametrize("attachments", [[], ATTACHMENTS[:1], ATTACHMENTS], ids=["0-files", "1-file", "3-files"])
@pytest.mark.parametrize("urgency", [0, 1, 2, 3])
@pytest.mark.parametrize("due_date", [None, date(2024, 12, 31)], ids=["no-due", "due"])
def test_package_round_trip(recipients, attachments, urgency, due_date):
    original = message(
        recipients=recipients, attachments=attachments, header=header(urgency=urgency, due_date=due_date)
    )

    package = write_package(original)

    assert_valid(package)
    assert read_package(package) == original


def test_round_trip_of_a_replacement_answering_another_document_with_every_optional_field():
    answered = DocumentRef("000.00.12.H49", "45/STC-NS", date(2024, 2, 20), "000.00.12.H49,2024,45")
    extra = {
        "organ_in_charge": "Văn phòng UBND tỉnh",
        "telephone": "0203 3835 000",
        "fax": "0203 3835 001",
        "website": "https://quangninh.gov.vn",
        "type_detail": "18",
        "signer_competence": "KT. CHỦ TỊCH",
        "sphere": "Toàn tỉnh",
        "typer_notation": "NTH",
        "place": "Hạ Long",
    }
    original = message(
        header=header(extra=extra, page_amount=0, description=""),
        business_type=REPLACE,
        response_for=[answered],
        steering_type=1,
        document_type=1,
        to_places=[],
        sent_at=None,
    )

    package = write_package(original)

    assert_valid(package)
    assert read_package(package) == original
    assert original.document_id == "000.00.00.H49,2024,12"
    assert (original.sender_code, original.sender_name) == ("000.00.00.H49", "Ủy ban nhân dân tỉnh Quảng Ninh")


def test_the_package_has_the_structure_of_form_a():
    root = etree.fromstring(write_package(message(attachments=ATTACHMENTS[:2])))
    q = f"{{{NS}}}"

    assert root.tag == f"{q}edXML"
    assert [child.tag for child in root] == [f"{q}edXMLEnvelope", f"{q}AttachmentEncoded"]
    assert root.findtext(f"{q}edXMLEnvelope/{q}edXMLHeader/{q}MessageHeader/{q}Code/{q}CodeNumber") == "12"
    assert (
        root.findtext(f"{q}edXMLEnvelope/{q}edXMLHeader/{q}MessageHeader/{q}PromulgationInfo/{q}PromulgationDate")
        == "2024/03/05"
    )
    assert root.findtext(f"{q}edXMLEnvelope/{q}edXMLHeader/{q}TraceHeaderList/{q}Bussiness/{q}BussinessDocType") == "0"
    references = root.findall(f"{q}edXMLEnvelope/{q}edXMLBody/{q}edXMLManifest/{q}Reference")
    attachments = root.findall(f"{q}AttachmentEncoded/{q}Attachment")
    assert [r.get("{http://www.w3.org/1999/xlink}href") for r in references] == [
        "cid:" + a.findtext(f"{q}ContentId") for a in attachments
    ]


def test_the_other_date_form_and_the_bkav_spellings_are_read():
    package = write_package(message(business_type=RECALL))
    bkav = (
        package.replace(b"2024/03/05", b"05/03/2024")
        .replace(b"2024/04/15", b"15/04/2024 17:00:00")
        .replace(b"Bussiness", b"Business")
    )

    parsed = read_package(bkav)

    assert parsed.header.issued_date == date(2024, 3, 5)
    assert parsed.header.due_date == date(2024, 4, 15)
    assert parsed.business_type == RECALL


def test_a_whitelisted_identifier_of_another_form_is_accepted():
    package = write_package(message(recipients=[("H37.DN.001", "Công ty cổ phần Than Hà Lầm")]))

    assert "H37.DN.001" in reason_of(package)
    assert read_package(package, allowed_organ_ids={"H37.DN.001"}).recipients == [
        ("H37.DN.001", "Công ty cổ phần Than Hà Lầm")
    ]


# ------------------------------------------------------------------------------------------------ status packages


def status(code: str, **changes: object) -> StatusMessage:
    base = StatusMessage(
        response_for=DocumentRef("000.00.00.H49", "12/UBND-VP", date(2024, 3, 5), "000.00.00.H49,2024,12"),
        sender_code="000.00.12.H49",
        sender_name="Sở Tài chính tỉnh Quảng Ninh",
        status_code=code,
        timestamp=datetime(2024, 3, 6, 8, 15, 0, 123000, tzinfo=VIETNAM),
        description="Trả lại: sai nơi nhận, đề nghị gửi Sở Nội vụ" if code == "02" else "",
        staff=StaffInfo("Văn phòng Sở", "Trần Thị Hương", "0912345678", "huongtt@stc.quangninh.gov.vn"),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["01", "02", "03", "04", "05", "06", "13", "15", "16"])
def test_status_round_trip(code):
    original = status(code)

    package = write_status(original)

    assert_valid(package)
    assert read_status(package) == original
    assert b"2024-03-06T08:15:00.123000+07:00" in package


def test_status_codes_are_those_of_the_exchange_minus_our_own_00():
    assert set(STATUS_CODES) == {code.value for code in ExchangeStatus} - {"00"}


def test_a_status_time_in_another_zone_is_written_in_vietnam_time():
    from datetime import UTC

    original = status("03", timestamp=datetime(2024, 3, 6, 1, 0, tzinfo=UTC))

    package = write_status(original)

    assert b"2024-03-06T08:00:00+07:00" in package
    assert read_status(package).timestamp == original.timestamp


def test_status_and_document_packages_are_not_confused():
    with pytest.raises(PackageError, match="status package"):
        read_package(write_status(status("01")))
    with pytest.raises(PackageError, match="document package"):
        read_status(write_package(message()))


def test_unknown_status_code_is_refused():
    with pytest.raises(PackageError, match="99"):
        write_status(status("99"))
    with pytest.raises(PackageError, match="07"):
        read_status(write_status(status("06")).replace(b">06<", b">07<"))


# ------------------------------------------------------------------------------------------------ broken input

VALID = write_package(message(attachments=ATTACHMENTS[:2]))


def without(element: bytes, data: bytes = VALID) -> bytes:
    start = data.index(b"<" + element + b">")
    end = data.index(b"</" + element + b">") + len(b"</" + element + b">")
    return data[:start] + data[end:]


def test_truncated_xml():
    assert "not well-formed XML" in reason_of(VALID[: len(VALID) // 2])
    assert "not well-formed XML" in reason_of(b"")
    assert "not well-formed XML" in reason_of(b"%PDF-1.4 not a package")


def test_wrong_or_missing_namespace():
    assert "namespace" in reason_of(VALID.replace(NS.encode(), b"http://example.org/other"))
    assert "(none)" in reason_of(VALID.replace(b' xmlns="' + NS.encode() + b'"', b""))


def test_soap_form_and_doctype_are_refused_with_a_reason():
    soap = b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"/>'
    assert "SOAP" in reason_of(soap)
    bomb = b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY a "aaaa">]><edXML xmlns="' + NS.encode() + b'">&a;</edXML>'
    assert "DOCTYPE" in reason_of(bomb)


def test_missing_subject():
    assert "MessageHeader/Subject" in reason_of(without(b"Subject"))


def test_empty_subject():
    assert "MessageHeader/Subject" in reason_of(
        VALID.replace(b"<Subject>", b"<Subject> <!-- -->").replace(header().subject.encode(), b"")
    )


def test_missing_from_and_from_organ_id():
    assert "MessageHeader/From" in reason_of(without(b"From"))
    from_only = VALID.replace(b"<From><OrganId>000.00.00.H49</OrganId>", b"<From>")
    assert "From/OrganId" in reason_of(from_only)


def test_missing_code_number_and_recipients():
    assert "Code/CodeNumber" in reason_of(without(b"CodeNumber"))
    no_recipients = VALID
    while b"<To>" in no_recipients:
        no_recipients = without(b"To", no_recipients)
    assert "MessageHeader/To" in reason_of(no_recipients)


@pytest.mark.parametrize("bad", ["000.00.00.h49", "00.00.00.H49", "000.00.00.H4", "000-00-00-H49", "H49"])
def test_bad_organ_id(bad):
    reason = reason_of(VALID.replace(b"<OrganId>000.00.00.H49</OrganId>", f"<OrganId>{bad}</OrganId>".encode(), 1))
    assert "From/OrganId" in reason and bad in reason


def test_duplicate_recipient():
    assert "twice" in reason_of(write_package(message(recipients=[RECIPIENTS[0], RECIPIENTS[0]])))


def test_broken_base64():
    encoded = base64.b64encode(ATTACHMENTS[1].content)
    broken = VALID.replace(encoded, encoded[:-5] + b"*!@" + encoded[-2:])
    reason = reason_of(broken)
    assert "base64" in reason and ATTACHMENTS[1].name in reason
    assert "base64" in reason_of(VALID.replace(encoded, encoded[:-1]))  # padding cut


def test_a_pdf_that_is_not_a_pdf():
    fake = Attachment("Quyết định.pdf", "application/pdf", b"<html>not a pdf</html>")
    reason = reason_of(write_package(message(attachments=[fake])))
    assert "PDF" in reason and "Quyết định.pdf" in reason


def test_attachment_over_the_limit():
    package = write_package(message(attachments=ATTACHMENTS[:2]))
    largest = max(ATTACHMENTS[:2], key=lambda attachment: len(attachment.content))

    reason = reason_of(package, max_attachment_bytes=len(largest.content) - 1)

    assert "larger than" in reason and largest.name in reason
    assert read_package(package, max_attachment_bytes=len(largest.content)).attachments == ATTACHMENTS[:2]


def test_a_60_mb_attachment_is_refused_by_the_default_limit_quickly():
    big = Attachment("ban-scan.bin", "application/octet-stream", b"\0" * (60 * 1024 * 1024))
    package = write_package(message(attachments=[big]))

    started = time.perf_counter()
    reason = reason_of(package)
    elapsed = time.perf_counter() - started

    assert "larger than" in reason and "ban-scan.bin" in reason
    assert elapsed < 2, elapsed


def test_a_manifest_reference_without_its_attachment():
    q = f"{{{NS}}}"
    root = etree.fromstring(VALID)
    encoded = root.find(f"{q}AttachmentEncoded")
    encoded.remove(encoded[0])
    assert "manifest" in reason_of(etree.tostring(root))


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        (b"<Priority>1</Priority>", b"<Priority>7</Priority>", "Priority"),
        (b"<Priority>1</Priority>", b"<Priority>\xd9\xa3</Priority>", "Priority"),
        (b"<PageAmount>3</PageAmount>", b"<PageAmount>-3</PageAmount>", "PageAmount"),
        (
            b"<PromulgationDate>2024/03/05</PromulgationDate>",
            b"<PromulgationDate>2024/13/05</PromulgationDate>",
            "PromulgationDate",
        ),
        (b"<Type>2</Type>", b"<Type>5</Type>", "DocumentType/Type"),
        (b"<BussinessDocType>0</BussinessDocType>", b"<BussinessDocType>9</BussinessDocType>", "BussinessDocType"),
        (b"<Timestamp>2024/03/05 09:30:15</Timestamp>", "<Timestamp>hôm qua</Timestamp>".encode(), "Timestamp"),
    ],
)
def test_bad_values_name_their_element(old, new, named):
    assert old in VALID
    assert named in reason_of(VALID.replace(old, new))


def test_writer_refuses_what_it_cannot_write():
    with pytest.raises(PackageError, match="recipient"):
        write_package(message(recipients=[]))
    with pytest.raises(PackageError, match="colour"):
        write_package(message(header=header(extra={"colour": "đỏ"})))
    with pytest.raises(PackageError, match="12/UBND"):
        write_package(message(header=header(number_symbol="12")))
    with pytest.raises(PackageError, match="Priority"):
        write_package(message(header=header(urgency=5)))
    with pytest.raises(PackageError, match="time zone"):
        write_package(message(sent_at=datetime(2024, 3, 5, 9, 30)))


def test_package_errors_are_translatable_invalid_input():
    from app.errors import InvalidInput

    error = PackageError("The required element %(element)s is missing.", element="MessageHeader/Subject")
    assert isinstance(error, InvalidInput)
    assert error.message == "The required element %(element)s is missing."
    assert error.reason == "The required element MessageHeader/Subject is missing."


def test_fuzzed_packages_raise_nothing_but_package_error():
    rng = random.Random(102)
    small = write_package(message(attachments=[ATTACHMENTS[0], ATTACHMENTS[2]]))
    statuses = write_status(status("02"))
    outcomes = {"read": 0, "refused": 0}
    for round_ in range(600):
        data = bytearray(small if round_ % 3 else statuses)
        mode = rng.random()
        if mode < 0.3:
            data = data[: rng.randrange(len(data))]
        else:
            for _ in range(rng.randint(1, 8)):
                position = rng.randrange(len(data))
                data[position] = rng.randrange(256) if mode < 0.8 else rng.choice(b"<>/&;'\"=0123456789 ")
        for reader in (read_package, read_status):
            try:
                reader(bytes(data))
                outcomes["read"] += 1
            except PackageError:
                outcomes["refused"] += 1
    assert outcomes["refused"] > 0 and outcomes["read"] > 0
