"""The inbox read side: open tasks a person may act on, filtered and sorted, from the projection table only;
each person's saved filters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from app import clock
from app.documents import search
from app.documents.models import IncomingDocument
from app.engine.models import DEFAULT_SCOPE, OpenTask, ProcessDefinition, ProcessInstance
from app.engine.services import visible_to
from app.errors import N_, NotFound
from app.inbox.models import FilterPage, SavedFilter
from app.org.models import Agency, Role, User
from app.org.services import active_delegators


class DueWindow(StrEnum):
    """Deadline windows in Vietnam time; a late task is only in LATE, so the three never overlap."""

    LATE = "late"  # due before now
    TODAY = "today"  # not late yet, due before tonight's midnight
    WEEK = "week"  # not late yet, due before next Monday's midnight


class Ownership(StrEnum):
    CLAIMED = "claimed"  # a role's task this person claimed
    ASSIGNED = "assigned"  # given to this person by name
    SHARED = "shared"  # a task of a role they hold, claimed by no one


class InboxSort(StrEnum):
    PRIORITY = "priority"  # Hỏa tốc first, then the nearest deadline
    DEADLINE = "deadline"
    NEWEST = "newest"
    OLDEST = "oldest"


@dataclass(frozen=True)
class InboxFilters:
    """What a person narrows the inbox by; empty values do not filter."""

    is_urgent: bool = False  # priority 1 (Khẩn) and above
    due: DueWindow | None = None
    ownership: Ownership | None = None
    process_key: str = ""
    is_follow_up_due: bool = False  # the person's follow-up date has come
    q: str = ""  # part of the task name or the trích yếu; diacritics ignored for incoming documents


@dataclass(frozen=True)
class InboxRow:
    task: OpenTask
    is_claimed_by_me: bool


ORDERS: dict[InboxSort, tuple[ColumnElement[Any], ...]] = {
    InboxSort.PRIORITY: (
        OpenTask.priority.desc(),
        OpenTask.due_at.is_(None),
        OpenTask.due_at.asc(),
        OpenTask.opened_at.asc(),
    ),
    InboxSort.DEADLINE: (
        OpenTask.due_at.is_(None),
        OpenTask.due_at.asc(),
        OpenTask.priority.desc(),
        OpenTask.opened_at.asc(),
    ),
    InboxSort.NEWEST: (OpenTask.opened_at.desc(), OpenTask.id.desc()),
    InboxSort.OLDEST: (OpenTask.opened_at.asc(), OpenTask.id.asc()),
}


def inbox(
    session: Session,
    user: User,
    filters: InboxFilters = InboxFilters(),
    *,
    sort: InboxSort = InboxSort.PRIORITY,
    now: datetime | None = None,
    limit: int = 200,
) -> list[InboxRow]:
    """Tasks assigned to `user` or to a role they hold in scope, not claimed by another, matching `filters`."""
    now = now or clock.now()
    where = _conditions(user, filters, active_delegators(session, user, now=now), now)
    query = select(OpenTask).where(*where).order_by(*ORDERS[sort], OpenTask.id).limit(limit)
    rows = []
    seen: set[str] = set()
    for task in session.scalars(query):  # a task has one row per candidate: show it once
        if task.task_uuid not in seen:
            seen.add(task.task_uuid)
            rows.append(InboxRow(task, task.claimed_by_id == user.id))
    return rows


def count(session: Session, user: User, filters: InboxFilters = InboxFilters(), *, now: datetime | None = None) -> int:
    """How many tasks `inbox` would show without its limit."""
    return counts(session, user, [filters], now=now)[0]


def counts(session: Session, user: User, filters: Sequence[InboxFilters], *, now: datetime | None = None) -> list[int]:
    """The number of tasks each of `filters` finds: the delegations read once, then one count query per filter."""
    now = now or clock.now()
    stand_ins = active_delegators(session, user, now=now) if filters else []
    found = []
    for one in filters:
        query = select(func.count(func.distinct(OpenTask.task_uuid))).where(*_conditions(user, one, stand_ins, now))
        found.append(int(session.scalar(query) or 0))
    return found


def _conditions(
    user: User, filters: InboxFilters, stand_ins: Sequence[User], now: datetime
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        visible_to(user, stand_ins),
        or_(OpenTask.claimed_by_id.is_(None), OpenTask.claimed_by_id == user.id),
    ]
    if filters.is_urgent:
        conditions.append(OpenTask.priority >= 1)
    if filters.due is not None:
        conditions.append(_due_condition(filters.due, now))
    if filters.ownership is Ownership.CLAIMED:
        conditions.append(OpenTask.claimed_by_id == user.id)
    elif filters.ownership is Ownership.ASSIGNED:
        conditions.append(OpenTask.assignee_id == user.id)
    elif filters.ownership is Ownership.SHARED:
        conditions += [OpenTask.assignee_id.is_(None), OpenTask.claimed_by_id.is_(None)]
    if filters.process_key:
        conditions.append(
            exists().where(
                ProcessInstance.id == OpenTask.instance_id,
                ProcessDefinition.id == ProcessInstance.definition_id,
                ProcessDefinition.process_key == filters.process_key,
            )
        )
    if filters.is_follow_up_due:
        conditions += [OpenTask.follow_up_at.is_not(None), OpenTask.follow_up_at <= now]
    if filters.q.strip():
        conditions.append(_text_condition(user, filters.q.strip()))
    return conditions


def _due_condition(window: DueWindow, now: datetime) -> ColumnElement[bool]:
    if window is DueWindow.LATE:
        return and_(OpenTask.due_at.is_not(None), OpenTask.due_at < now)
    today = clock.local(now).date()
    days = 1 if window is DueWindow.TODAY else 7 - today.weekday()  # the week ends on Sunday night
    end = datetime.combine(today + timedelta(days=days), time(), clock.VN)
    return and_(OpenTask.due_at.is_not(None), OpenTask.due_at >= now, OpenTask.due_at < end)


def _text_condition(user: User, text: str) -> ColumnElement[bool]:
    """The text in the task's name or title, any case; or, without diacritics, every word of it in the
    registered text of the incoming document the task handles."""
    pattern = f"%{search.escape_like(text)}%"
    conditions = [OpenTask.name.ilike(pattern, escape="\\"), OpenTask.title.ilike(pattern, escape="\\")]
    words = search.words(text)
    if words:
        documents = select(IncomingDocument.instance_id).where(
            IncomingDocument.agency_id == user.agency_id, *(_search_text_has(word) for word in words)
        )
        conditions.append(OpenTask.instance_id.in_(documents))
    return or_(*conditions)


def _search_text_has(word: str) -> ColumnElement[bool]:
    # As in the incoming list: a word without three letters or digits in a row gives PostgreSQL's trigram
    # index nothing to look up, so it is matched on an expression the index cannot serve.
    column = IncomingDocument.search_text
    target = column if search.has_trigram(word) else column.concat("")
    return target.like(f"%{search.escape_like(word)}%", escape="\\")


def process_choices(session: Session, user: User) -> list[tuple[str, str]]:
    """(process key, name) of the processes deployed for the user's agency or by default, for the filter."""
    agency_code = select(Agency.code).where(Agency.id == user.agency_id).scalar_subquery()
    query = (
        select(ProcessDefinition.process_key, ProcessDefinition.name)
        .where(or_(ProcessDefinition.scope == agency_code, ProcessDefinition.scope == DEFAULT_SCOPE))
        # the agency's own newest version names the process; the default only where the agency has none
        .order_by(
            ProcessDefinition.process_key, ProcessDefinition.scope == DEFAULT_SCOPE, ProcessDefinition.version.desc()
        )
    )
    choices: dict[str, str] = {}
    for key, name in session.execute(query):
        choices.setdefault(key, name)
    return list(choices.items())


def saved_filters_of(session: Session, user: User, page: FilterPage) -> list[SavedFilter]:
    query = (
        select(SavedFilter)
        .where(SavedFilter.user_id == user.id, SavedFilter.page == page.value)
        .order_by(SavedFilter.position, SavedFilter.id)
    )
    return list(session.scalars(query))


def saved_filter_of(session: Session, user: User, filter_id: int) -> SavedFilter:
    """One of the user's own saved filters; someone else's is as absent as a deleted one."""
    saved = session.get(SavedFilter, filter_id)
    if saved is None or saved.user_id != user.id:
        raise NotFound(N_("No such saved filter."))
    return saved


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
