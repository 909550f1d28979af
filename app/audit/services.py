"""Verifying history chains and reading an instance's timeline."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine.history import BrokenLink, verify
from app.engine.models import HistoryEvent, ProcessInstance
from app.engine.replay import ReplayResult, replay
from app.errors import N_, NotFound, PermissionDenied
from app.org.models import Role, User

AUDIT_ROLES = {Role.AUDITOR, Role.ADMIN}


@dataclass(frozen=True)
class Verification:
    instances: int
    events: int
    broken: list[BrokenLink]


def verify_all(session: Session) -> Verification:
    """Check every instance's chain; events are streamed in (instance, seq) order, one instance at a time."""
    heads = dict(session.execute(select(ProcessInstance.id, ProcessInstance.last_event_hash)).all())
    instance_total = len(heads)
    broken: list[BrokenLink] = []
    count = 0
    current: int | None = None
    batch: list[HistoryEvent] = []

    def flush() -> None:
        if current is not None:
            link = verify(current, batch, heads.pop(current, None))
            if link is not None:
                broken.append(link)

    query = select(HistoryEvent).order_by(HistoryEvent.instance_id, HistoryEvent.seq).execution_options(yield_per=1000)
    for event in session.scalars(query):
        count += 1
        if event.instance_id != current:
            flush()
            current, batch = event.instance_id, []
        batch.append(event)
    flush()
    for instance_id, head in heads.items():  # instances whose events were all deleted
        if head:
            broken.append(BrokenLink(instance_id, 1, N_("all its events were deleted")))
    return Verification(instance_total, count, broken)


def timeline(
    session: Session, auditor: User, instance_id: int
) -> tuple[ProcessInstance, list[HistoryEvent], BrokenLink | None]:
    if not auditor.roles & AUDIT_ROLES:
        raise PermissionDenied(N_("Only auditors and administrators see process timelines."))
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(N_("No such process."))
    if instance.agency_id != auditor.agency_id:
        raise PermissionDenied(N_("This process belongs to another agency."))
    events = list(
        session.scalars(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id).order_by(HistoryEvent.seq))
    )
    return instance, events, verify(instance_id, events, instance.last_event_hash)


def replay_instance(session: Session, auditor: User, instance_id: int) -> ReplayResult:
    """Re-execute the instance's recorded inputs and compare with what is stored."""
    instance, events, _broken = timeline(session, auditor, instance_id)
    return replay(session, instance, events)


def replay_all(session: Session) -> list[tuple[int, ReplayResult]]:
    results = []
    for instance in session.scalars(select(ProcessInstance).order_by(ProcessInstance.id)):
        events = list(
            session.scalars(
                select(HistoryEvent).where(HistoryEvent.instance_id == instance.id).order_by(HistoryEvent.seq)
            )
        )
        results.append((instance.id, replay(session, instance, events)))
    return results


def instances(session: Session, auditor: User, limit: int = 200) -> list[ProcessInstance]:
    if not auditor.roles & AUDIT_ROLES:
        raise PermissionDenied(N_("Only auditors and administrators see process timelines."))
    query = (
        select(ProcessInstance)
        .where(ProcessInstance.agency_id == auditor.agency_id)
        .order_by(ProcessInstance.updated_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
