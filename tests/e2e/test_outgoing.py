"""The outgoing procedure in a real browser (Debian's chromium through Playwright) against the served app: a
specialist drafts, the unit head initials, the clerk checks the format, the director signs with the key password,
the clerk numbers, seals and publishes to another agency and to a unit; that agency's clerk checks the signatures
and accepts it; returns come back through the unit head; the 16:00 cut-off waits for the morning; a recall is
confirmed by the recipient. The signing keys and trust anchors are committed so the served app sees them.

Assertions hold in Vietnamese and in English (the catalogue may not be compiled): numbers, URLs, ids, classes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.documents.models import OutgoingDocument
from app.documents.specimen import document_pdf
from app.engine import services as engine
from app.org import services as org
from app.org.models import Role, Unit
from app.signing import services as signing
from app.signing.models import AnchorKind
from app.signing.pki import TestPki
from tests.conftest import PASSWORD
from tests.e2e.conftest import CHROMIUM
from tests.e2e.test_incoming_flow import log_in
from tests.signing.conftest import PASSWORD as KEY_PASSWORD
from tests.signing.conftest import test_pki  # noqa: F401 - fixture
from tests.signing.test_web import SECRET, signing_app  # noqa: F401 - fixture

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.e2e

SENDER_CODE, SENDER_ABBREVIATION = "000.00.31.H99", "SĐI"
RECIPIENT_CODE, RECIPIENT_NAME = "000.00.32.H99", "Sở Nhận Trình duyệt"
NUMBER = f"01/QĐ-{SENDER_ABBREVIATION}"
SUBJECT = "Quyết định ban hành quy chế làm việc của Sở"
TASK_LINK = "a[href*='/inbox/tasks/']"
TASK_URL = re.compile(r"/inbox/tasks/[0-9a-f-]{36}$")
INBOX_URL = re.compile(r"/inbox/$")
OUTGOING_URL = re.compile(r"/outgoing/(\d+)$")


def pdf(subject: str) -> dict:
    content = document_pdf(
        agency_name="Sở Thử nghiệm Đi",
        type_name="Quyết định",
        subject=subject,
        body="Điều 1. Ban hành kèm theo Quyết định này Quy chế làm việc.",
        signer_position="Giám đốc",
        signer_name="Nguyễn Văn Hùng",
    )
    return {"name": f"{subject[:20].replace(' ', '_')}.pdf", "mimeType": "application/pdf", "buffer": content}


@dataclass(frozen=True)
class Offices:
    """Who works where: usernames of the sending agency (drafter and unit head in KT, clerk in VP, the director
    who signs) and of the recipient agency (clerk, leader)."""

    drafter: str = "out.drafter"
    head: str = "out.head"
    clerk: str = "out.clerk"
    director: str = "out.director"
    their_clerk: str = "in.clerk"
    their_leader: str = "in.leader"


@pytest.fixture
def offices(committed: Session, clock, signing_app, test_pki: TestPki) -> Offices:  # noqa: F811
    """Two agencies, their people with chosen passwords, the director's key, the sender's seal and the test PKI
    as trust anchors: all committed, so the served app (signing with SECRET, set by `signing_app`) sees them
    (and all removed after the test)."""
    names = Offices()
    sender = org.create_agency(committed, SENDER_CODE, "Sở Thử nghiệm Đi", SENDER_ABBREVIATION)
    recipient = org.create_agency(committed, RECIPIENT_CODE, RECIPIENT_NAME, "SNTD")
    units = {code: Unit(agency_id=sender.id, code=code, name=f"Phòng {code}") for code in ("VP", "KT")}
    committed.add_all(units.values())
    committed.flush()
    people = [
        (sender, names.drafter, "Chuyên viên Soạn", Role.SPECIALIST, units["KT"]),
        (sender, names.head, "Trưởng phòng Kinh tế", Role.UNIT_LEADER, units["KT"]),
        (sender, names.clerk, "Văn thư Đi", Role.CLERK, units["VP"]),
        (sender, names.director, "Nguyễn Văn Hùng", Role.LEADER, None),
        (recipient, names.their_clerk, "Văn thư Nhận", Role.CLERK, None),
        (recipient, names.their_leader, "Lãnh đạo Nhận", Role.LEADER, None),
    ]
    users = {}
    for agency, username, full_name, role, unit in people:
        user = org.create_user(committed, agency, username, full_name, PASSWORD, [role], unit=unit)
        user.must_change_password = False
        users[username] = user
    users[names.director].position = "Giám đốc"
    committed.flush()
    now = clock.now()
    signing.store_trust_anchor(committed, AnchorKind.ROOT, "root", test_pki.root_pem.read_bytes(), now=now)
    signing.store_trust_anchor(
        committed, AnchorKind.INTERMEDIATE, "sub", test_pki.intermediate_pem.read_bytes(), now=now
    )
    for crl in test_pki.crls:
        signing.store_trust_anchor(committed, AnchorKind.CRL, crl.name, crl.read_bytes(), now=now)
    for owner, p12 in ((users[names.director], test_pki.person_p12["hung"]), (None, test_pki.agency_p12["UBND"])):
        signing.store_pkcs12(
            committed,
            agency=sender,
            user=owner,
            data=p12.read_bytes(),
            password=KEY_PASSWORD,
            image_png=None,
            secret=SECRET,
            actor="test",
            now=now,
        )
    committed.commit()
    committed.close()  # on SQLite an open transaction would keep the served app's writes waiting
    return names


# --- what people do ----------------------------------------------------------------------------------------


def draft(page: Page, subject: str = SUBJECT, *, urgency: str = "0", appendix: bool = False) -> str:
    """The drafter fills /outgoing/new and starts the procedure; the URL of the document's page."""
    page.goto("/outgoing/new")
    form = page.locator("#draft-form")
    form.locator("select[name=type_name]").select_option("Quyết định")
    form.locator("[name=subject]").fill(subject)
    form.locator("select[name=urgency]").select_option(urgency)
    form.locator("select[name=recipients]").select_option([RECIPIENT_CODE])
    form.locator("select[name=internal_units]").select_option(["VP"])
    form.locator("select[name=signer]").select_option(Offices.director)
    form.locator("input[type=file][name=draft]").set_input_files(pdf(subject))
    form.locator("input[type=file][name=submission]").set_input_files(pdf("Phiếu trình " + subject))
    if appendix:
        form.locator("input[type=file][name=appendix]").set_input_files(pdf("Phụ lục quy chế"))
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(OUTGOING_URL)
    expect(page.locator(".flash.success")).to_be_visible()
    expect(page.locator("#state")).to_have_class("state-drafting")
    match = OUTGOING_URL.search(page.url)
    assert match
    return f"/outgoing/{match.group(1)}"


def open_task(page: Page, subject: str = SUBJECT) -> None:
    """From the inbox, the task about this subject."""
    page.goto("/inbox/")
    row = page.locator("table.inbox tbody tr", has_text=subject)
    expect(row).to_have_count(1)
    row.locator(TASK_LINK).click()
    expect(page).to_have_url(TASK_URL)
    expect(page.locator("#outgoing-document")).to_contain_text(subject)


def complete(page: Page, **fields: str) -> None:
    """Fill the open task's form (selects by value, the rest by text) and complete it."""
    form = page.locator("#task-form")
    for name, value in fields.items():
        element = form.locator(f"[name={name}]")
        if element.evaluate("e => e.tagName") == "SELECT":
            element.select_option(value)
        else:
            element.fill(value)
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(INBOX_URL)
    expect(page.locator(".flash.success")).to_be_visible()


def no_task_about(page: Page, subject: str = SUBJECT) -> None:
    page.goto("/inbox/")
    expect(page.locator("table.inbox tbody tr", has_text=subject)).to_have_count(0)


def initial(page: Page, subject: str = SUBJECT) -> None:
    open_task(page, subject)
    complete(page, decision="initial")


def check_format(page: Page, subject: str = SUBJECT) -> None:
    open_task(page, subject)
    complete(page, decision="ok")


def sign(page: Page) -> None:
    open_task(page)
    password = page.locator("#task-form input[type=password][name=password]")
    expect(password).to_have_attribute("autocomplete", "off")
    complete(page, decision="sign", password=KEY_PASSWORD)


def publish(page: Page) -> None:
    open_task(page)
    complete(page, page_amount="2", receipt_hours="4")


@dataclass
class Staff:
    drafter: Page
    head: Page
    clerk: Page
    director: Page


@pytest.fixture
def staff(open_page, offices: Offices) -> Staff:
    """The sending agency's people, each logged in in their own browser context."""
    pages = Staff(open_page(), open_page(), open_page(), open_page())
    for page, username in (
        (pages.drafter, offices.drafter),
        (pages.head, offices.head),
        (pages.clerk, offices.clerk),
        (pages.director, offices.director),
    ):
        log_in(page, username)
        expect(page).to_have_url(INBOX_URL)
    return pages


def to_publication(staff: Staff) -> str:
    """Draft → initial → format check → signature → number, seal and publish; the document's page."""
    document_url = draft(staff.drafter)
    initial(staff.head)
    check_format(staff.clerk)
    sign(staff.director)
    publish(staff.clerk)
    return document_url


def accept(page: Page, files: int) -> None:
    """The recipient's clerk finds the document under /exchange/received, sees one signature panel per file, all
    valid, and accepts it."""
    log_in(page, Offices.their_clerk)
    expect(page.locator("#received-link .count")).to_have_text("1")
    page.click("#received-link")
    expect(page).to_have_url(re.compile(r"/exchange/received$"))
    page.click(f"#waiting a:has-text('{NUMBER}')")
    expect(page).to_have_url(re.compile(r"/exchange/received/\d+$"))
    panels = page.locator(".signature-panel")
    expect(panels).to_have_count(files)
    for index in range(files):
        expect(panels.nth(index)).to_have_attribute("data-all-valid", "true")
    expect(panels.first.locator(".signature.valid")).to_have_count(2)  # the director's signature and the seal
    expect(panels.first).to_contain_text("Nguyễn Văn Hùng")
    page.click("#accept-link")
    expect(page.locator("input[name=number_symbol]")).to_have_value(NUMBER)
    page.select_option("select[name=secrecy]", "0")
    page.click("#register-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/documents/incoming/\d+$"))
    expect(page.locator(".flash.success")).to_have_text(re.compile(r"\b1\b"))  # incoming no. 1
    expect(page.locator("#received-link .count")).to_have_count(0)


# --- the stories -------------------------------------------------------------------------------------------


def test_a_decision_goes_from_the_draft_to_the_recipient_agencys_inbox(clock, offices, staff, open_page):
    document_url = draft(staff.drafter, appendix=True)
    staff.drafter.goto(document_url)
    versions = staff.drafter.locator("#versions")
    for role in ("draft", "submission", "appendix"):
        expect(versions.locator(f"tr[data-role='{role}'][data-version='1']")).to_have_count(1)
    expect(staff.drafter.locator("#number")).to_have_count(0)  # not numbered before publication

    # The unit head initials; the clerk checks the format; the director finds the password field and signs.
    initial(staff.head)
    no_task_about(staff.head)
    check_format(staff.clerk)
    director = staff.director
    open_task(director)
    director.locator("#task-form select[name=decision]").select_option("sign")
    password = director.locator("#task-form input[type=password][name=password]")
    password.fill("sai-mat-khau")  # a wrong key password: the page says so and nothing is signed
    director.locator("#task-form button[type=submit]").click()
    expect(director.locator(".flash.error")).to_be_visible()
    expect(director).to_have_url(TASK_URL)
    expect(password).to_have_value("")  # never sent back to the browser
    complete(director, decision="sign", password=KEY_PASSWORD)
    staff.director.goto(document_url)
    expect(staff.director.locator("#state")).to_have_class("state-signed")
    expect(staff.director.locator("#versions tr[data-role='signed']")).to_have_count(1)

    # The clerk numbers, seals and publishes.
    publish(staff.clerk)
    clerk = staff.clerk
    clerk.goto("/inbox/notifications")  # the clerk works in VP, the internal unit it was published to
    expect(clerk.locator(f"li.notice.unread a[href$='{document_url}']")).to_have_count(1)
    clerk.goto(document_url)
    expect(clerk.locator("#state")).to_have_class("state-published")
    expect(clerk.locator("#number")).to_have_text(f"Số: {NUMBER}")
    expect(clerk.locator("h1")).to_contain_text(NUMBER)
    expect(clerk.get_by_text(f"{SENDER_CODE},2026,01", exact=True)).to_be_visible()  # document code
    expect(clerk.locator("#published-files li")).to_have_count(2)  # the sealed decision and its appendix
    row = clerk.locator("#deliveries tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(RECIPIENT_NAME)
    expect(row).to_have_attribute("data-status", "01")  # arrived at the recipient
    expect(row.locator("li[data-status='00']")).to_have_count(1)
    expect(row.locator("li[data-status='01']")).to_have_count(1)
    expect(clerk.locator("#recall-form")).to_be_visible()
    expect(clerk.locator("ol.timeline li.kind-completed")).to_have_count(1)

    # A few minutes later the recipient's clerk checks the signatures and accepts it.
    clock.advance(timedelta(minutes=5))
    their_clerk = open_page()
    accept(their_clerk, files=2)  # the sealed decision and its appendix

    # The recipient's leader finds it in the inbox, to direct.
    their_leader = open_page()
    log_in(their_leader, offices.their_leader)
    expect(their_leader).to_have_url(INBOX_URL)
    leader_row = their_leader.locator("table.inbox tbody tr", has_text=SUBJECT)
    expect(leader_row).to_have_count(1)
    leader_row.locator(TASK_LINK).click()
    expect(their_leader).to_have_url(TASK_URL)
    expect(their_leader.locator("#task-form select[name=lead]")).to_be_visible()
    expect(their_leader.get_by_text(NUMBER)).to_be_visible()

    # The sender's table now shows the acceptance.
    clerk.goto(document_url)
    expect(clerk.locator("#deliveries tbody tr")).to_have_attribute("data-status", "03")
    expect(clerk.locator("#deliveries li[data-status='03'] time")).to_have_attribute(
        "datetime", "2026-11-25T09:05:00+07:00"
    )


def test_a_return_by_the_signer_goes_back_to_the_drafter_and_a_new_version_comes_up_again(clock, staff):
    document_url = draft(staff.drafter)
    initial(staff.head)
    check_format(staff.clerk)

    # The director returns it with a comment.
    open_task(staff.director)
    complete(staff.director, decision="return", comment="Sửa Điều 1: bổ sung phạm vi áp dụng")
    no_task_about(staff.director)
    no_task_about(staff.drafter)  # it goes through the unit head first

    # The unit head passes it back with a note.
    open_task(staff.head)
    expect(staff.head.locator("#route-so-far")).to_contain_text("Sửa Điều 1: bổ sung phạm vi áp dụng")
    complete(staff.head, comment="Đề nghị sửa theo ý kiến Giám đốc")

    # The drafter sees both comments on the task page and uploads a new draft.
    open_task(staff.drafter)
    route = staff.drafter.locator("#route-so-far")
    expect(route).to_contain_text("Sửa Điều 1: bổ sung phạm vi áp dụng")
    expect(route).to_contain_text("Đề nghị sửa theo ý kiến Giám đốc")
    expect(staff.drafter.locator("#outgoing-document")).to_contain_text("v1")
    staff.drafter.locator("#task-form input[type=file][name=draft]").set_input_files(pdf(SUBJECT + " (sửa)"))
    complete(staff.drafter, comment="Đã bổ sung phạm vi áp dụng tại Điều 1")

    # Up again: the unit head, the clerk, then the director has it to sign.
    initial(staff.head)
    check_format(staff.clerk)
    open_task(staff.director)
    expect(staff.director.locator("#task-form input[type=password][name=password]")).to_be_visible()
    expect(staff.director.locator("#outgoing-document")).to_contain_text("v2")

    staff.drafter.goto(document_url)
    drafts = staff.drafter.locator("#versions tr[data-role='draft']")
    expect(drafts).to_have_count(2)
    expect(staff.drafter.locator("#versions tr[data-role='draft'][data-version='1']")).to_have_count(1)
    expect(staff.drafter.locator("#versions tr[data-role='draft'][data-version='2']")).to_have_count(1)
    expect(staff.drafter.locator("#versions tr[data-role='submission']")).to_have_count(1)  # kept as it was
    expect(staff.drafter.locator("#state")).to_have_class("state-drafting")


def test_a_draft_initialled_after_four_waits_for_the_morning_unless_flash(clock, offices, committed, open_page):
    clock.freeze("2026-11-27T16:30:00+07:00")  # a Friday, after the 16:00 cut-off
    drafter, head, clerk = open_page(), open_page(), open_page()
    for page, username in ((drafter, offices.drafter), (head, offices.head), (clerk, offices.clerk)):
        log_in(page, username)
        expect(page).to_have_url(INBOX_URL)
    normal, flash = SUBJECT, "Quyết định khẩn về phòng chống bão lũ"
    normal_url = draft(drafter, normal)
    draft(drafter, flash, urgency="3")
    initial(head, normal)
    initial(head, flash)

    # The Hỏa tốc draft is with the clerk at once; the normal one is not.
    clerk.goto("/inbox/")
    flash_row = clerk.locator("table.inbox tbody tr", has_text=flash)
    expect(flash_row).to_have_count(1)
    expect(flash_row).to_have_attribute("data-priority", "3")
    expect(flash_row.locator(".badge.urgency-3")).to_be_visible()
    expect(clerk.locator("table.inbox tbody tr", has_text=normal)).to_have_count(0)
    drafter.goto(normal_url)
    expect(drafter.locator(f"section.card {TASK_LINK}")).to_have_count(0)  # no open step: it waits

    instance_id = committed.scalar(select(OutgoingDocument.instance_id).where(OutgoingDocument.subject == normal))
    committed.close()
    assert instance_id is not None

    def fire_at(moment: str) -> bool:
        clock.freeze(moment)
        try:
            fired = engine.fire_timers(committed, instance_id, now=clock.now())
            committed.commit()
        finally:
            committed.close()
        return fired

    # Saturday, Sunday and Monday 07:59: still waiting; the clerk (logged in again) has nothing new.
    for moment in ("2026-11-28T10:00:00+07:00", "2026-11-30T07:59:00+07:00"):
        assert not fire_at(moment)
    log_in(clerk, offices.clerk)  # the idle lock ended the Friday session
    clerk.goto("/inbox/")
    expect(clerk.locator("table.inbox tbody tr", has_text=normal)).to_have_count(0)

    # Monday 08:00, the next working morning: the timer fires (its wake-up runs a second after the due time, as
    # SpiffWorkflow fires on due < now) and the format check is in the clerk's inbox.
    assert fire_at("2026-11-30T08:00:01+07:00")
    clerk.goto("/inbox/")
    row = clerk.locator("table.inbox tbody tr", has_text=normal)
    expect(row).to_have_count(1)
    expect(row.locator(".due")).to_contain_text("30/11/2026")
    row.locator(TASK_LINK).click()
    expect(clerk).to_have_url(TASK_URL)
    expect(clerk.locator("#task-form select[name=decision] option[value=ok]")).to_have_count(1)
    log_in(drafter, offices.drafter)
    drafter.goto(normal_url)
    expect(drafter.locator("ol.timeline li.kind-timer_fired")).to_have_count(1)


def test_a_recall_is_confirmed_by_the_recipient_and_shown_to_the_sender(clock, offices, staff, open_page):
    document_url = to_publication(staff)
    clock.advance(timedelta(minutes=5))
    their_clerk = open_page()
    accept(their_clerk, files=1)
    their_leader = open_page()
    log_in(their_leader, offices.their_leader)
    expect(their_leader.locator("table.inbox tbody tr", has_text=SUBJECT)).to_have_count(1)

    # The sender's clerk recalls it with a reason on the document page.
    clock.advance(timedelta(minutes=5))
    clerk = staff.clerk
    log_in(clerk, offices.clerk)
    clerk.goto(document_url)
    form = clerk.locator("#recall-form")
    form.locator("textarea[name=reason]").fill("Ban hành nhầm nơi nhận")
    form.locator("button[type=submit]").click()
    expect(clerk).to_have_url(re.compile(re.escape(document_url) + "$"))
    expect(clerk.locator(".flash.success")).to_be_visible()
    expect(clerk.locator("#state")).to_have_class("state-recalled")
    expect(clerk.locator("#recall-form")).to_have_count(0)
    expect(clerk.locator("#deliveries li[data-status='13']")).to_contain_text("Ban hành nhầm nơi nhận")

    # The recipient's clerk finds it under recall requests and confirms the cancellation.
    their_clerk.goto("/exchange/received")
    request = their_clerk.locator("#recalls tbody tr", has_text=NUMBER)
    expect(request).to_contain_text("Ban hành nhầm nơi nhận")
    request.locator(f"a:has-text('{NUMBER}')").click()
    expect(their_clerk.locator("#recall-request")).to_contain_text("Ban hành nhầm nơi nhận")
    their_clerk.click("#recall-answer button[name=agree][value='1']")
    expect(their_clerk).to_have_url(re.compile(r"/exchange/received/\d+$"))
    expect(their_clerk.locator(".flash.success")).to_be_visible()
    expect(their_clerk.locator("#recall-answer")).to_have_count(0)
    expect(their_clerk.locator("#decision")).to_be_visible()
    their_clerk.goto("/exchange/received")
    expect(their_clerk.locator("#recalls")).to_have_count(0)

    # The recipient's process stopped: the leader's task is gone.
    their_leader.goto("/inbox/")
    expect(their_leader.locator("table.inbox tbody tr", has_text=SUBJECT)).to_have_count(0)

    # The sender sees the recall confirmed for that recipient.
    clerk.goto(document_url)
    row = clerk.locator("#deliveries tbody tr", has_text=RECIPIENT_NAME)
    expect(row).to_have_attribute("data-status", "15")
    expect(row.locator("li[data-status='15']")).to_have_count(1)
    expect(row.locator("li[data-status='15'] time")).to_have_attribute("datetime", "2026-11-25T09:10:00+07:00")
