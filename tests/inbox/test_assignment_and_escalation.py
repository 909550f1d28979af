"""The leader's three-way assignment (IN-8, IN-11) and the escalation of urgent documents (IN-7, IN-14)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.engine import services as engine
from app.engine.models import HistoryEvent, InstanceStatus, OpenTask, ProcessInstance
from app.engine.replay import replay
from app.inbox.models import Notification
from app.org.models import Role
from tests.inbox.test_incoming_flow import register, task_uuid_in


def tasks_of(client) -> str:
    return client.get("/inbox/").get_data(as_text=True)


def test_lead_coordinators_and_readers_each_get_their_task_and_the_lead_reads_the_opinions(
    db, clock, make_agency, make_user, login_as
):
    agency = make_agency()
    leader = make_user(agency, Role.LEADER)
    lead, first, second, reader = (make_user(agency, Role.SPECIALIST, unit="KT") for _ in range(4))
    register(login_as(make_user(agency, Role.CLERK)))
    leader_web = login_as(leader)
    uuid = task_uuid_in(tasks_of(leader_web))
    token = leader_web.token(f"/inbox/tasks/{uuid}")
    response = leader_web.client.post(
        f"/inbox/tasks/{uuid}",
        data={
            "csrf_token": token,
            "directive": "KT chủ trì, lấy ý kiến hai đồng chí",
            "lead": lead.username,
            "coordinators": [first.username, second.username],
            "informed": [reader.username],
            "deadline_days": "3",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    lead_web, first_web, second_web, reader_web = (login_as(u) for u in (lead, first, second, reader))
    assert "Chủ trì xử lý" in tasks_of(lead_web)
    assert "Phối hợp" in tasks_of(first_web) and "Phối hợp" in tasks_of(second_web)
    assert "Để biết" in tasks_of(reader_web)

    uuid = task_uuid_in(tasks_of(first_web))
    assert first_web.post(f"/inbox/tasks/{uuid}", {"opinion": "Đề nghị bổ sung số liệu quý IV"}).status_code == 302
    uuid = task_uuid_in(tasks_of(reader_web))
    assert reader_web.post(f"/inbox/tasks/{uuid}", {}).status_code == 302
    lead_uuid = task_uuid_in(tasks_of(lead_web))
    page = lead_web.get(f"/inbox/tasks/{lead_uuid}").get_data(as_text=True)
    assert "Đề nghị bổ sung số liệu quý IV" in page and "KT chủ trì, lấy ý kiến hai đồng chí" in page
    assert lead_web.post(f"/inbox/tasks/{lead_uuid}", {"result": "Đã tổng hợp"}).status_code == 302

    instance = db.scalar(select(ProcessInstance).where(ProcessInstance.agency_id == agency.id))
    assert instance.status == InstanceStatus.RUNNING  # the second coordinator has not answered yet
    uuid = task_uuid_in(tasks_of(second_web))
    assert second_web.post(f"/inbox/tasks/{uuid}", {"opinion": "Nhất trí"}).status_code == 302
    db.expire_all()
    assert db.get(ProcessInstance, instance.id).status == InstanceStatus.COMPLETED
    assert replay(db, instance, engine.history_of(db, instance.id)).is_reproduced


def test_a_coordinator_cannot_complete_the_leads_task(db, clock, make_agency, make_user, login_as):
    agency = make_agency()
    leader = make_user(agency, Role.LEADER)
    lead, helper = make_user(agency, Role.SPECIALIST), make_user(agency, Role.SPECIALIST)
    register(login_as(make_user(agency, Role.CLERK)))
    leader_web = login_as(leader)
    uuid = task_uuid_in(tasks_of(leader_web))
    token = leader_web.token(f"/inbox/tasks/{uuid}")
    leader_web.client.post(
        f"/inbox/tasks/{uuid}",
        data={
            "csrf_token": token,
            "directive": "x",
            "lead": lead.username,
            "coordinators": [helper.username],
            "deadline_days": "2",
        },
    )
    lead_uuid = db.scalar(select(OpenTask.task_uuid).where(OpenTask.bpmn_id == "handle"))
    assert login_as(helper).get(f"/inbox/tasks/{lead_uuid}").status_code == 403


def test_a_flash_document_left_undirected_for_30_minutes_alerts_leaders_and_the_clerks_supervisor_on_a_sunday(
    db, clock, make_agency, make_user, login_as
):
    clock.freeze("2026-11-29T10:00:00+07:00")  # a Sunday
    agency = make_agency()
    leader, deputy = make_user(agency, Role.LEADER), make_user(agency, Role.DEPUTY_LEADER)
    supervisor = make_user(agency, Role.UNIT_LEADER, unit="VP")
    outsider = make_user(agency, Role.UNIT_LEADER, unit="KT")
    register(login_as(make_user(agency, Role.CLERK, unit="VP")), urgency="3")
    instance = db.scalar(select(ProcessInstance).where(ProcessInstance.agency_id == agency.id))
    assert instance.next_timer_at == clock.now() + timedelta(minutes=30, seconds=1)
    assert not engine.fire_timers(db, instance.id, now=clock.now() + timedelta(minutes=29))
    assert engine.fire_timers(db, instance.id, now=clock.now() + timedelta(minutes=31))
    notified = set(db.scalars(select(Notification.user_id).where(Notification.instance_id == instance.id)))
    assert notified == {leader.id, deputy.id, supervisor.id} and outsider.id not in notified
    leader_web = login_as(leader)
    inbox = tasks_of(leader_web)
    assert 'class="count">1<' in inbox and 'data-priority="3"' in inbox
    assert "chưa được cho ý kiến chỉ đạo" in leader_web.get("/inbox/notifications").get_data(as_text=True)
    assert 'class="count"' not in tasks_of(leader_web)  # read once opened
    # The leader's task is still open: the alarm does not take the document away from them.
    assert db.scalar(select(OpenTask.bpmn_id).where(OpenTask.instance_id == instance.id)) == "direct"
    events = db.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance.id).order_by(HistoryEvent.seq))
    assert replay(db, instance, list(events)).is_reproduced


def test_an_ordinary_document_waits_a_day_before_the_alarm(db, clock, make_agency, make_user, login_as):
    agency = make_agency()
    make_user(agency, Role.LEADER)
    register(login_as(make_user(agency, Role.CLERK)))
    instance = db.scalar(select(ProcessInstance).where(ProcessInstance.agency_id == agency.id))
    assert instance.next_timer_at == clock.now() + timedelta(days=1, seconds=1)
