"""The inbox read side: open tasks a person may act on, urgent first, from the projection table only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app import clock
from app.engine.models import OpenTask
from app.engine.services import visible_to
from app.org.models import Role, User
from app.org.services import active_delegators


@dataclass(frozen=True)
class InboxRow:
    task: OpenTask
    is_claimed_by_me: bool
    is_claimed_by_other: bool


def inbox(session: Session, user: User, *, limit: int = 200) -> list[InboxRow]:
    """Tasks assigned to `user` or to a role they hold in scope; Hỏa tốc first, then by deadline."""
    where = visible_to(user, active_delegators(session, user, now=clock.now()))
    query = (
        select(OpenTask)
        .where(where)
        .order_by(OpenTask.priority.desc(), OpenTask.due_at.is_(None), OpenTask.due_at, OpenTask.opened_at)
        .limit(limit)
    )
    rows = []
    seen: set[str] = set()
    for task in session.scalars(query):
        if task.task_uuid in seen:
            continue
        seen.add(task.task_uuid)
        rows.append(InboxRow(task, task.claimed_by_id == user.id, task.claimed_by_id not in (None, user.id)))
    return [row for row in rows if not row.is_claimed_by_other]


def count(session: Session, user: User) -> int:
    query = select(func.count(func.distinct(OpenTask.task_uuid))).where(
        visible_to(user, active_delegators(session, user, now=clock.now())),
        (OpenTask.claimed_by_id.is_(None)) | (OpenTask.claimed_by_id == user.id),
    )
    return int(session.scalar(query) or 0)


@dataclass(frozen=True)
class WatchRow:
    task: OpenTask
    is_late: bool


def late_or_due_soon(session: Session, leader: User, *, now: datetime, horizon: datetime) -> list[WatchRow]:
    """Open tasks of the leader's scope that are late or due before `horizon` (IN-12): the whole agency for
    its leaders, the unit for a unit leader."""
    query = select(OpenTask).where(
        OpenTask.agency_id == leader.agency_id, OpenTask.due_at.is_not(None), OpenTask.due_at <= horizon
    )
    if not leader.has_role(Role.LEADER, Role.DEPUTY_LEADER):
        unit_people = select(User.id).where(User.unit_id == leader.unit_id)
        query = query.where(or_(OpenTask.unit_id == leader.unit_id, OpenTask.assignee_id.in_(unit_people)))
    rows, seen = [], set()
    for task in session.scalars(query.order_by(OpenTask.due_at, OpenTask.priority.desc())):
        if task.task_uuid not in seen:
            seen.add(task.task_uuid)
            rows.append(WatchRow(task, task.due_at is not None and task.due_at < now))
    return rows
