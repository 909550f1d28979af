"""Instances in the database: versions kept, timers, incidents and retry, the projection, the history chain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.engine import definitions, history, services
from app.engine.models import HistoryEvent, InstanceStatus, OpenTask, ProcessInstance
from app.engine.replay import replay
from app.errors import Conflict, InvalidDefinition, PermissionDenied
from app.org.models import Role
from config import ROOT

FORMS = str(ROOT / "tests" / "data" / "forms")


def deploy(db, clock, name: str, xml: bytes | None = None, scope: str = "_default"):
    xml = xml if xml is not None else (ROOT / "tests" / "data" / "bpmn" / name).read_bytes()
    definition, _is_new = definitions.deploy(db, name, xml, scope=scope, forms_dir=FORMS, actor="test", now=clock.now())
    return definition


def start(db, clock, agency, key: str, **data):
    return services.start_instance(
        db, agency, key, business_key=f"test:{key}", data=data, actor="test", now=clock.now()
    )


def open_task(db, instance) -> OpenTask:
    return db.scalar(select(OpenTask).where(OpenTask.instance_id == instance.id))


def test_a_timer_fires_only_once_it_is_due(db, clock, make_agency, make_user):
    agency = make_agency()
    make_user(agency, Role.SPECIALIST)
    deploy(db, clock, "timer.bpmn")
    instance = start(db, clock, agency, "timer").instance
    assert instance.next_timer_at == clock.now() + timedelta(minutes=30, seconds=1)
    assert not services.fire_timers(db, instance.id, now=clock.now() + timedelta(minutes=29))
    assert open_task(db, instance) is None
    assert services.fire_timers(db, instance.id, now=clock.now() + timedelta(minutes=31))
    assert open_task(db, instance).bpmn_id == "act"
    assert instance.next_timer_at is None
    assert replay(db, instance, services.history_of(db, instance.id)).is_reproduced
    # A wake-up that runs twice finds nothing due and changes nothing.
    events = instance.event_count
    assert not services.fire_timers(db, instance.id, now=clock.now() + timedelta(minutes=32))
    assert instance.event_count == events


def test_a_failing_script_becomes_an_incident_that_an_administrator_retries(db, clock, make_agency, make_user):
    agency = make_agency()
    admin = make_user(agency, Role.ADMIN)
    deploy(db, clock, "needs_specialist.bpmn")
    instance = start(db, clock, agency, "needs_specialist").instance
    assert instance.status == InstanceStatus.INCIDENT
    assert "No one holds the role specialist" in instance.incident_message
    assert [i.id for i in services.incidents(db, agency.id)] == [instance.id]
    specialist = make_user(agency, Role.SPECIALIST)  # the administrator fixes the data the step needs
    services.retry_incident(db, admin, instance.id, now=clock.now())
    assert instance.status == InstanceStatus.RUNNING
    assert open_task(db, instance).assignee_id == specialist.id
    kinds = db.scalars(
        select(HistoryEvent.kind).where(HistoryEvent.instance_id == instance.id).order_by(HistoryEvent.seq)
    )
    assert list(kinds) == ["started", "incident", "retried", "task_opened"]
    assert replay(db, instance, services.history_of(db, instance.id)).is_reproduced


def test_only_an_administrator_of_the_agency_may_retry(db, clock, make_agency, make_user):
    agency, other = make_agency(), make_agency()
    deploy(db, clock, "needs_specialist.bpmn")
    instance = start(db, clock, agency, "needs_specialist").instance
    with pytest.raises(PermissionDenied):
        services.retry_incident(db, make_user(agency, Role.LEADER), instance.id, now=clock.now())
    with pytest.raises(PermissionDenied):
        services.retry_incident(db, make_user(other, Role.ADMIN), instance.id, now=clock.now())


def test_a_running_instance_keeps_the_version_it_started_with(db, clock, make_agency, make_user):
    agency = make_agency()
    specialist = make_user(agency, Role.SPECIALIST)
    original = (ROOT / "tests" / "data" / "bpmn" / "timer.bpmn").read_bytes()
    v1 = deploy(db, clock, "timer.bpmn", original)
    old = start(db, clock, agency, "timer").instance
    # Version 2 drops the wait: new instances open the task at once.
    changed = (
        original.replace(b'targetRef="wait"/>', b'targetRef="act"/>')
        .replace(b'<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="act"/>', b"")
        .replace(b'<bpmn:intermediateCatchEvent id="wait" name="Wait 30 minutes">', b"<!--")
        .replace(b"</bpmn:intermediateCatchEvent>", b"-->")
    )
    v2 = deploy(db, clock, "timer.bpmn", changed)
    assert (v1.version, v2.version) == (1, 2)
    assert deploy(db, clock, "timer.bpmn", changed).id == v2.id  # the same file again is no new version
    new = start(db, clock, agency, "timer").instance
    assert new.definition_id == v2.id and open_task(db, new) is not None
    assert old.definition_id == v1.id and open_task(db, old) is None
    services.fire_timers(db, old.id, now=clock.now() + timedelta(hours=1))
    task = open_task(db, old)
    services.complete_task(db, specialist, task.task_uuid, {"note": "done"}, now=clock.now())
    assert old.status == InstanceStatus.COMPLETED


def test_an_agency_override_is_used_only_by_that_agency(db, clock, make_agency):
    kon_tum, other = make_agency(code="000.00.77.H34"), make_agency()
    xml = (ROOT / "tests" / "data" / "bpmn" / "timer.bpmn").read_bytes()
    default = deploy(db, clock, "timer.bpmn", xml)
    override = deploy(db, clock, "timer.bpmn", xml.replace(b'"PT30M"', b'"PT2H"'), scope=kon_tum.code)
    assert start(db, clock, kon_tum, "timer").instance.definition_id == override.id
    assert start(db, clock, other, "timer").instance.definition_id == default.id


def test_a_broken_diagram_is_refused_and_nothing_is_stored(db, clock):
    before = len(definitions.versions(db))
    with pytest.raises(InvalidDefinition) as refused:
        deploy(db, clock, "timer.bpmn", b"<bpmn:definitions")
    assert refused.value.problems
    assert len(definitions.versions(db)) == before


def test_a_task_completed_by_someone_else_first_is_refused(db, clock, make_agency, make_user):
    agency = make_agency()
    first, second = make_user(agency, Role.SPECIALIST), make_user(agency, Role.SPECIALIST)
    deploy(db, clock, "timer.bpmn")
    instance = start(db, clock, agency, "timer").instance
    services.fire_timers(db, instance.id, now=clock.now() + timedelta(hours=1))
    uuid = open_task(db, instance).task_uuid
    services.complete_task(db, first, uuid, {"note": "mine"}, now=clock.now())
    with pytest.raises(Conflict):
        services.complete_task(db, second, uuid, {"note": "also mine"}, now=clock.now())


def test_a_claimed_task_disappears_for_the_other_holders_of_the_role(db, clock, make_agency, make_user):
    agency = make_agency()
    first, second = make_user(agency, Role.SPECIALIST), make_user(agency, Role.SPECIALIST)
    deploy(db, clock, "timer.bpmn")
    instance = start(db, clock, agency, "timer").instance
    services.fire_timers(db, instance.id, now=clock.now() + timedelta(hours=1))
    uuid = open_task(db, instance).task_uuid
    services.claim_task(db, first, uuid)
    with pytest.raises(PermissionDenied):
        services.task_for_user(db, second, uuid)
    services.release_task(db, first, uuid)
    assert services.task_for_user(db, second, uuid).task_uuid == uuid


def test_history_chain_detects_an_edited_event(db, clock, make_agency, make_user):
    agency = make_agency()
    specialist = make_user(agency, Role.SPECIALIST)
    deploy(db, clock, "timer.bpmn")
    instance = start(db, clock, agency, "timer").instance
    services.fire_timers(db, instance.id, now=clock.now() + timedelta(hours=1))
    services.complete_task(db, specialist, open_task(db, instance).task_uuid, {"note": "ok"}, now=clock.now())
    events = services.history_of(db, instance.id)
    assert history.verify(instance.id, events, instance.last_event_hash) is None
    completed = next(e for e in events if e.kind == "task_completed")
    db.execute(update(HistoryEvent).where(HistoryEvent.id == completed.id).values(data_after='{"note": "forged"}'))
    db.expire_all()
    broken = history.verify(instance.id, services.history_of(db, instance.id), instance.last_event_hash)
    assert broken is not None and broken.seq == completed.seq and "changed" in broken.reason


def test_history_chain_detects_a_deleted_last_event(db, clock, make_agency):
    agency = make_agency()
    deploy(db, clock, "timer.bpmn")
    instance = start(db, clock, agency, "timer").instance
    events = services.history_of(db, instance.id)
    db.delete(events[-1])
    db.flush()
    broken = history.verify(instance.id, services.history_of(db, instance.id), instance.last_event_hash)
    assert broken is not None and "deleted" in broken.reason


def test_the_instance_row_counts_its_history_and_holds_the_last_hash(db, clock, make_agency):
    agency = make_agency()
    deploy(db, clock, "timer.bpmn")
    instance = start(db, clock, agency, "timer").instance
    stored = db.scalar(select(ProcessInstance).where(ProcessInstance.id == instance.id))
    events = services.history_of(db, instance.id)
    assert [event.kind for event in events] == ["started"]  # the start waits on a timer: no task opens yet
    assert stored.event_count == 1 and stored.last_event_hash == events[-1].hash


def test_an_incident_caused_by_the_diagram_is_retried_on_the_fixed_version(db, clock, make_agency, make_user):
    agency = make_agency()
    admin = make_user(agency, Role.ADMIN)
    specialist = make_user(agency, Role.SPECIALIST)
    fixed = (ROOT / "tests" / "data" / "bpmn" / "needs_specialist.bpmn").read_bytes()
    broken = fixed.replace(b'handler = first_holder("specialist")', b'handler = first_holder("specialist") + suffix')
    v1 = deploy(db, clock, "needs_specialist.bpmn", broken)
    instance = start(db, clock, agency, "needs_specialist").instance
    assert instance.status == InstanceStatus.INCIDENT and "suffix" in instance.incident_message
    services.retry_incident(db, admin, instance.id, now=clock.now())
    assert instance.status == InstanceStatus.INCIDENT  # the same diagram fails the same way
    v2 = deploy(db, clock, "needs_specialist.bpmn", fixed)
    services.retry_incident(db, admin, instance.id, now=clock.now(), on_latest_version=True)
    assert instance.status == InstanceStatus.RUNNING
    assert (instance.definition_id, v1.version, v2.version) == (v2.id, 1, 2)
    assert open_task(db, instance).assignee_id == specialist.id
    kinds = db.scalars(
        select(HistoryEvent.kind).where(HistoryEvent.instance_id == instance.id).order_by(HistoryEvent.seq)
    )
    assert "migrated" in list(kinds)
