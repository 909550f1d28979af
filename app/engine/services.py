"""Running instances: each advance is one locked load → run → save, with projection, history and timers."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, or_, select
from sqlalchemy.orm import Session

from app import clock
from app.db import Base
from app.engine import definitions, history, runtime
from app.engine.models import HistoryEvent, InstanceStatus, OpenTask, ProcessDefinition, ProcessInstance
from app.engine.results import Advance, Incident, OpenedTask
from app.engine.scripting import ScriptContext, environment, script_engine
from app.errors import N_, Conflict, NotFound, PermissionDenied
from app.jobs import enqueue_after_commit
from app.org.models import Agency, Role, Unit, User
from app.org.roles import role_for_lane
from app.org.services import active_delegators

SYSTEM = "system"
NoticeHandler = Callable[[Session, ProcessInstance, list[str], str, datetime], object]
OutboxHandler = Callable[[Session, ProcessInstance, dict[str, Any], datetime], object]
_outbox_handlers: dict[str, dict[str, OutboxHandler]] = {}


def register_outbox_handler(kind: str, name: str, handler: OutboxHandler) -> None:
    """Who acts on what an advance left in its outbox, once the advance is saved: `notice` (from `notify`),
    `completed` (the instance ended) and kinds that higher domains' helpers write. Registered by create_app
    under a name, so a second app in the same process replaces rather than doubles a handler."""
    _outbox_handlers.setdefault(kind, {})[name] = handler


def register_notice_handler(handler: NoticeHandler) -> None:
    """Who delivers `notify(...)` notices from diagrams (the inbox, registered by create_app)."""
    register_outbox_handler(
        "notice",
        "notice",
        lambda session, instance, item, now: handler(session, instance, item["to"], item["message"], now),
    )


INPUT_KINDS = {"started", "task_completed", "timer_fired", "retried"}


@dataclass(frozen=True)
class Started:
    instance: ProcessInstance
    advance: Advance


def start_instance(
    session: Session,
    agency: Agency,
    process_key: str,
    *,
    business_key: str,
    data: dict[str, Any],
    actor: str,
    now: datetime,
) -> Started:
    """Start the agency's newest version of a process (its own, else the default) and run it until it waits."""
    definition = definitions.definition_for_start(session, agency.code, process_key)
    context = ScriptContext(session, agency.id, now)
    workflow = runtime.new_workflow(definitions.load_specs(session, definition.spec_hash), data, script_engine(context))
    result = runtime.advance(workflow, lambda: None, now=now)
    instance = ProcessInstance(
        definition_id=definition.id,
        spec_hash=definition.spec_hash,
        agency_id=agency.id,
        business_key=business_key,
        state=result.state,
        started_at=now,
        updated_at=now,
    )
    session.add(instance)
    session.flush()
    events = [history.NewEvent("started", actor, detail=version_detail(definition), data_after=_json_safe(data))]
    _record(session, instance, result, context, events, now)
    return Started(instance, result)


def start_form(session: Session, agency: Agency, process_key: str) -> tuple[ProcessDefinition, dict[str, Any] | None]:
    """The version a start would use now, and the form its start event names (None if it names none)."""
    definition = definitions.definition_for_start(session, agency.code, process_key)
    spec = definitions.load_specs(session, definition.spec_hash)[0]
    for task_spec in spec.task_specs.values():
        if type(task_spec).__name__ == "StartEvent":
            name = ((task_spec.extensions or {}).get("properties") or {}).get("form")
            return definition, definitions.form_of(definition, name) if name else None
    return definition, None


def task_for_user(session: Session, user: User, task_uuid: str) -> OpenTask:
    """The open task if `user` may act on it; PermissionDenied or Conflict (already done) otherwise."""
    rows = list(session.scalars(select(OpenTask).where(OpenTask.task_uuid == task_uuid)))
    if not rows:
        raise Conflict(N_("This task is no longer open: someone has already completed it, or it was withdrawn."))
    return _permitted(session, user, rows)[0]


def _permitted(session: Session, user: User, rows: list[OpenTask]) -> tuple[OpenTask, User | None]:
    """The row `user` may act on, and whom they stand in for when it is by delegation (ACC-3)."""
    for row in rows:
        if _may_act(user, row):
            return row, None
    for delegator in active_delegators(session, user, now=clock.now()):
        for row in rows:
            if _may_act(delegator, row):
                return row, delegator
    raise PermissionDenied(N_("This task is not assigned to you."))


def _may_act(user: User, row: OpenTask) -> bool:
    if row.agency_id != user.agency_id:
        return False
    if row.claimed_by_id is not None and row.claimed_by_id != user.id:
        return False
    if row.assignee_id is not None:
        return row.assignee_id == user.id
    if row.role is None or Role(row.role) not in user.roles:
        return False
    return row.unit_id is None or row.unit_id == user.unit_id


def complete_task(
    session: Session,
    user: User,
    task_uuid: str,
    values: dict[str, Any],
    *,
    now: datetime,
    action: Callable[[OpenTask, dict[str, Any]], dict[str, Any]] | None = None,
) -> ProcessInstance:
    """Complete a user task with its cleaned form values; a stale or repeated submission is refused.

    `action` is what the step does to its document (sign, number, publish): run once the instance is locked
    and the task known to be open, in the same transaction, it returns the values to complete the task with."""
    row, instance, on_behalf_of = _task_and_locked_instance(session, user, task_uuid)
    context = ScriptContext(session, instance.agency_id, now)
    workflow = runtime.load(instance.state, definitions.load_specs(session, instance.spec_hash), script_engine(context))
    task = runtime.find_ready_user_task(workflow, task_uuid)
    if task is None:
        raise Conflict(N_("This task is no longer open: someone has already completed it, or it was withdrawn."))
    if action is not None:
        values = action(row, values)
    before = {key: task.data.get(key) for key in values}

    def act() -> None:
        task.set_data(**values)
        task.run()

    result = runtime.advance(workflow, act, now=now)
    event = history.NewEvent(
        "task_completed",
        user.username,
        task_uuid,
        row.bpmn_id,
        row.name,
        data_before=before,
        data_after=values,
        detail=f"on behalf of {on_behalf_of.username}" if on_behalf_of is not None else "",
    )
    _record(session, instance, result, context, [event], now, completed_by=user.username)
    return instance


def fire_timers(session: Session, instance_id: int, *, now: datetime) -> bool:
    """Fire whatever timers of the instance are due; a second run, or an early one, changes nothing."""
    instance = _locked(session, instance_id)
    if instance.status != InstanceStatus.RUNNING or instance.next_timer_at is None or instance.next_timer_at > now:
        return False
    context = ScriptContext(session, instance.agency_id, now)
    workflow = runtime.load(instance.state, definitions.load_specs(session, instance.spec_hash), script_engine(context))
    result = runtime.advance(workflow, workflow.refresh_timers, now=now)
    _record(session, instance, result, context, [history.NewEvent("timer_fired", SYSTEM)], now)
    return True


def retry_incident(
    session: Session, admin: User, instance_id: int, *, now: datetime, on_latest_version: bool = False
) -> ProcessInstance:
    """Run the failed step again: after the data it needs was fixed, or on the agency's fixed diagram."""
    if not admin.has_role(Role.ADMIN):
        raise PermissionDenied(N_("Only an administrator may retry a failed step."))
    instance = _locked(session, instance_id)
    if instance.agency_id != admin.agency_id:
        raise PermissionDenied(N_("This process belongs to another agency."))
    if instance.status != InstanceStatus.INCIDENT:
        raise Conflict(N_("This process has no failed step to retry."))
    context = ScriptContext(session, instance.agency_id, now)
    workflow = runtime.load(instance.state, definitions.load_specs(session, instance.spec_hash), script_engine(context))
    events = []
    target = _newer_version(session, instance) if on_latest_version else None
    if target is not None:
        events.append(history.NewEvent("migrated", admin.username, detail=version_detail(target)))
        instance.definition_id, instance.spec_hash = target.id, target.spec_hash

    def act() -> None:
        if target is not None:
            runtime.migrate(workflow, definitions.load_specs(session, target.spec_hash))
        runtime.retry_failed(workflow)

    result = runtime.advance(workflow, act, now=now)
    events.append(
        history.NewEvent("retried", admin.username, bpmn_id=instance.incident_task, detail=instance.incident_message)
    )
    _record(session, instance, result, context, events, now)
    return instance


def cancel_instance(session: Session, instance_id: int, *, actor: str, reason: str, now: datetime) -> bool:
    """Stop a process for good (a recalled document, OUT-14): its open tasks leave every inbox, its timers stop,
    its state and history stay for the auditors. False when it had already ended."""
    instance = _locked(session, instance_id)
    if instance.status in (InstanceStatus.COMPLETED, InstanceStatus.CANCELLED):
        return False
    session.execute(delete(OpenTask).where(OpenTask.instance_id == instance.id))
    instance.status, instance.completed_at, instance.updated_at = InstanceStatus.CANCELLED, now, now
    instance.next_timer_at = None
    chained = history.chain(instance, [history.NewEvent("cancelled", actor, detail=reason[:4000])], now)
    session.flush()
    session.execute(insert(HistoryEvent), [_values(row) for row in chained])
    return True


def version_detail(definition: ProcessDefinition) -> str:
    """What history records of a version: enough for an auditor to read and for replay to load its spec."""
    return json.dumps(
        {
            "process": definition.process_key,
            "version": definition.version,
            "scope": definition.scope,
            "spec_hash": definition.spec_hash,
        }
    )


def _newer_version(session: Session, instance: ProcessInstance) -> ProcessDefinition | None:
    """The newest version in the instance's own scope, if it is newer than the one the instance runs."""
    current = session.get(ProcessDefinition, instance.definition_id)
    if current is None:
        return None
    newest = definitions.latest_definition(session, current.scope, current.process_key, fall_back=False)
    return newest if newest is not None and newest.version > current.version else None


def due_instance_ids(session: Session, *, now: datetime) -> list[int]:
    """Running instances whose next timer is due: what the sweep re-queues when Redis lost the schedule."""
    query = select(ProcessInstance.id).where(
        ProcessInstance.status == InstanceStatus.RUNNING, ProcessInstance.next_timer_at <= now
    )
    return list(session.scalars(query))


def incidents(session: Session, agency_id: int) -> list[ProcessInstance]:
    query = (
        select(ProcessInstance)
        .where(ProcessInstance.agency_id == agency_id, ProcessInstance.status == InstanceStatus.INCIDENT)
        .order_by(ProcessInstance.updated_at.desc())
    )
    return list(session.scalars(query))


def claim_task(session: Session, user: User, task_uuid: str) -> None:
    """Take a role's task for oneself, so that others holding the role no longer see it as free."""
    row = task_for_user(session, user, task_uuid)
    if row.claimed_by_id == user.id:
        return
    for candidate in session.scalars(select(OpenTask).where(OpenTask.task_uuid == row.task_uuid)):
        candidate.claimed_by_id = user.id
    session.flush()


def release_task(session: Session, user: User, task_uuid: str) -> None:
    row = task_for_user(session, user, task_uuid)
    if row.claimed_by_id != user.id:
        raise Conflict(N_("You have not claimed this task."))
    for candidate in session.scalars(select(OpenTask).where(OpenTask.task_uuid == row.task_uuid)):
        candidate.claimed_by_id = None
    session.flush()


def history_of(session: Session, instance_id: int) -> list[HistoryEvent]:
    query = select(HistoryEvent).where(HistoryEvent.instance_id == instance_id)
    return list(session.scalars(query.order_by(HistoryEvent.seq)))


def has_taken_part(session: Session, user: User, instance_id: int) -> bool:
    """Whether `user` acted in the instance or may act on one of its open tasks."""
    acted = select(HistoryEvent.id).where(HistoryEvent.instance_id == instance_id, HistoryEvent.actor == user.username)
    if session.scalar(acted.limit(1)) is not None:
        return True
    rows = session.scalars(select(OpenTask).where(OpenTask.instance_id == instance_id))
    return any(_may_act(user, row) for row in rows)


def open_tasks_of(session: Session, instance_id: int) -> list[OpenTask]:
    return list(session.scalars(select(OpenTask).where(OpenTask.instance_id == instance_id).order_by(OpenTask.id)))


# --- recording an advance ---------------------------------------------------------------------------------


def _task_and_locked_instance(
    session: Session, user: User, task_uuid: str
) -> tuple[OpenTask, ProcessInstance, User | None]:
    """The open task `user` may act on and its instance, locked, in one round trip."""
    query = (
        select(OpenTask, ProcessInstance)
        .join(ProcessInstance, ProcessInstance.id == OpenTask.instance_id)
        .where(OpenTask.task_uuid == task_uuid)
        .with_for_update(of=ProcessInstance)
        .execution_options(populate_existing=True)
    )
    pairs = session.execute(query).all()
    if not pairs:
        raise Conflict(N_("This task is no longer open: someone has already completed it, or it was withdrawn."))
    row, on_behalf_of = _permitted(session, user, [row for row, _instance in pairs])
    return row, pairs[0][1], on_behalf_of


def _locked(session: Session, instance_id: int) -> ProcessInstance:
    """The instance row, locked until commit: concurrent advances of one instance run one after the other."""
    query = select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update()
    instance = session.scalars(query.execution_options(populate_existing=True)).first()
    if instance is None:
        raise NotFound(N_("No such process."))
    return instance


def _record(
    session: Session,
    instance: ProcessInstance,
    result: Advance,
    context: ScriptContext,
    events: list[history.NewEvent],
    now: datetime,
    completed_by: str = "",
) -> None:
    journal = list(context.journal)  # the helper answers of the advance itself, before projecting
    events = [replace(event, journal=journal) if event.kind in INPUT_KINDS else event for event in events]
    incident = result.incident
    rows: list[OpenTask] = []
    for opened in result.opened:
        projected, problem = _project(session, instance, opened, context, now)
        rows += projected
        incident = incident or problem
    closed = [task.task_uuid for task in result.closed]
    if closed:
        session.execute(
            delete(OpenTask).where(OpenTask.task_uuid.in_(closed)).execution_options(synchronize_session=False)
        )
    for task in result.closed:
        if not (completed_by and task.state == "COMPLETED" and events and events[0].task_uuid == task.task_uuid):
            events.append(
                history.NewEvent("task_closed", SYSTEM, task.task_uuid, task.bpmn_id, task.name, detail=task.state)
            )
    for opened in result.opened:
        assigned = ", ".join(sorted({_candidate_label(row) for row in rows if row.task_uuid == opened.task_uuid}))
        events.append(
            history.NewEvent("task_opened", SYSTEM, opened.task_uuid, opened.bpmn_id, opened.name, detail=assigned)
        )
    for thrown in result.events:
        events.append(
            history.NewEvent("event_thrown", SYSTEM, detail=f"{thrown.kind} {thrown.name} {thrown.code}".strip())
        )
    if incident is not None:
        events.append(history.NewEvent("incident", SYSTEM, bpmn_id=incident.bpmn_id, detail=incident.message))
    instance.state = result.state
    instance.revision += 1
    instance.updated_at = now
    previous_timer = instance.next_timer_at
    instance.next_timer_at = result.next_timer_at
    if incident is not None:
        instance.status = InstanceStatus.INCIDENT
        instance.incident_message, instance.incident_task = incident.message[:4000], incident.bpmn_id
    elif result.is_completed:
        instance.status, instance.completed_at = InstanceStatus.COMPLETED, now
        instance.incident_message = instance.incident_task = ""
    else:
        instance.status = InstanceStatus.RUNNING
        instance.incident_message = instance.incident_task = ""
    if result.is_completed:
        events.append(history.NewEvent("completed", SYSTEM))
        context.outbox.append({"kind": "completed"})
    chained = history.chain(instance, events, now)  # also moves the instance's chain head
    session.flush()  # one UPDATE of the instance row, then one multi-row INSERT each for inbox and history
    if rows:
        session.execute(insert(OpenTask), [_values(row) for row in rows])
    session.execute(insert(HistoryEvent), [_values(row) for row in chained])
    for item in context.outbox:
        for handler in _outbox_handlers.get(item.get("kind", "notice"), {}).values():
            handler(session, instance, item, now)
    context.outbox.clear()
    if instance.next_timer_at is not None and instance.next_timer_at != previous_timer:
        from app.engine.jobs import wake_instance

        enqueue_after_commit(session, wake_instance, instance.id, at=instance.next_timer_at)


def _values(row: Base) -> dict[str, Any]:
    """Column values of an unsaved row, for a bulk INSERT that needs no ids back."""
    return {column.key: getattr(row, column.key) for column in row.__table__.columns if column.key != "id"}


def _candidate_label(row: OpenTask) -> str:
    if row.assignee_id is not None:
        return f"user:{row.assignee_id}"
    return f"role:{row.role}" + (f"@unit:{row.unit_id}" if row.unit_id else "")


def _project(
    session: Session, instance: ProcessInstance, opened: OpenedTask, context: ScriptContext, now: datetime
) -> tuple[list[OpenTask], Incident | None]:
    """Inbox rows for a newly opened user task: its candidates, due time, priority and title."""
    env = environment(context.derived())
    values: dict[str, Any] = {}
    problem: Incident | None = None
    for key in ("assignee", "unit", "due", "priority", "title"):
        expression = opened.properties.get(key)
        if expression:
            try:
                values[key] = env.evaluate(expression, dict(opened.data))
            except Exception as error:
                problem = problem or Incident(opened.bpmn_id, f"{key}: {type(error).__name__}: {error}")
    base = {
        "instance_id": instance.id,
        "agency_id": instance.agency_id,
        "task_uuid": opened.task_uuid,
        "bpmn_id": opened.bpmn_id,
        "name": opened.name[:200],
        "form": opened.form,
        "priority": _priority(values.get("priority", opened.data.get("urgency", 0))),
        "due_at": _due(values.get("due")),
        "opened_at": now,
        "title": str(values.get("title") or opened.data.get("subject") or "")[:500],
    }
    assignees = values.get("assignee")
    if assignees:
        names = [assignees] if isinstance(assignees, str) else [str(name) for name in assignees]
        found = session.execute(  # ids only: loading whole users would also load their role grants
            select(User.id, User.username).where(User.username.in_(names), User.agency_id == instance.agency_id)
        ).all()
        missing = set(names) - {username for _id, username in found}
        if missing:
            problem = problem or Incident(
                opened.bpmn_id, f"assignee: no user {', '.join(sorted(missing))} in this agency"
            )
        return [OpenTask(**base, assignee_id=user_id) for user_id, _username in found], problem
    role = role_for_lane(opened.lane)
    if role is None:
        return [], problem or Incident(opened.bpmn_id, f"lane {opened.lane!r} names no role and no assignee is given")
    unit_id = None
    if values.get("unit"):
        unit_id = session.scalar(
            select(Unit.id).where(Unit.agency_id == instance.agency_id, Unit.code == str(values["unit"]))
        )
        if unit_id is None:
            problem = problem or Incident(opened.bpmn_id, f"unit: no unit {values['unit']} in this agency")
    return [OpenTask(**base, role=role.value, unit_id=unit_id)], problem


def _priority(value: Any) -> int:
    try:
        return max(0, min(4, int(value)))
    except (TypeError, ValueError):
        return 0


def _due(value: Any) -> datetime | None:
    """A due time from BPMN: an ISO instant, or a date meaning the end of that working day (17:00)."""
    if not value:
        return None
    text = str(value)
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(17), clock.VN).astimezone(UTC)
    return clock.parse_instant(text)


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    """Start data as recorded in history, exactly as the workflow received it: replay starts from it."""
    safe: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return safe


def visible_to(user: User, stand_ins: Sequence[User] = ()) -> ColumnElement[bool]:
    """A WHERE clause over OpenTask for the rows `user` may see: assigned, or a role they hold in scope, also
    for the people they stand in for by delegation."""
    return or_(*(_visible_to_one(person) for person in (user, *stand_ins)))


def _visible_to_one(user: User) -> ColumnElement[bool]:
    by_role = (
        OpenTask.assignee_id.is_(None)
        & OpenTask.role.in_([role.value for role in user.roles])
        & or_(OpenTask.unit_id.is_(None), OpenTask.unit_id == user.unit_id)
    )
    return (OpenTask.agency_id == user.agency_id) & or_(OpenTask.assignee_id == user.id, by_role)
