"""A sending agency's file that is really a web page never runs in the clerk's browser (issue 12, hole 2): the
clerk clicks it on the received document's page and gets a download; no script of it runs, no URL of it is
called, the page stays the application's."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import Request, expect
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock
from app.documents import exchange
from app.documents.models import ReceivedFile
from app.documents.services import Upload
from app.org import services as org
from app.org.models import Role
from tests.conftest import PASSWORD
from tests.e2e.conftest import CHROMIUM
from tests.e2e.test_incoming_flow import log_in
from tests.files import HTML_PAYLOAD, MARKER, minimal_pdf

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.e2e


@pytest.fixture
def hostile_delivery(committed: Session) -> None:
    """A document from another agency whose file the sender (or a row written before the fix) declared as
    text/html: a page that would set the title and call a URL with the marker if a browser ran it."""
    sender = org.create_agency(committed, "000.00.01.H97", "Văn phòng Gửi", "VPG")
    receiver = org.create_agency(committed, "000.00.12.H97", "Sở Nhận", "SN")
    org.create_user(
        committed, receiver, "hostile.clerk", "Văn thư", PASSWORD, [Role.CLERK]
    ).must_change_password = False
    header = exchange.Header(
        organ_code=sender.code,
        organ_name=sender.name,
        number_symbol="9/VPG",
        issued_date=date(2026, 11, 24),
        type_name="Công văn",
        subject="Văn bản có tệp độc hại",
        signer_position="Chánh Văn phòng",
        signer_name="Trần Văn Bình",
    )
    exchange.send(
        committed,
        sender,
        header,
        [Upload("9_VPG.pdf", "application/pdf", minimal_pdf())],
        [receiver.code],
        actor="t",
        now=clock.now(),
    )
    file_id = committed.scalar(select(ReceivedFile.id))
    committed.execute(
        update(ReceivedFile)
        .where(ReceivedFile.id == file_id)
        .values(content=HTML_PAYLOAD, content_type="text/html", file_name="bang_ke.html", size=len(HTML_PAYLOAD))
    )
    committed.commit()
    committed.close()


def test_the_clerk_opens_a_hostile_received_file_and_no_script_runs(clock, hostile_delivery, open_page):
    called: list[str] = []

    def watch(request: Request) -> None:
        if MARKER in request.url:
            called.append(request.url)

    page = open_page()
    page.context.on("request", watch)
    log_in(page, "hostile.clerk")
    page.goto("/exchange/received")
    page.click("a:has-text('9/VPG')")
    title = page.title()
    link = page.locator("a:has-text('bang_ke.html')")
    expect(link).to_have_count(1)

    with page.expect_download() as started:
        link.click()
    download = started.value
    assert download.suggested_filename == "bang_ke.html"
    assert download.path().read_bytes() == HTML_PAYLOAD  # the clerk still gets the bytes, as a file

    page.wait_for_timeout(300)  # time for a script to run, had the browser rendered the file
    assert page.title() == title and MARKER not in page.title()
    assert "9/VPG" in page.content() and MARKER not in page.url

    # Opened directly, in its own tab, it is a download as well: nothing is rendered.
    direct = open_page()
    direct.context.on("request", watch)
    log_in(direct, "hostile.clerk")
    url = link.get_attribute("href")
    with direct.expect_download():
        try:
            direct.goto(url)
        except Exception as error:  # Playwright reports a navigation that turned into a download
            assert "Download is starting" in str(error)
    assert MARKER not in direct.title()
    assert called == []
