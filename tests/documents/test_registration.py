"""Registering incoming documents: numbers, attachments, scope."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.documents import services
from app.documents.models import Attachment, IncomingDocument
from app.errors import InvalidInput, PermissionDenied
from app.org.models import Role
from tests.files import minimal_pdf
from tests.inbox.test_incoming_flow import REGISTRATION

VALUES = {**REGISTRATION, "urgency": 0, "page_amount": 2, "due_date": None}


def test_numbers_restart_at_one_in_a_new_year(db, clock, make_agency, make_user):
    agency = make_agency()
    make_user(agency, Role.LEADER)
    clerk = make_user(agency, Role.CLERK)
    clock.freeze("2026-12-31T23:50:00+07:00")
    last = services.register_incoming(db, clerk, dict(VALUES), [], now=clock.now())
    clock.freeze("2027-01-01T00:10:00+07:00")  # 17:10 UTC on 31/12: the year is Vietnam's, not UTC's
    first = services.register_incoming(db, clerk, dict(VALUES), [], now=clock.now())
    assert (last.arrival_number, first.arrival_number) == (1, 1)
    assert last.register_id != first.register_id


def test_each_agency_has_its_own_sequence(db, clock, make_agency, make_user):
    one, two = make_agency(), make_agency()
    for agency in (one, two):
        make_user(agency, Role.LEADER)
    first = services.register_incoming(db, make_user(one, Role.CLERK), dict(VALUES), [], now=clock.now())
    second = services.register_incoming(db, make_user(two, Role.CLERK), dict(VALUES), [], now=clock.now())
    assert first.arrival_number == second.arrival_number == 1


def test_only_a_clerk_registers(db, clock, make_agency, make_user):
    agency = make_agency()
    with pytest.raises(PermissionDenied):
        services.register_incoming(db, make_user(agency, Role.SPECIALIST), dict(VALUES), [], now=clock.now())


def test_a_bad_number_and_symbol_is_refused_and_takes_no_number(db, clock, make_agency, make_user):
    agency = make_agency()
    make_user(agency, Role.LEADER)
    clerk = make_user(agency, Role.CLERK)
    with pytest.raises(InvalidInput) as refused:
        services.register_incoming(db, clerk, {**VALUES, "number_symbol": "12 / QĐ UBND"}, [], now=clock.now())
    assert "number_symbol" in refused.value.field_errors
    assert services.register_incoming(db, clerk, dict(VALUES), [], now=clock.now()).arrival_number == 1


def test_an_attachment_with_a_vietnamese_name_is_kept_under_a_safe_name(db, clock, make_agency, make_user, login_as):
    agency = make_agency()
    make_user(agency, Role.LEADER)
    clerk = login_as(make_user(agency, Role.CLERK))
    token = clerk.token("/documents/incoming/new")
    content = minimal_pdf("test")
    data = {
        **REGISTRATION,
        "csrf_token": token,
        "attachment": (io.BytesIO(content), "Công văn số 12 của Bộ Nội vụ (bản chính).pdf"),
    }
    response = clerk.client.post("/documents/incoming/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    attachment = db.scalar(select(Attachment))
    assert attachment.file_name == "Cong_van_so_12_cua_Bo_Noi_vu_ban_chinh.pdf"
    assert attachment.original_name == "Công văn số 12 của Bộ Nội vụ (bản chính).pdf"
    download = clerk.get(f"/documents/attachments/{attachment.id}")
    assert download.data == content


def test_a_file_of_a_refused_type_is_reported_and_nothing_is_registered(db, clock, make_agency, make_user, login_as):
    agency = make_agency()
    make_user(agency, Role.LEADER)
    clerk = login_as(make_user(agency, Role.CLERK))
    token = clerk.token("/documents/incoming/new")
    data = {**REGISTRATION, "csrf_token": token, "attachment": (io.BytesIO(b"MZ..."), "virus.exe")}
    response = clerk.client.post("/documents/incoming/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert db.scalar(select(IncomingDocument).where(IncomingDocument.agency_id == agency.id)) is None


def test_a_long_name_is_shortened_to_50_characters_keeping_its_extension():
    name = services.safe_file_name("Báo cáo tổng hợp tình hình thực hiện nhiệm vụ năm 2026 của các đơn vị.docx")
    assert len(name) <= 50 and name.endswith(".docx") and name.isascii()


def test_a_classified_document_is_refused_and_takes_no_number(db, clock, make_agency, make_user):
    agency = make_agency()
    make_user(agency, Role.LEADER)
    clerk = make_user(agency, Role.CLERK)
    with pytest.raises(InvalidInput) as refused:
        services.register_incoming(db, clerk, {**VALUES, "secrecy": 1}, [], now=clock.now())
    assert "secrecy" in refused.value.field_errors and "DOC-4" in refused.value.message
    assert services.register_incoming(db, clerk, dict(VALUES), [], now=clock.now()).arrival_number == 1


def test_the_document_identifier_joins_agency_code_year_and_number(db, clock, make_agency, make_user):
    agency = make_agency()
    make_user(agency, Role.LEADER)
    clerk = make_user(agency, Role.CLERK)
    document = services.register_incoming(db, clerk, {**VALUES, "organ_code": "000.00.12.H34"}, [], now=clock.now())
    assert document.document_code == "000.00.12.H34,2026,12"
    with pytest.raises(InvalidInput) as refused:
        services.register_incoming(db, clerk, {**VALUES, "organ_code": "H34-12"}, [], now=clock.now())
    assert "organ_code" in refused.value.field_errors


def test_the_clerk_notes_who_holds_the_paper_copy(db, clock, make_agency, make_user, login_as):
    agency = make_agency()
    make_user(agency, Role.LEADER)
    clerk_user = make_user(agency, Role.CLERK)
    document = services.register_incoming(db, clerk_user, dict(VALUES), [], now=clock.now())
    db.commit()
    clerk = login_as(clerk_user)
    url = f"/documents/incoming/{document.id}"
    assert (
        clerk.post(f"{url}/paper", {"paper_holder": "Phòng Kinh tế (bản gốc kèm 2 tập hồ sơ)"}, page=url).status_code
        == 302
    )
    assert "Phòng Kinh tế (bản gốc kèm 2 tập hồ sơ)" in clerk.get(url).get_data(as_text=True)
    specialist = login_as(make_user(agency, Role.SPECIALIST))
    assert specialist.post(f"{url}/paper", {"paper_holder": "x"}, page="/inbox/").status_code == 403
