"""Completing a task through its form (the form frozen with the process version); notifications."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app import clock
from app.documents import outgoing
from app.documents.models import Delivery, DeliveryEvent, ExchangeStatus, OutgoingDocument, ReceivedDocument
from app.documents.services import Upload
from app.engine import definitions, forms
from app.engine import services as engine
from app.engine.models import OpenTask, ProcessInstance
from app.errors import N_, NotFound, PermissionDenied
from app.inbox.models import Notification
from app.jobs import enqueue_after_commit
from app.org.models import Role, Unit, User
from app.org.roles import role_for_lane
from app.org.services import holders


def task_form(session: Session, user: User, task_uuid: str) -> tuple[OpenTask, dict[str, Any]]:
    """The open task `user` may act on and its form definition."""
    task = engine.task_for_user(session, user, task_uuid)
    definition = session.scalar(
        select(definitions.ProcessDefinition)
        .join(ProcessInstance, ProcessInstance.definition_id == definitions.ProcessDefinition.id)
        .where(ProcessInstance.id == task.instance_id)
    )
    assert definition is not None
    return task, definitions.form_of(definition, task.form)


@dataclass(frozen=True)
class Step:
    """A completed step as the next handlers read it: who, when, and what they wrote, with field labels."""

    name: str
    actor: str
    at: datetime
    entries: list[tuple[str, str]]


def route_so_far(session: Session, instance_id: int, definition_id: int, locale: str) -> list[Step]:
    """What was decided before this task (directives, coordinators' opinions) for the person acting now (IN-11)."""
    definition = session.get(definitions.ProcessDefinition, definition_id)
    labels: dict[str, str] = {}
    choices: dict[tuple[str, str], str] = {}  # a select's stored value → its label, as the person chose it
    if definition is not None:
        for form in json.loads(definition.forms_json).values():
            for field in form.get("fields", []):
                labels.setdefault(field["name"], forms.text(field.get("label", field["name"]), locale))
                for choice in forms.static_choices(field, locale):
                    choices.setdefault((field["name"], choice.value), choice.label)
    instance = session.get(ProcessInstance, instance_id)
    agency_users = select(User.username, User.full_name).where(
        User.agency_id == (instance.agency_id if instance else -1)
    )
    names = {username: full_name for username, full_name in session.execute(agency_users)}
    steps = []
    for event in engine.history_of(session, instance_id):
        if event.kind != "task_completed":
            continue
        data = json.loads(event.data_after)
        entries = [
            (
                labels.get(key, key),
                ", ".join(names.get(str(v), str(v)) for v in value)
                if isinstance(value, list)
                else choices.get((key, str(value))) or names.get(str(value), str(value)),
            )
            for key, value in data.items()
            if value not in (None, "", [])
        ]
        steps.append(Step(event.task_name, names.get(event.actor, event.actor), event.at, entries))
    return steps


def submit_task(
    session: Session,
    user: User,
    task_uuid: str,
    raw: Mapping[str, Any],
    *,
    locale: str,
    now: Any,
    files: Mapping[str, list[Upload]] | None = None,
    signing_secret: str = "",
) -> ProcessInstance:
    """Validate the submission against the task's form on the server, then advance the process; a form that
    names an action (sign, publish…) has it done to the document in the same transaction."""
    task, form = task_form(session, user, task_uuid)
    values = forms.clean_submission(form, raw, forms.options_for(session, user.agency_id, locale), locale)
    name = form.get("action")
    if not name:
        return engine.complete_task(session, user, task.task_uuid, values, now=now)
    step_input = outgoing.StepInput(
        files={f["name"]: list((files or {}).get(f["name"], [])) for f in form["fields"] if f["type"] == "file"},
        secrets={f["name"]: str(raw.get(f["name"]) or "") for f in form["fields"] if f["type"] == "password"},
        signing_secret=signing_secret,
    )

    def act(row: OpenTask, cleaned: dict[str, Any]) -> dict[str, Any]:
        return outgoing.perform(str(name), session, user, row, cleaned, step_input, now)

    return engine.complete_task(session, user, task.task_uuid, values, now=now, action=act)


def deliver_notice(
    session: Session, instance: ProcessInstance, recipients: list[str], message: str, now: datetime, *, mail: bool
) -> list[Notification]:
    """Notifications from a diagram's notify(...): to usernames, role names or "role@UNIT" of the agency (IN-14)."""
    users: dict[int, User] = {}
    for recipient in recipients:
        role_name, _, unit = recipient.partition("@")
        role = role_for_lane(role_name)
        if role is not None:
            found = holders(session, instance.agency_id, role, unit or None)
        else:
            found = list(
                session.scalars(select(User).where(User.username == recipient, User.agency_id == instance.agency_id))
            )
        users.update({user.id: user for user in found})
    link = _link(instance)
    urgent = any(
        task.priority >= 1 for task in session.scalars(select(OpenTask).where(OpenTask.instance_id == instance.id))
    )
    notices = [
        Notification(
            user_id=user.id,
            agency_id=instance.agency_id,
            message=message,
            link=link,
            instance_id=instance.id,
            is_urgent=urgent,
            created_at=now,
        )
        for user in users.values()
    ]
    return _store_notices(session, notices, list(users.values()), mail=mail)


def _link(instance: ProcessInstance) -> str:
    kind, _, identifier = instance.business_key.partition(":")
    return f"/documents/incoming/{identifier}" if kind == "incoming" and identifier.isdigit() else "/inbox/"


def unread_count(session: Session, user: User) -> int:
    query = (
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )
    return int(session.scalar(query) or 0)


def notifications_of(session: Session, user: User, *, limit: int = 100) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id).order_by(Notification.created_at.desc())
    return list(session.scalars(query.limit(limit)))


def mark_read(session: Session, user: User, *, now: datetime) -> None:
    session.execute(
        update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=now)
    )


WATCHER_ROLES = (Role.LEADER, Role.DEPUTY_LEADER, Role.UNIT_LEADER)


def remind(session: Session, leader: User, task_uuid: str, *, now: datetime) -> list[Notification]:
    """A leader chases an open task in their scope: its holders get a notification (IN-12)."""
    if not leader.has_role(*WATCHER_ROLES):
        raise PermissionDenied(N_("Only leaders send reminders."))
    rows = list(session.scalars(select(OpenTask).where(OpenTask.task_uuid == task_uuid)))
    if not rows or rows[0].agency_id != leader.agency_id:
        raise NotFound(N_("No such open task."))
    task = rows[0]
    instance = session.get(ProcessInstance, task.instance_id)
    assert instance is not None
    recipients = []
    for row in rows:
        assignee = session.get(User, row.assignee_id) if row.assignee_id is not None else None
        if assignee is not None:
            recipients.append(assignee.username)
        elif row.unit_id is not None:
            recipients.append(f"{row.role}@{_unit_code(session, row.unit_id)}")
        else:
            recipients.append(str(row.role))
    due = f" (hạn {clock.local(task.due_at):%d/%m/%Y %H:%M})" if task.due_at else ""
    message = f"{leader.full_name} đề nghị khẩn trương xử lý: {task.name} — {task.title}{due}"
    return deliver_notice(session, instance, recipients, message, now, mail=False)


def _unit_code(session: Session, unit_id: int) -> str:
    unit = session.get(Unit, unit_id)
    return unit.code if unit else ""


def set_follow_up(session: Session, user: User, task_uuid: str, when: datetime | None) -> None:
    """A person's own reminder date on a task they may act on (Camunda's follow-up date)."""
    row = engine.task_for_user(session, user, task_uuid)
    for candidate in session.scalars(select(OpenTask).where(OpenTask.task_uuid == row.task_uuid)):
        candidate.follow_up_at = when
    session.flush()


def _tell(
    session: Session, agency_id: int, role: Role, message: str, link: str, *, urgent: bool, now: datetime, mail: bool
) -> list[Notification]:
    users = holders(session, agency_id, role, None)
    notices = [
        Notification(user_id=user.id, agency_id=agency_id, message=message, link=link, is_urgent=urgent, created_at=now)
        for user in users
    ]
    return _store_notices(session, notices, users, mail=mail)


def _store_notices(
    session: Session, notices: list[Notification], users: list[User], *, mail: bool
) -> list[Notification]:
    session.add_all(notices)
    session.flush()
    if mail:
        from app.inbox.jobs import mail_notification

        for notice, user in zip(notices, users, strict=True):
            if user.email:
                enqueue_after_commit(session, mail_notification, notice.id)
    return notices


def tell_clerks_of_arrival(session: Session, received: ReceivedDocument, now: datetime, *, mail: bool) -> None:
    """A document arrived from another agency: its clerks are told, urgent ones flagged (IN-1, IN-7)."""
    message = f"Văn bản điện tử mới từ {received.sender_name}: {received.number_symbol} – {received.subject}"
    link = f"/exchange/received/{received.id}"
    _tell(session, received.agency_id, Role.CLERK, message, link, urgent=received.urgency >= 1, now=now, mail=mail)


REPORTED_TO_SENDER = {ExchangeStatus.RETURNED: "trả lại", ExchangeStatus.RECALL_REFUSED: "từ chối thu hồi"}


def tell_sender_of_status(session: Session, event: DeliveryEvent, now: datetime, *, mail: bool) -> None:
    """A recipient returned a document or refused a recall: the sender's clerks are told, with the reason (IN-2)."""
    status = ExchangeStatus(event.status)
    if status not in REPORTED_TO_SENDER:
        return
    delivery = session.get(Delivery, event.delivery_id)
    assert delivery is not None
    message = (
        f"{delivery.recipient_name} {REPORTED_TO_SENDER[status]} văn bản {delivery.number_symbol}"
        f" – {delivery.subject}: {event.note}"
    )
    _tell(session, delivery.sender_agency_id, Role.CLERK, message, "/exchange/sent", urgent=True, now=now, mail=mail)


def tell_units_of_publication(
    session: Session, document: OutgoingDocument, unit_codes: list[str], now: datetime, *, mail: bool
) -> None:
    """A document published to units of the agency: their leaders and people are told (OUT-12)."""
    units = session.scalars(select(Unit.id).where(Unit.agency_id == document.agency_id, Unit.code.in_(unit_codes)))
    people = list(session.scalars(select(User).where(User.unit_id.in_(list(units)), User.is_enabled.is_(True))))
    message = f"Văn bản {document.number_symbol} ({document.type_name}) được ban hành: {document.subject}"
    link = f"/outgoing/{document.id}"
    notices = [
        Notification(
            user_id=user.id,
            agency_id=document.agency_id,
            message=message,
            link=link,
            is_urgent=document.urgency >= 1,
            created_at=now,
        )
        for user in people
    ]
    _store_notices(session, notices, people, mail=mail)


def tell_clerks_of_recall(session: Session, received: ReceivedDocument, now: datetime, *, mail: bool) -> None:
    """A sender wants a document back (OUT-14): the clerks confirm or refuse."""
    message = f"{received.sender_name} đề nghị thu hồi văn bản {received.number_symbol}: {received.recall_note}"
    link = f"/exchange/received/{received.id}"
    _tell(session, received.agency_id, Role.CLERK, message, link, urgent=True, now=now, mail=mail)
