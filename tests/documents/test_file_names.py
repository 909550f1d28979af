"""Attachment names (DOC-2): the name a clerk chose at registration, the correction when none was chosen, the
refusal of a chosen name that breaks the rule, and renaming a file later without touching its content."""

from __future__ import annotations

import hashlib
import io
import re

import pytest
from sqlalchemy import func, select

from app.documents import services
from app.documents.models import Attachment, IncomingDocument
from app.errors import InvalidInput, PermissionDenied
from app.org.models import Role
from tests.files import docx, minimal_pdf
from tests.inbox.test_incoming_flow import REGISTRATION

VALUES = {**REGISTRATION, "urgency": 0, "page_amount": 2, "due_date": None}
ORIGINAL = "Quyết định số 12 (bản chính).pdf"
CORRECTED = "Quyet_dinh_so_12_ban_chinh.pdf"
PDF = minimal_pdf("DOC-2 test")


def upload(name: str = ORIGINAL, chosen: str = "", content: bytes = PDF) -> services.Upload:
    return services.Upload(name, "application/pdf", content, chosen_name=chosen)


def counts(db) -> tuple[int, int]:
    return db.scalar(select(func.count(IncomingDocument.id))), db.scalar(select(func.count(Attachment.id)))


@pytest.fixture
def clerk(db, make_agency, make_user):
    agency = make_agency()
    make_user(agency, Role.LEADER)
    return make_user(agency, Role.CLERK)


@pytest.mark.parametrize(
    ("name", "is_valid"),
    [
        (CORRECTED, True),
        ("QD-12_2026.pdf", True),
        ("a" * 46 + ".pdf", True),  # 50 characters with the extension
        ("a" * 47 + ".pdf", False),
        (ORIGINAL, False),
        ("Quyet dinh.pdf", False),
        ("Quyet_dinh.PDF", False),  # the extension is written in lower case
        ("_Quyet_dinh.pdf", False),
        ("Quyet.dinh.pdf", False),
    ],
)
def test_a_name_is_valid_when_correcting_it_changes_nothing(name, is_valid):
    assert services.is_valid_file_name(name) is is_valid


def test_the_chosen_name_is_stored_and_the_uploaded_one_kept(db, clock, clerk):
    document = services.register_incoming(db, clerk, dict(VALUES), [upload(chosen="QD_12_UBND.pdf")], now=clock.now())
    [attachment] = document.attachments
    assert (attachment.file_name, attachment.original_name) == ("QD_12_UBND.pdf", ORIGINAL)


def test_without_a_chosen_name_the_name_is_corrected_and_the_uploaded_one_kept(db, clock, clerk):
    document = services.register_incoming(db, clerk, dict(VALUES), [upload()], now=clock.now())
    [attachment] = document.attachments
    assert (attachment.file_name, attachment.original_name) == (CORRECTED, ORIGINAL)


@pytest.mark.parametrize(
    ("chosen", "suggestion"),
    [
        ("Quyết định 12.pdf", "Quyet_dinh_12.pdf"),
        ("QD_12.docx", "QD_12.pdf"),  # another extension would mislabel the content
        ("Q" * 47 + ".pdf", "Q" * 46 + ".pdf"),
    ],
)
def test_a_chosen_name_that_breaks_the_rule_is_refused_and_nothing_is_stored(db, clock, clerk, chosen, suggestion):
    with pytest.raises(InvalidInput) as refused:
        services.register_incoming(db, clerk, dict(VALUES), [upload(chosen=chosen)], now=clock.now())
    assert set(refused.value.field_errors) == {"attachment"}
    assert refused.value.params == {"name": chosen, "suggestion": suggestion}
    assert counts(db) == (0, 0)
    assert services.register_incoming(db, clerk, dict(VALUES), [], now=clock.now()).arrival_number == 1


def register_on_the_web(client, **files):
    data = {**REGISTRATION, "csrf_token": client.token("/documents/incoming/new"), **files}
    return client.client.post("/documents/incoming/new", data=data, content_type="multipart/form-data")


def test_the_registration_page_loads_the_offer_script_and_has_no_inline_script(db, make_agency, make_user, login_as):
    clerk = login_as(make_user(make_agency(), Role.CLERK))
    response = clerk.get("/documents/incoming/new")
    html = response.get_data(as_text=True)
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/file_names.js" defer>']
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'self': no inline script
    assert 'data-file-name-offer="Tên tệp không đúng quy định; sẽ lưu là:"' in html
    assert clerk.get("/static/file_names.js").status_code == 200


def test_a_clerk_registers_under_the_chosen_names_and_the_page_shows_the_original(db, clock, clerk, login_as):
    client = login_as(clerk)
    response = register_on_the_web(
        client,
        attachment=[(io.BytesIO(PDF), ORIGINAL), (io.BytesIO(docx()), "Phụ lục.docx")],
        attachment_name_0="QD_12_ban_chinh.pdf",  # the second file keeps the offered correction
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    stored = db.execute(select(Attachment.file_name, Attachment.original_name).order_by(Attachment.id)).all()
    assert [tuple(row) for row in stored] == [("QD_12_ban_chinh.pdf", ORIGINAL), ("Phu_luc.docx", "Phụ lục.docx")]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Tên gốc: {ORIGINAL}" in page and "Tên gốc: Phụ lục.docx" in page


def test_a_bad_chosen_name_on_the_web_is_refused_with_the_form_filled_again(db, clock, clerk, login_as):
    client = login_as(clerk)
    response = register_on_the_web(
        client, attachment=(io.BytesIO(PDF), ORIGINAL), attachment_name_0="Quyết định (bản chính).pdf"
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert (
        "Không dùng được “Quyết định (bản chính).pdf” làm tên tệp (DOC-2); có thể dùng “Quyet_dinh_ban_chinh.pdf”."
        in html
    )
    assert "Tối đa 50 ký tự: chữ không dấu, chữ số, _ và -, giữ nguyên phần mở rộng." in html
    assert f'value="{REGISTRATION["number_symbol"]}"' in html and f">{REGISTRATION['subject']}</textarea>" in html
    assert counts(db) == (0, 0)


def registered(db, clock, clerk, name: str = ORIGINAL):
    document = services.register_incoming(db, clerk, dict(VALUES), [upload(name)], now=clock.now())
    db.commit()
    return document, document.attachments[0]


def test_the_clerk_renames_a_file_later_and_its_content_stays(db, clock, clerk, login_as):
    document, attachment = registered(db, clock, clerk)
    client = login_as(clerk)
    url = f"/documents/incoming/{document.id}"
    assert f'action="/documents/attachments/{attachment.id}/rename"' in client.get(url).get_data(as_text=True)
    response = client.post(f"/documents/attachments/{attachment.id}/rename", {"file_name": "QD_12_goc.pdf"}, page=url)
    assert response.status_code == 302 and response.headers["Location"] == url
    db.expire_all()
    assert (attachment.file_name, attachment.original_name) == ("QD_12_goc.pdf", ORIGINAL)
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    download = client.get(f"/documents/attachments/{attachment.id}")
    assert hashlib.sha256(download.data).hexdigest() == hashlib.sha256(PDF).hexdigest()
    assert "filename=QD_12_goc.pdf" in download.headers["Content-Disposition"]
    assert "Tệp đã được đổi tên thành QD_12_goc.pdf." in client.get(url).get_data(as_text=True)


@pytest.mark.parametrize("new_name", ["Quyết định gốc.pdf", "QD_12_goc.docx", ""])
def test_a_rename_that_breaks_the_rule_is_refused_and_the_name_stays(db, clock, clerk, login_as, new_name):
    document, attachment = registered(db, clock, clerk)
    client = login_as(clerk)
    url = f"/documents/incoming/{document.id}"
    response = client.post(f"/documents/attachments/{attachment.id}/rename", {"file_name": new_name}, page=url)
    assert response.status_code == 422
    assert f"Không dùng được “{new_name}” làm tên tệp (DOC-2)" in response.get_data(as_text=True)
    db.expire_all()
    assert attachment.file_name == CORRECTED


def test_a_clerk_of_another_agency_gets_403_and_the_name_stays(db, clock, clerk, make_agency, make_user, login_as):
    _document, attachment = registered(db, clock, clerk)
    stranger = login_as(make_user(make_agency(), Role.CLERK))
    response = stranger.post(
        f"/documents/attachments/{attachment.id}/rename", {"file_name": "QD_12_goc.pdf"}, page="/documents/incoming/new"
    )
    assert response.status_code == 403
    db.expire_all()
    assert attachment.file_name == CORRECTED


def test_only_a_clerk_renames(db, clock, clerk, make_user):
    _document, attachment = registered(db, clock, clerk)
    leader = make_user(clerk.agency, Role.LEADER)
    with pytest.raises(PermissionDenied):
        services.rename_attachment(db, leader, attachment, "QD_12_goc.pdf")
    assert services.rename_attachment(db, clerk, attachment, "QD_12_goc.pdf").file_name == "QD_12_goc.pdf"
