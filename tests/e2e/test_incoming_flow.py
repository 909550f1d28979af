"""An incoming document from registration to completion in a real browser (Debian's chromium through
Playwright) against the served app, with the clock frozen on Wed 25/11/2026 09:00 in Vietnam: the clerk
registers it with a PDF, the leader directs it from the inbox, the specialist handles it on a phone (OPS-5).

Assertions hold in Vietnamese and in English (the catalogue may not be compiled): numbers, URLs, classes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import CHROMIUM, PHONE, People

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.e2e

SUBJECT = "Về việc báo cáo số lượng công chức năm 2026"
DOCUMENT_URL = re.compile(r"/documents/incoming/(\d+)$")
TASK_LINK = "a[href*='/inbox/tasks/']"


def minimal_pdf() -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


PDF = minimal_pdf()


def log_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/org/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_load_state()


def fits_width(page: Page) -> tuple[int, int]:
    """(scrollWidth, innerWidth) of the page: no horizontal scroll when the first is not larger."""
    width, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    return int(width), int(inner)


def test_clerk_leader_and_specialist_take_a_flash_document_to_completion(open_page, people: People, clock):
    # 1. The clerk registers the document with its PDF.
    clerk = open_page()
    log_in(clerk, people.clerk)
    expect(clerk).to_have_url(re.compile(r"/inbox/$"))
    clerk.click("nav.menu a[href$='/documents/incoming/new']")
    expect(clerk).to_have_url(re.compile(r"/documents/incoming/new$"))
    form = clerk.locator("#register-form")
    form.locator("[name=organ_name]").fill("Bộ Nội vụ")
    form.locator("[name=number_symbol]").fill("12/BNV-CCVC")
    form.locator("[name=issued_date]").fill("2026-11-20")
    form.locator("select[name=type_name]").select_option(label="Công văn")
    form.locator("[name=subject]").fill(SUBJECT)
    form.locator("select[name=urgency]").select_option("3")  # Hỏa tốc
    form.locator("[name=page_amount]").fill("2")
    form.locator("input[type=file][name=attachment]").set_input_files(
        {"name": "cong-van-12-BNV.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    form.locator("button[type=submit]").click()

    expect(clerk).to_have_url(DOCUMENT_URL)
    match = DOCUMENT_URL.search(clerk.url)
    assert match
    document_url = f"/documents/incoming/{match.group(1)}"
    expect(clerk.locator(".flash.success")).to_have_text(re.compile(r"\b1\b"))  # Registered as incoming no. 1
    expect(clerk.locator("h1")).to_have_text(re.compile(r"\b1\b"))
    expect(clerk.locator("h1 .badge.urgency-3")).to_be_visible()
    expect(clerk.locator("dd.subject")).to_have_text(SUBJECT)
    expect(clerk.get_by_text("12/BNV-CCVC", exact=True)).to_be_visible()
    expect(clerk.get_by_text("20/11/2026", exact=True)).to_be_visible()
    attachment = clerk.locator("a[href*='/documents/attachments/']")
    expect(attachment).to_have_text("cong-van-12-BNV.pdf")
    download = clerk.request.get(attachment.get_attribute("href") or "")
    assert download.ok
    assert download.body() == PDF
    assert download.headers["content-type"] == "application/pdf"
    download.dispose()

    # 2. The leader finds it first in the inbox, flagged Hỏa tốc, and directs it to the specialist.
    leader = open_page()
    log_in(leader, people.leader)
    expect(leader).to_have_url(re.compile(r"/inbox/$"))
    first_row = leader.locator("table.inbox tbody tr").first
    expect(first_row).to_contain_text(SUBJECT)
    expect(first_row.locator(".badge.urgency-3")).to_be_visible()
    expect(first_row).to_have_attribute("data-priority", "3")
    first_row.locator(TASK_LINK).click()
    expect(leader).to_have_url(re.compile(r"/inbox/tasks/[0-9a-f-]{36}$"))
    expect(leader.locator("h1 .badge.urgency-3")).to_be_visible()
    expect(leader.locator(f"a[href$='{document_url}']")).to_have_text("1")
    task_form = leader.locator("#task-form")
    task_form.locator("[name=directive]").fill("Giao phòng Kinh tế tham mưu, báo cáo trước hạn")
    lead = task_form.locator("select[name=lead]")
    expect(lead.locator(f"option[value='{people.specialist}']")).to_have_text(people.specialist_name)
    lead.select_option(people.specialist)
    task_form.locator("[name=deadline_days]").fill("3")
    task_form.locator("button[type=submit]").click()
    expect(leader).to_have_url(re.compile(r"/inbox/$"))
    expect(leader.locator(".flash.success")).to_be_visible()
    expect(leader.locator(f"table.inbox {TASK_LINK}")).to_have_count(0)

    # 3. The specialist, on a phone, sees the task due Monday 30/11 at the end of the day and completes it.
    specialist = open_page(PHONE, mobile=True)
    log_in(specialist, people.specialist)
    expect(specialist).to_have_url(re.compile(r"/inbox/$"))
    row = specialist.locator("table.inbox tbody tr").first
    expect(row).to_contain_text(SUBJECT)
    expect(row.locator(".due")).to_contain_text("30/11/2026 17:00")  # Wed 25/11 + 3 working days
    expect(row.locator(".due.late")).to_have_count(0)
    width, inner = fits_width(specialist)
    assert width <= inner, f"the inbox scrolls sideways on a {inner}px phone: {width}px wide (OPS-5)"
    assert inner == PHONE["width"]
    link = row.locator(TASK_LINK)
    expect(link).to_be_visible()
    link.click()
    expect(specialist).to_have_url(re.compile(r"/inbox/tasks/[0-9a-f-]{36}$"))
    specialist.locator("#task-form [name=result]").fill("Đã tổng hợp, báo cáo Bộ Nội vụ")
    specialist.locator("#task-form button[type=submit]").click()
    expect(specialist).to_have_url(re.compile(r"/inbox/$"))
    expect(specialist.locator(f"table.inbox {TASK_LINK}")).to_have_count(0)
    expect(specialist.locator("table.inbox td.muted")).to_be_visible()  # Nothing waits for you.

    # The document shows no open step and the route: registration, direction, handling, done.
    specialist.goto(document_url)
    steps, route = specialist.locator("section.card").nth(1), specialist.locator("ol.timeline")
    expect(steps.locator(TASK_LINK)).to_have_count(0)
    expect(steps.locator("p.muted")).to_be_visible()  # No open steps.
    expect(route.locator("li.kind-started")).to_have_count(1)
    expect(route.locator("li.kind-task_completed")).to_have_count(2)
    expect(route.locator("li.kind-started")).to_contain_text(people.clerk)
    expect(route.locator("li.kind-task_completed").nth(0)).to_contain_text(people.leader)
    expect(route.locator("li.kind-task_completed").nth(1)).to_contain_text(people.specialist)
    expect(route.locator("li.kind-completed")).to_have_count(1)

    # The clerk's list now shows it done.
    clerk.goto("/documents/incoming")
    expect(clerk.locator(f"table a[href$='{document_url}']")).to_have_text("1")


def test_the_inbox_fits_a_phone_without_sideways_scrolling(open_page, people: People, clock):
    clerk = open_page(PHONE, mobile=True)
    log_in(clerk, people.clerk)
    clerk.goto("/documents/incoming/new")
    form = clerk.locator("#register-form")
    form.locator("[name=organ_name]").fill("Ủy ban nhân dân tỉnh Kon Tum")
    form.locator("[name=number_symbol]").fill("1234/UBND-KTTH")
    form.locator("[name=issued_date]").fill("2026-11-24")
    form.locator("select[name=type_name]").select_option(label="Công văn")
    form.locator("[name=subject]").fill(SUBJECT + " và kế hoạch tinh giản biên chế giai đoạn 2026-2030 " * 3)
    form.locator("select[name=urgency]").select_option("2")
    form.locator("button[type=submit]").click()
    expect(clerk).to_have_url(DOCUMENT_URL)

    leader = open_page(PHONE, mobile=True)
    log_in(leader, people.leader)
    expect(leader).to_have_url(re.compile(r"/inbox/$"))
    expect(leader.locator(f"table.inbox {TASK_LINK}")).to_have_count(1)
    expect(leader.locator("table.inbox thead")).to_be_hidden()  # rows become labelled blocks
    width, inner = fits_width(leader)
    assert inner == PHONE["width"]
    assert width <= inner, f"the inbox scrolls sideways on a {inner}px phone: {width}px wide (OPS-5)"
    box = leader.locator(f"table.inbox {TASK_LINK}").bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= inner


def test_a_newcomer_must_change_the_initial_password_first(open_page, people: People, clock):
    page = open_page()
    log_in(page, people.newcomer)
    expect(page).to_have_url(re.compile(r"/org/password$"))
    page.goto("/inbox/")
    expect(page).to_have_url(re.compile(r"/org/password$"))  # nothing else until it is changed
    page.fill("input[name=current]", PASSWORD)
    page.fill("input[name=new]", "Sông-Hương@2026")
    page.click("form:has(input[name=new]) button[type=submit]")
    expect(page).to_have_url(re.compile(r"/inbox/$"))
    expect(page.locator(".flash.success")).to_be_visible()
