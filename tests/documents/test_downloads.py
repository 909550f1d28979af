"""Stored files never run in the user's session (issue 12, hole 2): every download route answers with an
attachment typed from the bytes, nosniff and a sandbox CSP, whatever the uploader or the sending agency
declared; a PDF the server opened may be shown inline; uploads whose content is not what their name says
are refused with nothing stored."""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import func, select, update

from app import filetypes
from app.documents import services
from app.documents.models import (
    Attachment,
    DraftVersion,
    IncomingDocument,
    OutgoingDocument,
    ReceivedDocument,
    ReceivedFile,
)
from app.engine.models import ProcessInstance
from app.errors import InvalidInput
from app.interop.models import QuarantinedPackage
from app.org.models import Role
from tests.documents.test_exchange import pair, plain_pdf, send  # noqa: F401 - pair is a fixture
from tests.documents.test_outgoing import office, start  # noqa: F401 - office is a fixture
from tests.files import EXE, HTML_PAYLOAD, JS_PAYLOAD, MARKER, SVG_PAYLOAD, docx, minimal_pdf, odt, png
from tests.inbox.test_incoming_flow import REGISTRATION

ROOT = Path(__file__).resolve().parents[2]
VALUES = {**REGISTRATION, "urgency": 0, "page_amount": 1, "due_date": None}
HOSTILE = [
    pytest.param(HTML_PAYLOAD, "text/html", "bao_cao.txt", id="html-declared-text/html"),
    pytest.param(JS_PAYLOAD, "application/javascript", "tien_do.txt", id="js-declared-javascript"),
    pytest.param(SVG_PAYLOAD, "image/svg+xml", "so_do.png", id="svg-declared-image/svg+xml"),
    pytest.param(b"%PDF-1.7\n" + HTML_PAYLOAD, "application/pdf", "gia.pdf", id="html-behind-a-pdf-header"),
]


# --- the stored rows each download route serves, rewritten as a hostile uploader or agency would leave them --


def _attachment(db, clock, make_agency, make_user, login_as, **_):
    agency = make_agency()
    leader = make_user(agency, Role.LEADER)
    clerk = make_user(agency, Role.CLERK)
    document = services.register_incoming(
        db, clerk, dict(VALUES), [services.Upload("cong_van.pdf", "application/pdf", minimal_pdf())], now=clock.now()
    )
    db.commit()
    [attachment] = document.attachments
    return login_as(leader), Attachment, attachment.id, f"/documents/attachments/{attachment.id}"


def _version(db, login_as, request, **_):
    _sender, recipient, people = request.getfixturevalue("office")
    assert start(login_as, people, recipient).status_code == 302
    version = db.scalars(select(DraftVersion).order_by(DraftVersion.id)).first()
    return login_as(people["director"]), DraftVersion, version.id, f"/outgoing/versions/{version.id}"


def _received(db, clock, login_as, request, **_):
    sender, receiver, people = request.getfixturevalue("pair")
    send(db, clock, sender, receiver, plain_pdf())
    received = db.scalar(select(ReceivedDocument))
    [item] = received.files
    return login_as(people["clerk"]), ReceivedFile, item.id, f"/exchange/received/{received.id}/files/{item.id}"


def _quarantined(db, clock, make_agency, make_user, login_as, **_):
    admin = make_user(make_agency(), Role.ADMIN)
    entry = QuarantinedPackage(
        sha256="0" * 64,
        content=b"<edXML/>",
        size=8,
        transport="folder",
        reason="The package is not well-formed XML.",
        received_at=clock.now(),
        last_received_at=clock.now(),
    )
    db.add(entry)
    db.commit()
    return login_as(admin), QuarantinedPackage, entry.id, f"/interop/quarantine/{entry.id}/package"


ROUTES = {"attachment": _attachment, "version": _version, "received": _received, "quarantine": _quarantined}


@pytest.fixture(params=list(ROUTES))
def stored(request, db, clock, make_agency, make_user, login_as):
    """(client of a person who may read it, model, row id, download URL) for each download route."""
    return ROUTES[request.param](
        db=db, clock=clock, make_agency=make_agency, make_user=make_user, login_as=login_as, request=request
    )


def rewrite(db, model, row_id, **values) -> None:
    """What an old upload, a sending agency or a direct database write left: bytes, name and declared type."""
    values = {key: value for key, value in values.items() if hasattr(model, key)}
    db.execute(update(model).where(model.id == row_id).values(**values))
    db.commit()


def assert_inert(response) -> None:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.mimetype == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = response.headers["Content-Security-Policy"]
    assert "sandbox" in policy and "default-src 'none'" in policy
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize(("content", "declared", "name"), HOSTILE)
def test_a_hostile_stored_file_comes_back_as_an_inert_download(db, stored, content, declared, name):
    client, model, row_id, url = stored
    rewrite(db, model, row_id, content=content, content_type=declared, file_name=name, size=len(content))
    response = client.get(url)
    assert_inert(response)
    assert response.data == content  # the bytes are kept as they came; only how they are served changed


def test_a_real_pdf_may_be_shown_inline_only_where_the_page_previews_it(db, stored):
    client, model, row_id, url = stored
    rewrite(db, model, row_id, content=minimal_pdf(), content_type="text/html", file_name="du_thao.pdf")
    response = client.get(url)
    assert response.status_code == 200 and response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == "application/pdf"  # by its bytes, whatever the row declared
    preview = model in (DraftVersion, ReceivedFile)
    assert response.headers["Content-Disposition"].startswith("inline;" if preview else "attachment;")
    assert ("sandbox" in response.headers["Content-Security-Policy"]) is not preview
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_a_vietnamese_file_name_survives_the_download(db, stored):
    client, model, row_id, url = stored
    name = "Công văn số 12 (bản chính).pdf"
    rewrite(db, model, row_id, content=b"plain bytes", file_name=name)
    disposition = client.get(url).headers["Content-Disposition"]
    if model is QuarantinedPackage:  # its name is made by the server
        assert re.fullmatch(r"attachment; filename=quarantine-\d+\.edxml", disposition)
        return
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote(name)}" in disposition


def test_generated_pdfs_are_attachments_too(db, clock, make_agency, make_user, login_as):
    agency = make_agency()
    leader = login_as(make_user(agency, Role.LEADER, Role.CLERK))
    response = leader.get("/reports/incoming-register")
    assert response.mimetype == "application/pdf" and response.headers["Content-Disposition"].startswith("attachment")
    assert (
        response.headers["X-Content-Type-Options"] == "nosniff"
        and "sandbox" in response.headers["Content-Security-Policy"]
    )


def test_no_view_sends_file_bytes_past_the_one_helper():
    """A new download route must answer through app.downloads.send_stored, which types from the bytes."""
    found = []
    for path in (ROOT / "app").rglob("*.py"):
        if path.name == "downloads.py":
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (r"\bsend_file\(", r"\bResponse\([^)]*(content|data|bytes)", r"mimetype\s*=", r"as_attachment"):
            found += [f"{path.relative_to(ROOT)}: {pattern}" for _ in re.finditer(pattern, text)]
    assert found == []


# --- uploads: the content must be what the name says, at every door --------------------------------------


ACCEPTED = [
    ("cong_van.pdf", minimal_pdf(), "application/pdf"),
    ("phu_luc.docx", docx(), filetypes.OOXML["word/"]),
    ("phu_luc.odt", odt(), "application/vnd.oasis.opendocument.text"),
    ("anh.png", png(), "image/png"),
    ("ghi_chu.txt", "Kính gửi: Sở Nội vụ — danh sách đính kèm.\n".encode(), "text/plain"),
    ("ghi_chu.txt", "Danh sách đơn\r\n".encode("cp1258"), "text/plain"),  # older Windows code page
    ("bang.csv", "Đơn vị;Số lượng\nHạ Long;3\n".encode(), "text/csv"),
    ("cu.doc", filetypes.OLE2 + b"\x00" * 504, "application/msword"),
    ("van_ban.rtf", b"{\\rtf1\\ansi Kinh gui}", "application/rtf"),
]
REFUSED = [
    ("cong_van.pdf", HTML_PAYLOAD, filetypes.MARKUP),
    ("cong_van.pdf", b"Not a PDF at all", filetypes.NOT_A_PDF),
    ("cong_van.pdf", b"%PDF-1.4\n% nothing more\n", filetypes.UNREADABLE_PDF),
    ("phu_luc.docx", EXE, filetypes.NOT_WHAT_IT_SAYS),
    ("phu_luc.docx", b"PK\x03\x04 not really a zip", filetypes.NOT_WHAT_IT_SAYS),
    ("phu_luc.xlsx", docx(), filetypes.NOT_WHAT_IT_SAYS),  # a Word document is not a spreadsheet
    ("so_do.png", SVG_PAYLOAD, filetypes.MARKUP),
    ("anh.jpg", png(), filetypes.NOT_WHAT_IT_SAYS),
    ("ghi_chu.txt", HTML_PAYLOAD, filetypes.MARKUP),
    ("ghi_chu.txt", b"Xin chao <script src=/x.js></script>", filetypes.MARKUP),
    ("ghi_chu.txt", SVG_PAYLOAD, filetypes.MARKUP),
    ("ghi_chu.txt", EXE, filetypes.NOT_WHAT_IT_SAYS),
    ("cu.doc", EXE, filetypes.NOT_WHAT_IT_SAYS),
]


@pytest.mark.parametrize(("name", "content", "kind"), ACCEPTED)
def test_a_file_whose_content_matches_its_name_is_accepted_with_the_servers_type(name, content, kind):
    assert filetypes.check_content(name, content) == kind
    services.check_upload(services.Upload(name, "text/html", content))  # the declared type plays no part


@pytest.mark.parametrize(("name", "content", "message"), REFUSED)
def test_a_file_whose_content_is_not_what_its_name_says_is_refused(name, content, message):
    with pytest.raises(InvalidInput) as refused:
        services.check_upload(services.Upload(name, "application/pdf", content))
    assert refused.value.message == message and refused.value.params["name"] == name


def counts(db) -> tuple[int, ...]:
    db.expire_all()
    return tuple(
        db.scalar(select(func.count()).select_from(model))
        for model in (IncomingDocument, Attachment, ProcessInstance, OutgoingDocument, DraftVersion)
    )


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("Công văn 12.pdf", HTML_PAYLOAD, "là trang web, hình vẽ SVG hoặc mã lệnh"),
        ("Phụ lục.docx", EXE, "không phải tệp .docx"),
        ("sơ đồ.png", SVG_PAYLOAD, "là trang web, hình vẽ SVG hoặc mã lệnh"),
        ("Công văn 12.pdf", b"%PDF-1.4\nnot really", "mang đuôi PDF nhưng không đọc được"),
    ],
)
def test_the_clerk_is_told_which_file_is_refused_and_nothing_is_registered(
    db, clock, make_agency, make_user, login_as, name, content, words
):
    agency = make_agency()
    make_user(agency, Role.LEADER)
    clerk = login_as(make_user(agency, Role.CLERK))
    token = clerk.token("/documents/incoming/new")
    before = counts(db)
    data = {
        **REGISTRATION,
        "csrf_token": token,
        "attachment": [(io.BytesIO(minimal_pdf()), "ban_chinh.pdf"), (io.BytesIO(content), name)],
    }
    response = clerk.client.post("/documents/incoming/new", data=data, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page[:500]
    assert words in page and name in page
    assert "%(" not in page and "says it is" not in page  # Vietnamese only, placeholders filled
    assert counts(db) == before


def test_a_drafter_cannot_store_a_web_page_as_a_draft_version(db, login_as, request):
    _sender, recipient, people = request.getfixturevalue("office")
    before = counts(db)
    response = start(
        login_as,
        people,
        recipient,
        files={"draft": [("du_thao.pdf", HTML_PAYLOAD)], "submission": [("phieu_trinh.pdf", minimal_pdf())]},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "du_thao.pdf" in page and "mã lệnh" in page
    assert counts(db) == before


def test_the_type_stored_with_an_upload_is_the_servers_not_the_browsers(db, clock, make_agency, make_user):
    agency = make_agency()
    make_user(agency, Role.LEADER)
    clerk = make_user(agency, Role.CLERK)
    uploads = [
        services.Upload("cong_van.pdf", "text/html", minimal_pdf()),
        services.Upload("phu_luc.docx", "application/javascript", docx()),
    ]
    document = services.register_incoming(db, clerk, dict(VALUES), uploads, now=clock.now())
    assert [a.content_type for a in document.attachments] == ["application/pdf", filetypes.OOXML["word/"]]
    assert MARKER not in "".join(a.content_type for a in document.attachments)
