"""In a real browser: a Hỏa tốc document left undirected raises the alarm under the leader's bell at the
time the frozen clock says (IN-14), and the leader's three-way assignment gives the coordinator a task whose
opinion the lead handler then reads (IN-8, IN-11)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.engine import services as engine
from app.engine.models import ProcessInstance
from app.org import services as org
from app.org.models import Agency, Role, Unit
from tests.conftest import PASSWORD
from tests.e2e.conftest import CHROMIUM, People
from tests.e2e.test_incoming_flow import TASK_LINK, log_in

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.e2e


def register(page: Page, subject: str, urgency: str) -> None:
    page.goto("/documents/incoming/new")
    form = page.locator("#register-form")
    form.locator("[name=organ_name]").fill("Văn phòng Chính phủ")
    form.locator("[name=number_symbol]").fill("95/CĐ-TTg")
    form.locator("[name=issued_date]").fill("2026-11-24")
    form.locator("select[name=type_name]").select_option(label="Công điện")
    form.locator("[name=subject]").fill(subject)
    form.locator("select[name=urgency]").select_option(urgency)
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/documents/incoming/\d+$"))


def test_an_undirected_flash_document_rings_the_leaders_bell_after_30_minutes(
    open_page, people: People, committed, clock
):
    clerk = open_page()
    log_in(clerk, people.clerk)
    register(clerk, "Về việc ứng phó với bão số 13", "3")
    leader = open_page()
    log_in(leader, people.leader)
    expect(leader.locator("#bell .count")).to_have_count(0)

    clock.advance(timedelta(minutes=31))  # the worker's wake-up job runs this at the due time
    instance_id = committed.scalar(select(ProcessInstance.id).where(ProcessInstance.agency_id == people.agency_id))
    assert engine.fire_timers(committed, instance_id, now=clock.now())
    committed.commit()
    committed.close()

    leader.goto("/inbox/")  # 31 idle minutes locked the session: the leader logs in again
    expect(leader).to_have_url(re.compile(r"/org/login"))
    log_in(leader, people.leader)
    expect(leader.locator("#bell .count")).to_have_text("1")
    leader.click("#bell")
    expect(leader.locator("li.notice.unread")).to_contain_text("bão số 13")
    leader.goto("/inbox/")
    expect(leader.locator("#bell .count")).to_have_count(0)


def test_the_lead_reads_the_coordinators_opinion_before_handling(open_page, people: People, committed, clock):
    agency = committed.get(Agency, people.agency_id)
    unit = committed.scalar(select(Unit).where(Unit.agency_id == agency.id, Unit.code == "KT"))
    coordinator = org.create_user(
        committed, agency, "e2e.coordinator", "Chuyên viên Bốn", PASSWORD, [Role.SPECIALIST], unit=unit
    )
    coordinator.must_change_password = False
    committed.commit()
    committed.close()

    clerk = open_page()
    log_in(clerk, people.clerk)
    register(clerk, "Về việc góp ý dự thảo quy chế", "0")
    leader = open_page()
    log_in(leader, people.leader)
    leader.locator("table.inbox tbody tr").first.locator(TASK_LINK).click()
    form = leader.locator("#task-form")
    form.locator("[name=directive]").fill("Phòng KT chủ trì, lấy ý kiến đồng chí Bốn")
    form.locator("select[name=lead]").select_option(people.specialist)
    form.locator("select[name=coordinators]").select_option(["e2e.coordinator"])
    form.locator("[name=deadline_days]").fill("2")
    form.locator("button[type=submit]").click()
    expect(leader).to_have_url(re.compile(r"/inbox/$"))

    helper = open_page()
    log_in(helper, "e2e.coordinator")
    helper.locator(TASK_LINK).first.click()
    helper.locator("#task-form [name=opinion]").fill("Đề nghị bổ sung điều khoản chuyển tiếp")
    helper.locator("#task-form button[type=submit]").click()
    expect(helper).to_have_url(re.compile(r"/inbox/$"))

    lead = open_page()
    log_in(lead, people.specialist)
    lead.locator(TASK_LINK).first.click()
    expect(lead.locator("#route-so-far")).to_contain_text("Đề nghị bổ sung điều khoản chuyển tiếp")
    expect(lead.locator("#route-so-far")).to_contain_text("Phòng KT chủ trì")
