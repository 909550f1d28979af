"""A leader delegates assigning to a named person for a period (ACC-3)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.engine.models import HistoryEvent
from app.org.models import Role
from tests.inbox.test_incoming_flow import register, task_uuid_in


def test_the_delegate_directs_the_leaders_documents_during_the_period_only(db, clock, make_agency, make_user, login_as):
    agency = make_agency()
    leader, deputy = make_user(agency, Role.LEADER), make_user(agency, Role.DEPUTY_LEADER)
    specialist = make_user(agency, Role.SPECIALIST)
    register(login_as(make_user(agency, Role.CLERK)))
    deputy_web = login_as(deputy)
    assert "/inbox/tasks/" not in deputy_web.get("/inbox/").get_data(as_text=True)

    response = login_as(leader).post(
        "/org/delegations", {"delegate": deputy.username, "starts_on": "2026-11-25", "ends_on": "2026-11-27"}
    )
    assert response.status_code == 302
    uuid = task_uuid_in(deputy_web.get("/inbox/").get_data(as_text=True))
    response = deputy_web.post(
        f"/inbox/tasks/{uuid}", {"directive": "Thay lãnh đạo giao", "lead": specialist.username, "deadline_days": "2"}
    )
    assert response.status_code == 302
    event = db.scalar(select(HistoryEvent).where(HistoryEvent.kind == "task_completed"))
    assert event.actor == deputy.username and event.detail == f"on behalf of {leader.username}"

    register(login_as(make_user(agency, Role.CLERK)), number_symbol="13/BNV-CCVC")
    clock.advance(timedelta(days=3))  # the period has ended
    assert "/inbox/tasks/" not in login_as(deputy).get("/inbox/").get_data(as_text=True)


def test_a_specialist_cannot_delegate_and_nobody_delegates_to_another_agency(
    db, clock, make_agency, make_user, login_as
):
    agency, other = make_agency(), make_agency()
    specialist = make_user(agency, Role.SPECIALIST)
    stranger = make_user(other, Role.SPECIALIST)
    form = {"delegate": make_user(agency, Role.SPECIALIST).username, "starts_on": "2026-11-25", "ends_on": "2026-11-27"}
    assert login_as(specialist).post("/org/delegations", form).status_code == 403
    leader = login_as(make_user(agency, Role.LEADER))
    assert leader.post("/org/delegations", {**form, "delegate": stranger.username}).status_code == 422
