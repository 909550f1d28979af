"""The read side of documents: the incoming list of an agency, filtered and searched, with each document's step."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, column, exists, func, literal_column, or_, select, table, text, union
from sqlalchemy.orm import Session

from app import clock
from app.documents import search
from app.documents.models import IncomingDocument
from app.engine.models import HistoryEvent, InstanceStatus, OpenTask, ProcessInstance
from app.org.models import User

PER_PAGE = 50
_FTS_FLAG = "has_incoming_documents_fts"


class ListStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    DONE = "done"
    INCIDENT = "incident"
    LATE = "late"  # still running past the document's due date or a task's deadline


@dataclass(frozen=True)
class IncomingFilters:
    """What the clerk narrows the incoming list by; empty values do not filter."""

    date_from: date | None = None  # arrival, Vietnam dates, both ends included
    date_to: date | None = None
    number: str = ""  # the số đến, or part of the number and symbol
    organ: str = ""  # part of the issuing agency's name, diacritics ignored
    type_name: str = ""
    urgency: int | None = None
    status: ListStatus | None = None
    handler: int | None = None  # a user id: an open task theirs, or a task they completed
    participant: int | None = None  # scope of a person who sees only what they handle (not a viewer role)
    q: str = ""  # words of the trích yếu and the other registered text, diacritics ignored


@dataclass(frozen=True)
class IncomingRow:
    document: IncomingDocument
    status: str
    steps: list[str]


@dataclass(frozen=True)
class IncomingPage:
    rows: list[IncomingRow]
    total: int
    page: int
    per_page: int

    @property
    def page_count(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def incoming_list(
    session: Session,
    agency_id: int,
    *,
    filters: IncomingFilters = IncomingFilters(),
    now: datetime,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> IncomingPage:
    """One page of the agency's incoming documents matching `filters`, newest first, and their total (IN-7)."""
    conditions = _conditions(session, agency_id, filters, now)
    needs_instance = filters.status is not None
    total = _count(session, conditions, needs_instance=needs_instance)
    if total == 0:
        return IncomingPage([], 0, 1, per_page)
    page = min(max(page, 1), math.ceil(total / per_page))
    query = select(IncomingDocument)
    if needs_instance:
        query = query.join(ProcessInstance, ProcessInstance.id == IncomingDocument.instance_id)
    query = (
        query.where(*conditions)
        .order_by(IncomingDocument.arrival_at.desc(), IncomingDocument.arrival_number.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    documents = session.scalars(query).all()
    progress = _progress(session, [document.instance_id for document in documents if document.instance_id])
    rows = [IncomingRow(document, *progress.get(document.instance_id or 0, ("", []))) for document in documents]
    return IncomingPage(rows, total, page, per_page)


def incoming_count(
    session: Session, agency_id: int, *, filters: IncomingFilters = IncomingFilters(), now: datetime
) -> int:
    """How many of the agency's incoming documents match `filters`, in one query (a saved filter's count)."""
    conditions = _conditions(session, agency_id, filters, now)
    return _count(session, conditions, needs_instance=filters.status is not None)


def _count(session: Session, conditions: list[ColumnElement[bool]], *, needs_instance: bool) -> int:
    query = select(func.count()).select_from(IncomingDocument)
    if needs_instance:
        query = query.join(ProcessInstance, ProcessInstance.id == IncomingDocument.instance_id)
    return int(session.scalar(query.where(*conditions)) or 0)


def agency_people(session: Session, agency_id: int) -> list[tuple[int, str]]:
    """(id, full name) of the agency's enabled users, for the handler filter."""
    query = (
        select(User.id, User.full_name)
        .where(User.agency_id == agency_id, User.is_enabled.is_(True))
        .order_by(User.full_name, User.id)
    )
    return [(user_id, name) for user_id, name in session.execute(query)]


def _conditions(session: Session, agency_id: int, filters: IncomingFilters, now: datetime) -> list[ColumnElement[bool]]:
    document = IncomingDocument
    conditions: list[ColumnElement[bool]] = [document.agency_id == agency_id]
    if filters.date_from is not None:
        conditions.append(document.arrival_at >= _vietnam_midnight(filters.date_from))
    if filters.date_to is not None:
        conditions.append(document.arrival_at < _vietnam_midnight(filters.date_to + timedelta(days=1)))
    if filters.number.strip():
        number = filters.number.strip()
        by_symbol = _like(search.part_pattern(number, search.NUMBER_SYMBOL), number)
        if number.isascii() and number.isdigit() and len(number) <= 9:
            by_symbol = or_(document.arrival_number == int(number), by_symbol)
        conditions.append(by_symbol)
    if filters.organ.strip():
        conditions.append(_like(search.part_pattern(filters.organ, search.ORGAN), filters.organ))
    if filters.type_name:
        conditions.append(document.type_name == filters.type_name)
    if filters.urgency is not None:
        conditions.append(document.urgency == filters.urgency)
    if filters.status is not None:
        # An instance belongs to its document's agency; saying so lets PostgreSQL start from that agency's
        # instances instead of reading every instance of every agency.
        conditions += [ProcessInstance.agency_id == agency_id, _status_condition(filters.status, now)]
    for person in (filters.handler, filters.participant):
        if person is not None:
            conditions.append(_handled_by(agency_id, person))
    query_words = search.words(filters.q)
    if query_words:
        conditions.append(_matches(session, query_words))
    return conditions


def _vietnam_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=clock.VN)


def _status_condition(status: ListStatus, now: datetime) -> ColumnElement[bool]:
    if status is ListStatus.DONE:
        return ProcessInstance.status == InstanceStatus.COMPLETED
    if status is ListStatus.INCIDENT:
        return ProcessInstance.status == InstanceStatus.INCIDENT
    running = ProcessInstance.status == InstanceStatus.RUNNING
    if status is ListStatus.IN_PROGRESS:
        return running
    overdue_task = exists().where(
        OpenTask.instance_id == IncomingDocument.instance_id, OpenTask.due_at.is_not(None), OpenTask.due_at < now
    )
    return and_(running, or_(IncomingDocument.due_date < clock.local(now).date(), overdue_task))


def _handled_by(agency_id: int, user_id: int) -> ColumnElement[bool]:
    """Documents whose instance has an open task of the user (assigned or claimed) or one they completed."""
    username = select(User.username).where(User.id == user_id).scalar_subquery()
    instances = union(
        select(OpenTask.instance_id).where(OpenTask.assignee_id == user_id),
        select(OpenTask.instance_id).where(OpenTask.agency_id == agency_id, OpenTask.claimed_by_id == user_id),
        select(HistoryEvent.instance_id).where(HistoryEvent.actor == username, HistoryEvent.kind == "task_completed"),
    )
    return IncomingDocument.instance_id.in_(instances)


def _matches(session: Session, query_words: list[str]) -> ColumnElement[bool]:
    """Every word in search_text: FTS5 word prefixes on SQLite, substrings (trigram index) elsewhere."""
    if _has_fts(session):
        fts = table(search.FTS_TABLE, column("rowid"))
        match = literal_column(search.FTS_TABLE).op("MATCH")(search.fts_query(query_words))
        return IncomingDocument.id.in_(select(fts.c.rowid).where(match))
    return and_(*(_like(f"%{search.escape_like(word)}%", word) for word in query_words))


def _like(pattern: str, text: str) -> ColumnElement[bool]:
    """search_text LIKE `pattern` (ESCAPE '\\'), made from the user's `text`."""
    # Text without three letters or digits in a row gives the trigram index nothing to look up, and
    # PostgreSQL would read the whole index (a generic plan does, even where a custom plan would not): such
    # text is matched on an expression the index cannot serve, so the agency's rows are filtered instead.
    column = IncomingDocument.search_text
    target = column if search.has_trigram(text) else column.concat("")
    return target.like(pattern, escape="\\")


def _has_fts(session: Session) -> bool:
    """Whether this SQLite database has the FTS5 table, asked once per pooled connection."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return False
    if _FTS_FLAG not in connection.info:
        found = connection.execute(text("SELECT 1 FROM sqlite_master WHERE name = :name"), {"name": search.FTS_TABLE})
        connection.info[_FTS_FLAG] = found.first() is not None
    return bool(connection.info[_FTS_FLAG])


def _progress(session: Session, instance_ids: list[int]) -> dict[int, tuple[str, list[str]]]:
    """Status and open steps of the page's instances."""
    # A query of its own, not a join in the page's: PostgreSQL then limits the documents before it reads
    # any instance (joined, it read the instance of every match before sorting).
    query = (
        select(ProcessInstance.id, ProcessInstance.status, OpenTask.name)
        .outerjoin(OpenTask, OpenTask.instance_id == ProcessInstance.id)
        .where(ProcessInstance.id.in_(instance_ids))
        .order_by(ProcessInstance.id, OpenTask.id)
    )
    progress: dict[int, tuple[str, list[str]]] = {}
    for instance_id, status, name in session.execute(query) if instance_ids else []:
        _status, names = progress.setdefault(instance_id, (status, []))
        if name is not None and name not in names:
            names.append(name)
    return progress


def document_of_instance(session: Session, instance_id: int) -> IncomingDocument | None:
    """The incoming document a process instance handles, if any (shown above a task's form)."""
    return session.scalar(select(IncomingDocument).where(IncomingDocument.instance_id == instance_id))
