"""An incoming document from registration to completion through the web, in the default and the
Sở Nội vụ routing, with the number, the inbox of each person and the deadline in working days."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from app.documents.models import IncomingDocument
from app.engine.models import HistoryEvent, InstanceStatus, OpenTask, ProcessInstance
from app.engine.replay import replay
from app.org.models import Role

REGISTRATION = {
    "organ_name": "Bộ Nội vụ",
    "number_symbol": "12/BNV-CCVC",
    "issued_date": "2026-11-20",
    "type_name": "Công văn",
    "subject": "Về việc báo cáo số lượng công chức năm 2026",
    "urgency": "0",
    "secrecy": "0",
    "page_amount": "2",
}


def register(client: Any, **overrides: Any) -> Any:
    return client.post("/documents/incoming/new", {**REGISTRATION, **overrides})


def task_uuid_in(html: str) -> str:
    match = re.search(r"/inbox/tasks/([0-9a-f-]{36})", html)
    assert match, html[:2000]
    return match.group(1)


def test_clerk_leader_specialist_take_a_document_to_completion(db, clock, make_agency, make_user, login_as):
    agency = make_agency()
    clerk = make_user(agency, Role.CLERK, unit="VP")
    leader = make_user(agency, Role.LEADER)
    specialist = make_user(agency, Role.SPECIALIST, unit="KT")

    response = register(login_as(clerk))
    assert response.status_code == 302
    document = db.scalar(select(IncomingDocument).where(IncomingDocument.agency_id == agency.id))
    assert document.arrival_number == 1
    assert document.number_symbol == "12/BNV-CCVC"

    leader_web = login_as(leader)
    inbox = leader_web.get("/inbox/").get_data(as_text=True)
    assert "Về việc báo cáo số lượng công chức năm 2026" in inbox
    uuid = task_uuid_in(inbox)
    response = leader_web.post(
        f"/inbox/tasks/{uuid}",
        {"directive": "Giao phòng Kinh tế tham mưu", "lead": specialist.username, "deadline_days": "3"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]

    specialist_web = login_as(specialist)
    inbox = specialist_web.get("/inbox/").get_data(as_text=True)
    uuid = task_uuid_in(inbox)
    task = db.scalar(select(OpenTask).where(OpenTask.task_uuid == uuid))
    # Wednesday 25/11/2026 + 3 working days = Monday 30/11, due at the end of that day in Vietnam time.
    assert task.due_at.isoformat() == "2026-11-30T10:00:00+00:00"
    response = specialist_web.post(f"/inbox/tasks/{uuid}", {"result": "Đã báo cáo Sở"})
    assert response.status_code == 302

    instance = db.get(ProcessInstance, document.instance_id)
    assert instance.status == InstanceStatus.COMPLETED
    assert db.scalar(select(OpenTask).where(OpenTask.instance_id == instance.id)) is None
    completed = db.scalars(
        select(HistoryEvent.actor).where(HistoryEvent.instance_id == instance.id, HistoryEvent.kind == "task_completed")
    ).all()
    assert completed == [leader.username, specialist.username]


def test_second_document_of_the_year_gets_the_next_number(db, clock, make_agency, make_user, login_as):
    agency = make_agency()
    make_user(agency, Role.LEADER)
    clerk_web = login_as(make_user(agency, Role.CLERK))
    register(clerk_web)
    register(clerk_web, number_symbol="13/BNV-CCVC")
    numbers = db.scalars(
        select(IncomingDocument.arrival_number)
        .where(IncomingDocument.agency_id == agency.id)
        .order_by(IncomingDocument.arrival_number)
    ).all()
    assert numbers == [1, 2]


def test_a_repeated_submission_is_refused_and_changes_nothing(db, clock, make_agency, make_user, login_as):
    agency = make_agency()
    specialist = make_user(agency, Role.SPECIALIST)
    leader_web = login_as(make_user(agency, Role.LEADER))
    register(login_as(make_user(agency, Role.CLERK)))
    uuid = task_uuid_in(leader_web.get("/inbox/").get_data(as_text=True))
    form = {"directive": "Xử lý", "lead": specialist.username, "deadline_days": "2"}
    token = leader_web.token(f"/inbox/tasks/{uuid}")
    first = leader_web.client.post(f"/inbox/tasks/{uuid}", data={**form, "csrf_token": token})
    second = leader_web.client.post(f"/inbox/tasks/{uuid}", data={**form, "csrf_token": token})
    assert first.status_code == 302
    assert second.status_code == 409
    assert "đã hoàn thành" in second.get_data(as_text=True) or "no longer open" in second.get_data(as_text=True)
    events = db.scalars(
        select(HistoryEvent).where(HistoryEvent.task_uuid == uuid, HistoryEvent.kind == "task_completed")
    )
    assert len(list(events)) == 1


def test_form_errors_are_shown_and_the_task_stays_open(db, clock, make_agency, make_user, login_as):
    agency = make_agency()
    make_user(agency, Role.SPECIALIST)
    leader_web = login_as(make_user(agency, Role.LEADER))
    register(login_as(make_user(agency, Role.CLERK)))
    uuid = task_uuid_in(leader_web.get("/inbox/").get_data(as_text=True))
    response = leader_web.post(f"/inbox/tasks/{uuid}", {"directive": "", "lead": "nobody", "deadline_days": "x"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Trường này là bắt buộc" in html or "This field is required" in html
    assert db.scalar(select(OpenTask).where(OpenTask.task_uuid == uuid)) is not None


def test_a_user_of_another_agency_cannot_open_or_complete_the_task(db, clock, make_agency, make_user, login_as):
    agency, other = make_agency(), make_agency()
    specialist = make_user(agency, Role.SPECIALIST)
    leader_web = login_as(make_user(agency, Role.LEADER))
    register(login_as(make_user(agency, Role.CLERK)))
    uuid = task_uuid_in(leader_web.get("/inbox/").get_data(as_text=True))
    outsider = login_as(make_user(other, Role.LEADER))
    assert uuid not in outsider.get("/inbox/").get_data(as_text=True)
    assert outsider.get(f"/inbox/tasks/{uuid}").status_code == 403
    token = outsider.token("/inbox/")
    response = outsider.client.post(
        f"/inbox/tasks/{uuid}",
        data={"directive": "x", "lead": specialist.username, "deadline_days": "1", "csrf_token": token},
    )
    assert response.status_code == 403
    document = db.scalar(select(IncomingDocument).where(IncomingDocument.agency_id == agency.id))
    assert outsider.get(f"/documents/incoming/{document.id}").status_code == 403


def test_so_noi_vu_routes_through_office_head_deputy_unit_head_and_specialist(
    db, clock, make_agency, make_user, login_as
):
    agency = make_agency(code="000.00.12.H34", name="Sở Nội vụ tỉnh Kon Tum", units=("HCTH", "TCBC"))
    clerk = make_user(agency, Role.CLERK, unit="HCTH")
    office_head = make_user(agency, Role.UNIT_LEADER, unit="HCTH")
    director = make_user(agency, Role.LEADER)
    deputy = make_user(agency, Role.DEPUTY_LEADER)
    unit_head = make_user(agency, Role.UNIT_LEADER, unit="TCBC")
    specialist = make_user(agency, Role.SPECIALIST, unit="TCBC")

    register(login_as(clerk), urgency="1")
    office = login_as(office_head)
    uuid = task_uuid_in(office.get("/inbox/").get_data(as_text=True))
    assert "Trưởng phòng HCTH" in office.get(f"/inbox/tasks/{uuid}").get_data(as_text=True)
    assert uuid not in login_as(unit_head).get("/inbox/").get_data(as_text=True)  # only the HCTH head
    assert office.post(f"/inbox/tasks/{uuid}", {"director": deputy.username}).status_code == 302

    director_inbox = login_as(director).get("/inbox/").get_data(as_text=True)
    assert "Giám đốc theo dõi" in director_inbox  # the Director also sees what went to the Deputy
    deputy_web = login_as(deputy)
    uuid = task_uuid_in(deputy_web.get("/inbox/").get_data(as_text=True))
    response = deputy_web.post(
        f"/inbox/tasks/{uuid}", {"directive": "TCBC chủ trì", "lead_unit": "TCBC", "deadline_days": "5"}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]

    head_web = login_as(unit_head)
    uuid = task_uuid_in(head_web.get("/inbox/").get_data(as_text=True))
    assert head_web.post(f"/inbox/tasks/{uuid}", {"lead": specialist.username}).status_code == 302
    specialist_web = login_as(specialist)
    uuid = task_uuid_in(specialist_web.get("/inbox/").get_data(as_text=True))
    assert specialist_web.post(f"/inbox/tasks/{uuid}", {"result": "Xong"}).status_code == 302

    document = db.scalar(select(IncomingDocument).where(IncomingDocument.agency_id == agency.id))
    instance = db.get(ProcessInstance, document.instance_id)
    steps = db.scalars(
        select(HistoryEvent.bpmn_id)
        .where(HistoryEvent.instance_id == instance.id, HistoryEvent.kind == "task_completed")
        .order_by(HistoryEvent.seq)
    ).all()
    assert steps == ["office_review", "direct", "unit_assign", "handle"]
    assert instance.status == InstanceStatus.RUNNING  # the Director's follow-up task is still open
    events = db.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance.id).order_by(HistoryEvent.seq))
    assert replay(db, instance, list(events)).is_reproduced


def test_a_unit_head_returns_a_document_outside_the_units_function_to_the_office_with_a_note(
    db, clock, make_agency, make_user, login_as
):
    agency = make_agency(code="000.00.12.H34", name="Sở Nội vụ tỉnh Kon Tum", units=("HCTH", "TCBC", "CCVC"))
    clerk = make_user(agency, Role.CLERK, unit="HCTH")
    office_head = make_user(agency, Role.UNIT_LEADER, unit="HCTH")
    director = make_user(agency, Role.LEADER)
    tcbc_head = make_user(agency, Role.UNIT_LEADER, unit="TCBC")
    register(login_as(clerk))
    office = login_as(office_head)
    office.post(
        f"/inbox/tasks/{task_uuid_in(office.get('/inbox/').get_data(as_text=True))}", {"director": director.username}
    )
    boss = login_as(director)
    uuid = task_uuid_in(boss.get("/inbox/").get_data(as_text=True))
    boss.post(f"/inbox/tasks/{uuid}", {"directive": "TCBC xử lý", "lead_unit": "TCBC", "deadline_days": "3"})
    head = login_as(tcbc_head)
    uuid = task_uuid_in(head.get("/inbox/").get_data(as_text=True))
    response = head.post(f"/inbox/tasks/{uuid}", {"lead": "", "unit_note": "Không thuộc chức năng của phòng TCBC"})
    assert response.status_code == 302
    page = office.get("/inbox/").get_data(as_text=True)
    uuid = task_uuid_in(page)
    task_page = office.get(f"/inbox/tasks/{uuid}").get_data(as_text=True)
    assert "Trưởng phòng HCTH" in task_page and "Không thuộc chức năng của phòng TCBC" in task_page
