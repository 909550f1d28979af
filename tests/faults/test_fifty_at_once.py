"""Fifty people pressing the same button at the same instant, over HTTP against the served app (a threaded
werkzeug server, as in tests/e2e): one completion of one task wins and 49 are told it is done; fifty
registrations in one register get the numbers 1 to 50, no gap, no duplicate, each with its own process."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from app.documents.models import IncomingDocument
from app.engine import services
from app.engine.models import HistoryEvent, OpenTask, ProcessInstance
from app.org import services as org
from app.org.models import Role, Unit
from tests.conftest import PASSWORD
from tests.engine.test_concurrency import run_together
from tests.faults.conftest import count_events, deploy, start_timer_instance
from tests.inbox.test_incoming_flow import REGISTRATION

CLICKS = 50
PEOPLE = 5  # each signed in once (a password check costs ~0.3 s); ten clicks each, from ten threads
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
DONE_ALREADY = "Công việc này không còn mở: có người đã hoàn thành hoặc công việc đã bị thu hồi."


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a 302 is an answer to look at, not to follow
        return None


class Person:
    """One person's browser over real HTTP: a cookie jar, the page's CSRF token on every form."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def request(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(self.base + path, data=data, timeout=120) as response:
                return response.status, response.read().decode(), ""
        except urllib.error.HTTPError as answer:  # 3xx (not followed), 4xx, 5xx
            return answer.code, answer.read().decode(errors="replace"), answer.headers.get("Location", "")

    def token(self, path: str) -> str:
        status, html, _ = self.request(path)
        match = TOKEN.search(html)
        assert status == 200 and match, html[:2000]
        return match.group(1)

    def log_in(self, username: str) -> Person:
        form = {"username": username, "password": PASSWORD, "csrf_token": self.token("/org/login")}
        status, html, _ = self.request("/org/login", form)
        assert status == 302, html[:2000]
        return self


@pytest.fixture
def agency_people(committed):
    """An agency with a leader and PEOPLE people of one role (clerks or specialists), signed-in-ready."""

    def make(role: Role, prefix: str):
        agency = org.create_agency(committed, "000.00.74.H99", "Cơ quan thử", "CQT")
        unit = Unit(agency_id=agency.id, code="VP", name="Văn phòng")
        committed.add(unit)
        committed.flush()
        org.create_user(committed, agency, "faults.ld", "Lãnh đạo", PASSWORD, [Role.LEADER])
        for index in range(PEOPLE):
            org.create_user(committed, agency, f"{prefix}{index}", "Người dùng", PASSWORD, [role], unit=unit)
        committed.execute(text("UPDATE users SET must_change_password = false"))
        committed.commit()
        return agency

    return make


def test_fifty_completions_of_one_task_complete_it_once(served, committed, clock, agency_people):
    agency = agency_people(Role.SPECIALIST, "faults.cv")
    deploy(committed, clock, "timer.bpmn")
    instance_id = start_timer_instance(committed, clock, agency, "faults:fifty")
    services.fire_timers(committed, instance_id, now=clock.now() + timedelta(hours=1))
    committed.commit()
    task_uuid = committed.scalar(select(OpenTask.task_uuid).where(OpenTask.instance_id == instance_id))
    committed.rollback()  # SQLite: no transaction of ours may hold the write lock while the clicks run
    page = f"/inbox/tasks/{task_uuid}"
    people = [Person(served).log_in(f"faults.cv{index}") for index in range(PEOPLE)]
    tokens = [person.token(page) for person in people]

    def click(index: int) -> tuple[int, str, str]:
        person = index % PEOPLE
        return people[person].request(page, {"note": f"lần bấm {index}", "csrf_token": tokens[person]})

    answers = run_together(CLICKS, click)
    statuses = sorted(answer[0] for answer in answers)  # type: ignore[index]
    assert statuses == [302] + [409] * (CLICKS - 1), statuses
    assert all(DONE_ALREADY in html for status, html, _ in answers if status == 409)  # type: ignore[misc]
    assert count_events(committed, "task_completed", instance_id=instance_id) == 1
    assert count_events(committed, "task_opened", instance_id=instance_id) == 1  # `act` opened once, at the timer
    instance = committed.get(ProcessInstance, instance_id)
    assert instance.status == "completed"
    assert committed.scalar(select(func.count()).select_from(OpenTask).where(OpenTask.instance_id == instance_id)) == 0
    committed.rollback()


def test_fifty_registrations_in_one_register_take_the_numbers_1_to_50(served, committed, clock, agency_people):
    agency = agency_people(Role.CLERK, "faults.vt")
    page = "/documents/incoming/new"
    people = [Person(served).log_in(f"faults.vt{index}") for index in range(PEOPLE)]
    tokens = [person.token(page) for person in people]

    def register(index: int) -> tuple[int, str, str]:
        person = index % PEOPLE
        form = {**REGISTRATION, "number_symbol": f"{100 + index}/BNV-CCVC", "csrf_token": tokens[person]}
        return people[person].request(page, form)

    answers = run_together(CLICKS, register)
    assert [answer[0] for answer in answers] == [302] * CLICKS, [
        answer[1][:500] for answer in answers if answer[0] != 302
    ][:3]  # type: ignore[index]
    committed.expire_all()
    documents = committed.scalars(select(IncomingDocument).where(IncomingDocument.agency_id == agency.id)).all()
    assert sorted(document.arrival_number for document in documents) == list(range(1, CLICKS + 1))
    assert len({document.register_id for document in documents}) == 1
    assert sorted(document.number_symbol for document in documents) == sorted(
        f"{100 + index}/BNV-CCVC" for index in range(CLICKS)
    )
    instance_ids = {document.instance_id for document in documents}
    assert len(instance_ids) == CLICKS and None not in instance_ids
    started = committed.scalars(
        select(HistoryEvent.instance_id).where(
            HistoryEvent.instance_id.in_(instance_ids), HistoryEvent.kind == "started"
        )
    ).all()
    assert sorted(started) == sorted(instance_ids)  # each started exactly once
    committed.rollback()
