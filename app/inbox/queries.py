"""The inbox read side: open tasks a person may act on, urgent first, from the projection table only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.engine.models import OpenTask
from app.engine.services import visible_to
from app.org.models import User


@dataclass(frozen=True)
class InboxRow:
    task: OpenTask
    is_claimed_by_me: bool
    is_claimed_by_other: bool


def inbox(session: Session, user: User, *, limit: int = 200) -> list[InboxRow]:
    """Tasks assigned to `user` or to a role they hold in scope; Hỏa tốc first, then by deadline."""
    where = visible_to(user)
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
        visible_to(user), (OpenTask.claimed_by_id.is_(None)) | (OpenTask.claimed_by_id == user.id)
    )
    return int(session.scalar(query) or 0)
