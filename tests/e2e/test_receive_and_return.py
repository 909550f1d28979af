"""Receiving from another agency in a real browser: the clerk sees the signature check of each arrived document,
returns an unsigned one with the proposed reason (IN-2) and accepts another into the register (IN-3); the sender's
clerk sees both answers with their times in the table of sent documents (OUT-13, OUT-16)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from app import clock
from app.documents import exchange
from app.documents.services import Upload
from app.documents.specimen import document_pdf
from app.org import services as org
from app.org.models import Role, Unit
from tests.conftest import PASSWORD
from tests.e2e.conftest import CHROMIUM
from tests.e2e.test_incoming_flow import log_in

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.e2e


def header(number: str, subject: str) -> exchange.Header:
    return exchange.Header(
        organ_code="000.00.01.H98",
        organ_name="Văn phòng Gửi",
        number_symbol=number,
        issued_date=date(2026, 11, 24),
        type_name="Công văn",
        subject=subject,
        signer_position="Chánh Văn phòng",
        signer_name="Trần Văn Bình",
    )


@pytest.fixture
def two_agencies(committed: Session):
    sender = org.create_agency(committed, "000.00.01.H98", "Văn phòng Gửi", "VPG")
    receiver = org.create_agency(committed, "000.00.12.H98", "Sở Nhận", "SN")
    unit = Unit(agency_id=receiver.id, code="VP", name="Văn phòng")
    committed.add(unit)
    committed.flush()
    for agency, username in ((sender, "send.clerk"), (receiver, "recv.clerk")):
        user = org.create_user(committed, agency, username, "Văn thư", PASSWORD, [Role.CLERK])
        user.must_change_password = False
    org.create_user(
        committed, receiver, "recv.leader", "Lãnh đạo", PASSWORD, [Role.LEADER]
    ).must_change_password = False
    pdf = document_pdf(
        agency_name="Văn phòng Gửi",
        type_name="Công văn",
        subject="Thử",
        body="Nội dung.",
        signer_position="Chánh Văn phòng",
        signer_name="Trần Văn Bình",
    )
    for number, subject in (("7/VPG", "Văn bản gửi nhầm nơi"), ("8/VPG", "Văn bản cần tiếp nhận")):
        exchange.send(
            committed,
            sender,
            header(number, subject),
            [Upload(f"{number.replace('/', '_')}.pdf", "application/pdf", pdf)],
            [receiver.code],
            actor="send.clerk",
            now=clock.now(),
        )
    committed.commit()
    committed.close()


def test_the_clerk_returns_one_document_and_accepts_another(clock, two_agencies, open_page):
    page = open_page()
    log_in(page, "recv.clerk")
    expect(page.locator("#received-link .count")).to_have_text("2")
    page.click("#received-link")
    page.click("#waiting a:has-text('7/VPG')")
    expect(page.locator(".signature-panel")).to_have_count(1)
    reason = page.locator("#reason")
    expect(reason).to_have_value(re.compile(r"7_VPG\.pdf: "))  # proposed from the failed signature check
    reason.fill("Văn bản gửi nhầm nơi nhận và chưa được ký số.")
    page.click("#return-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/exchange/received$"))
    expect(page.locator("#waiting")).not_to_contain_text("7/VPG")
    expect(page.locator("#decided")).to_contain_text("gửi nhầm nơi nhận")

    page.click("#waiting a:has-text('8/VPG')")
    page.click("#accept-link")
    expect(page.locator("input[name=number_symbol]")).to_have_value("8/VPG")
    expect(page.locator("input[name=organ_name]")).to_have_value("Văn phòng Gửi")
    page.select_option("select[name=secrecy]", "0")
    page.click("#register-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/documents/incoming/\d+$"))
    expect(page.locator("h1")).to_contain_text("1")
    expect(page.locator("#received-link .count")).to_have_count(0)

    sender = open_page()
    log_in(sender, "send.clerk")
    sender.goto("/exchange/sent")
    returned = sender.locator("#deliveries tr", has_text="7/VPG")
    expect(returned.locator("li[data-status='02']")).to_contain_text("gửi nhầm nơi nhận")
    expect(returned.locator("li[data-status='02'] time")).to_have_attribute("datetime", "2026-11-25T09:00:00+07:00")
    accepted = sender.locator("#deliveries tr", has_text="8/VPG")
    expect(accepted.locator("li[data-status='03']")).to_have_count(1)
