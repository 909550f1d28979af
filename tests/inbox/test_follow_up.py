"""Leaders see what is late or due soon in their scope and chase it (IN-12); people set follow-up dates."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.engine.models import OpenTask
from app.inbox.models import Notification
from app.org.models import Role
from tests.inbox.test_incoming_flow import register, task_uuid_in


def direct_to(leader_web, specialist, days: str) -> None:
    uuid = task_uuid_in(leader_web.get("/inbox/").get_data(as_text=True))
    leader_web.post(f"/inbox/tasks/{uuid}", {"directive": "Xử lý", "lead": specialist.username, "deadline_days": days})


def test_a_leader_sees_a_late_task_and_the_reminder_reaches_its_handler(db, clock, make_agency, make_user, login_as):
    agency = make_agency()
    leader = make_user(agency, Role.LEADER)
    specialist = make_user(agency, Role.SPECIALIST, unit="KT")
    register(login_as(make_user(agency, Role.CLERK)))
    leader_web = login_as(leader)
    direct_to(leader_web, specialist, "1")
    assert 'data-late="true"' not in leader_web.get("/inbox/watch").get_data(as_text=True)
    clock.advance(timedelta(days=3))
    page = login_as(leader).get("/inbox/watch").get_data(as_text=True)
    assert 'data-late="true"' in page and "Chủ trì xử lý" in page
    uuid = db.scalar(select(OpenTask.task_uuid).where(OpenTask.bpmn_id == "handle"))
    watcher = login_as(leader)
    assert watcher.post(f"/inbox/tasks/{uuid}/remind", {}, page="/inbox/watch").status_code == 302
    (notice,) = db.scalars(select(Notification).where(Notification.user_id == specialist.id)).all()
    assert "đề nghị khẩn trương xử lý" in notice.message


def test_a_unit_leader_sees_only_the_work_of_the_unit_and_a_specialist_sees_no_list(
    db, clock, make_agency, make_user, login_as
):
    agency = make_agency()
    leader = make_user(agency, Role.LEADER)
    kt_head, vp_head = make_user(agency, Role.UNIT_LEADER, unit="KT"), make_user(agency, Role.UNIT_LEADER, unit="VP")
    specialist = make_user(agency, Role.SPECIALIST, unit="KT")
    register(login_as(make_user(agency, Role.CLERK)))
    direct_to(login_as(leader), specialist, "0")
    clock.advance(timedelta(days=2))
    assert "Chủ trì xử lý" in login_as(kt_head).get("/inbox/watch").get_data(as_text=True)
    assert "Chủ trì xử lý" not in login_as(vp_head).get("/inbox/watch").get_data(as_text=True)
    assert login_as(specialist).get("/inbox/watch").status_code == 403


def test_a_follow_up_date_is_kept_on_the_task_and_shown_in_the_inbox(db, clock, make_agency, make_user, login_as):
    agency = make_agency()
    leader = make_user(agency, Role.LEADER)
    register(login_as(make_user(agency, Role.CLERK)))
    leader_web = login_as(leader)
    uuid = task_uuid_in(leader_web.get("/inbox/").get_data(as_text=True))
    response = leader_web.post(
        f"/inbox/tasks/{uuid}/follow-up", {"follow_up": "2026-11-27"}, page=f"/inbox/tasks/{uuid}"
    )
    assert response.status_code == 302
    follow_up = db.scalar(select(OpenTask.follow_up_at).where(OpenTask.task_uuid == uuid))
    assert follow_up.isoformat() == "2026-11-27T01:00:00+00:00"
    assert "27/11" in leader_web.get("/inbox/").get_data(as_text=True)
