"""Auditors see every step of a process with its data, and `flask audit verify` finds tampering."""

from __future__ import annotations

from sqlalchemy import select, update

from app.engine.models import HistoryEvent
from app.org.models import Role
from tests.inbox.test_incoming_flow import register, task_uuid_in


def run_to_direction(make_agency, make_user, login_as):
    agency = make_agency()
    specialist = make_user(agency, Role.SPECIALIST)
    leader = make_user(agency, Role.LEADER)
    register(login_as(make_user(agency, Role.CLERK)))
    leader_web = login_as(leader)
    uuid = task_uuid_in(leader_web.get("/inbox/").get_data(as_text=True))
    leader_web.post(
        f"/inbox/tasks/{uuid}",
        {"directive": "Báo cáo trước ngày 30", "lead": specialist.username, "deadline_days": "2"},
    )
    return agency, leader


def test_an_auditor_sees_who_did_what_when_with_what_data(db, clock, make_agency, make_user, login_as):
    agency, leader = run_to_direction(make_agency, make_user, login_as)
    auditor = login_as(make_user(agency, Role.AUDITOR))
    listing = auditor.get("/audit/").get_data(as_text=True)
    instance_id = db.scalar(select(HistoryEvent.instance_id).where(HistoryEvent.actor == leader.username))
    assert f"/audit/instances/{instance_id}" in listing
    page = auditor.get(f"/audit/instances/{instance_id}").get_data(as_text=True)
    assert leader.username in page
    assert "Báo cáo trước ngày 30" in page
    assert 'id="chain-status"' in page and "flash success" in page


def test_an_auditor_of_another_agency_and_a_clerk_cannot_see_the_timeline(db, clock, make_agency, make_user, login_as):
    agency, leader = run_to_direction(make_agency, make_user, login_as)
    instance_id = db.scalar(select(HistoryEvent.instance_id).where(HistoryEvent.actor == leader.username))
    assert login_as(make_user(make_agency(), Role.AUDITOR)).get(f"/audit/instances/{instance_id}").status_code == 403
    assert login_as(make_user(agency, Role.CLERK)).get(f"/audit/instances/{instance_id}").status_code == 403


def test_audit_verify_reports_the_first_broken_link_and_exits_non_zero(
    app, db, clock, make_agency, make_user, login_as
):
    _agency, leader = run_to_direction(make_agency, make_user, login_as)
    runner = app.test_cli_runner()
    intact = runner.invoke(args=["audit", "verify"])
    assert intact.exit_code == 0, intact.output
    assert "0 broken" in intact.output
    event = db.scalar(select(HistoryEvent).where(HistoryEvent.actor == leader.username))
    db.execute(update(HistoryEvent).where(HistoryEvent.id == event.id).values(actor="someone.else"))
    db.commit()
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1
    assert f"BROKEN instance {event.instance_id} at event {event.seq}" in broken.output


def test_replaying_a_finished_process_reproduces_its_stored_state(app, db, clock, make_agency, make_user, login_as):
    agency, leader = run_to_direction(make_agency, make_user, login_as)
    instance_id = db.scalar(select(HistoryEvent.instance_id).where(HistoryEvent.actor == leader.username))
    auditor = login_as(make_user(agency, Role.AUDITOR))
    page = auditor.get(f"/audit/instances/{instance_id}?replay=1").get_data(as_text=True)
    assert 'id="replay-status"' in page and "flash success" in page
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--replay"])
    assert result.exit_code == 0, result.output
    assert "replay: 0 instances diverged" in result.output


def test_replay_detects_a_state_edited_behind_the_engines_back(app, db, clock, make_agency, make_user, login_as):
    from app.engine.models import ProcessInstance

    _agency, leader = run_to_direction(make_agency, make_user, login_as)
    instance_id = db.scalar(select(HistoryEvent.instance_id).where(HistoryEvent.actor == leader.username))
    instance = db.get(ProcessInstance, instance_id)
    db.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .values(state=instance.state.replace('"deadline_days": 2', '"deadline_days": 9'))
    )
    db.commit()
    assert '"deadline_days": 9' in db.scalar(select(ProcessInstance.state).where(ProcessInstance.id == instance_id))
    result = app.test_cli_runner().invoke(args=["audit", "verify", "--replay"])
    assert result.exit_code == 1
    assert f"DIVERGED instance {instance_id}" in result.output and "stored state differs" in result.output
