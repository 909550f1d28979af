"""In a real browser: a file whose name breaks DOC-2 gets an offered name as soon as it is chosen, the clerk
edits it, and the document keeps the chosen name with the original beside it; the page's correction is the
server's, name for name."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.documents.models import Attachment
from app.documents.services import safe_file_name
from tests.e2e.conftest import CHROMIUM, People
from tests.e2e.test_incoming_flow import PDF, log_in

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.e2e

ORIGINAL = "Quyết định số 12 (bản chính).pdf"


def fill_registration(page: Page) -> None:
    page.goto("/documents/incoming/new")
    form = page.locator("#register-form")
    form.locator("[name=organ_name]").fill("Ủy ban nhân dân tỉnh")
    form.locator("[name=number_symbol]").fill("12/QĐ-UBND")
    form.locator("[name=issued_date]").fill("2026-11-20")
    form.locator("select[name=type_name]").select_option(label="Quyết định")
    form.locator("[name=subject]").fill("Về việc ban hành quy chế văn thư")


def test_the_clerk_edits_the_offered_name_and_the_document_keeps_it(open_page, people: People, committed, clock):
    clerk = open_page()
    log_in(clerk, people.clerk)
    fill_registration(clerk)
    form = clerk.locator("#register-form")
    form.locator("input[type=file][name=attachment]").set_input_files(
        [
            {"name": ORIGINAL, "mimeType": "application/pdf", "buffer": PDF},
            {"name": "phu_luc.pdf", "mimeType": "application/pdf", "buffer": PDF},  # already valid: no offer
        ]
    )
    offer = form.locator(".file-name-offer")
    expect(offer).to_have_count(1)
    expect(offer).to_contain_text(ORIGINAL)
    expect(offer).to_contain_text("Tên tệp không đúng quy định; sẽ lưu là:")
    name = offer.locator("input[name=attachment_name_0]")
    expect(name).to_have_value("Quyet_dinh_so_12_ban_chinh.pdf")

    name.fill("Quyết định 12.pdf")  # still breaks the rule: the browser keeps the form
    expect(offer.locator(".error-text")).to_be_visible()
    assert name.evaluate("input => input.validity.customError") is True
    form.locator("button[type=submit]").click()
    expect(name).to_have_value("Quyết định 12.pdf")  # not sent: a page served again would have lost the files

    name.fill("QD_12_UBND_ban_chinh.pdf")
    expect(offer.locator(".error-text")).to_be_hidden()
    form.locator("button[type=submit]").click()
    expect(clerk).to_have_url(re.compile(r"/documents/incoming/\d+$"))
    files = clerk.locator("dd.attachment")
    expect(files.nth(0).locator("a.file-name")).to_have_text("QD_12_UBND_ban_chinh.pdf")
    expect(files.nth(0).locator(".original-name")).to_have_text(f"Tên gốc: {ORIGINAL}")
    expect(files.nth(1).locator("a.file-name")).to_have_text("phu_luc.pdf")
    expect(files.nth(1).locator(".original-name")).to_have_count(0)

    stored = committed.execute(select(Attachment.file_name, Attachment.original_name).order_by(Attachment.id)).all()
    committed.close()
    assert [tuple(row) for row in stored] == [("QD_12_UBND_ban_chinh.pdf", ORIGINAL), ("phu_luc.pdf", "phu_luc.pdf")]


PARITY_NAMES = [
    ORIGINAL,
    "Đề án ĐỔI MỚI.DOCX",
    "Báo cáo tổng hợp tình hình thực hiện nhiệm vụ năm 2026 của các đơn vị.docx",
    "___ (bản sao) ___.pdf",
    "Tờ trình.",
    ".pdf",
    "..",
    "a.b.c.XLSX",
    "Phụ lục\u00a0I — Bảng kê.ods",  # no-break space, em dash
    "Quyết định.pdf".replace("ế", "e\u0302\u0301"),  # decomposed, as macOS writes names
    "\ufb01nal ① ｆｕｌｌｗｉｄｔｈ.pdf",  # compatibility forms NFKD unfolds
    "a\u0941b\u0903c.pdf",  # Devanagari marks of combining class 0: replaced, not dropped
    "báo cáo.đ",  # an extension that is not one: part of the name
    "x" * 45 + " y.pdf",  # the cut ends in '_', which is trimmed
    "ảnh.JPEG ",
    "a\u0334\u0345b\u20d2.pdf",  # marks of combining class 1 and 240: dropped
    "日本語の文書.pdf",
    "x" * 60 + ".TIFF",
    "y" * 10 + "." + "z" * 60,  # an extension longer than the limit
    "emoji 😀 name.png",
    "ok_name-1.pdf",
]


def test_the_page_offers_exactly_the_name_the_server_would_store(open_page, people: People):
    clerk = open_page()
    log_in(clerk, people.clerk)
    clerk.goto("/documents/incoming/new")
    upload = clerk.locator("#register-form input[type=file][name=attachment]")
    upload.set_input_files([{"name": name, "mimeType": "text/plain", "buffer": b"x"} for name in PARITY_NAMES])
    expect(clerk.locator(".file-name-offer")).to_have_count(len(PARITY_NAMES) - 1)  # only the last one is valid
    offered = {
        int(row.get_attribute("data-file-index") or -1): row.locator("input").input_value()
        for row in clerk.locator(".file-name-offer").all()
    }
    expected = {index: safe_file_name(name) for index, name in enumerate(PARITY_NAMES) if safe_file_name(name) != name}
    assert offered == expected
