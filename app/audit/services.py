"""Verifying history chains against the key and the signed checkpoints, and reading an instance's timeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import checkpoints
from app.audit.models import Checkpoint
from app.engine.history import BrokenLink, HashScheme, RecordedEvent, rekey, verify
from app.engine.models import HistoryEvent, ProcessInstance
from app.engine.replay import ReplayResult, replay
from app.engine.services import history_of
from app.errors import N_, Conflict, NotFound, PermissionDenied
from app.org.models import Role, User

AUDIT_ROLES = {Role.AUDITOR, Role.ADMIN}


STALE_CHECKPOINT = timedelta(days=2)


@dataclass(frozen=True)
class Verification:
    instances: int
    events: int
    broken: list[BrokenLink]
    unkeyed_events: int = 0  # hashed with plain SHA-256: anyone with write access could recompute them
    checkpoint_problems: list[str] = field(default_factory=list)
    weaknesses: list[str] = field(default_factory=list)
    checkpoint: Checkpoint | None = None  # the newest trusted checkpoint, checked against the database

    @property
    def is_clean(self) -> bool:
        return not (self.broken or self.unkeyed_events or self.checkpoint_problems or self.weaknesses)


def verify_all(session: Session, *, now: datetime) -> Verification:
    """Check every chain with its hash scheme, the checkpoint chain, and that the newest checkpoint's heads
    are all still there; events are streamed in (instance, seq) order, one instance at a time."""
    heads = dict(session.execute(select(ProcessInstance.id, ProcessInstance.last_event_hash)).all())
    instance_total = len(heads)
    chain = checkpoints.check_chain(session)
    problems = list(chain.problems)
    anchored: dict[int, tuple[int, str]] = {}
    if chain.latest is not None:
        unpacked = checkpoints.unpack_heads(chain.latest)
        if unpacked is None:
            problems.append(f"checkpoint #{chain.latest.id} holds heads other than the ones it signed")
        else:
            anchored = unpacked
    broken: list[BrokenLink] = []
    count = unkeyed = 0
    current: int | None = None
    batch: list[RecordedEvent] = []

    def flush() -> None:
        if current is None:
            return
        if current not in heads:  # instances are never deleted, even cancelled ones
            broken.append(BrokenLink(current, len(batch), N_("the instance was deleted; its history remains")))
            anchored.pop(current, None)
            return
        link = verify(current, batch, heads.pop(current))
        if link is None and current in anchored:
            link = _against_checkpoint(current, batch, *anchored.pop(current))
        anchored.pop(current, None)
        if link is not None:
            broken.append(link)

    # Plain rows, not ORM objects: building 200,000 of those would cost more than their MACs.
    table = HistoryEvent.__table__
    query = select(table).order_by(table.c.instance_id, table.c.seq).execution_options(yield_per=2000)
    for event in session.execute(query):
        count += 1
        if event.hash_scheme != HashScheme.HMAC1:
            unkeyed += 1
        if event.instance_id != current:
            flush()
            current, batch = event.instance_id, []
        batch.append(event)
    flush()
    for instance_id in heads:  # instances whose events were all deleted; every start writes one
        broken.append(BrokenLink(instance_id, 1, N_("all its events were deleted")))
        anchored.pop(instance_id, None)
    for instance_id, (seq, _head) in sorted(anchored.items()):
        broken.append(BrokenLink(instance_id, seq, N_("the instance was deleted with its history")))
    if chain.latest is not None and instance_total < chain.latest.instance_count:
        problems.append(
            f"{instance_total} instances, fewer than the {chain.latest.instance_count} "
            f"of checkpoint #{chain.latest.id}: instances were deleted"
        )
    return Verification(
        instance_total, count, broken, unkeyed, problems, _weaknesses(session, chain, now), chain.latest
    )


def _against_checkpoint(instance_id: int, events: Sequence[RecordedEvent], seq: int, head: str) -> BrokenLink | None:
    if seq == 0:
        return None
    if len(events) < seq:
        return BrokenLink(instance_id, len(events) + 1, N_("events signed by the last checkpoint were deleted"))
    if events[seq - 1].hash != head:
        return BrokenLink(instance_id, seq, N_("it is not the event signed by the last checkpoint"))
    return None


def _weaknesses(session: Session, chain: checkpoints.ChainCheck, now: datetime) -> list[str]:
    """Events after the newest checkpoint are protected by the keyed chain only: say when that lasts too long."""
    if chain.latest is None:
        oldest = session.scalar(select(func.min(HistoryEvent.at)))
        if oldest is not None and oldest < now - STALE_CHECKPOINT:
            return ["no checkpoint anchors the histories: run `flask audit checkpoint` (the worker does daily)"]
        return []
    newer = session.scalar(select(func.count()).select_from(HistoryEvent).where(HistoryEvent.at > chain.latest.at))
    if chain.latest.at < now - STALE_CHECKPOINT and newer:
        return [
            f"the newest checkpoint #{chain.latest.id} is older than 2 days and {newer} events came after it: "
            "is the worker running?"
        ]
    return []


def write_checkpoint(session: Session, *, now: datetime) -> Checkpoint:
    """Verify every chain against the previous checkpoint, then sign the current heads; a broken database is
    refused, so a checkpoint never seals tampering done since the last one."""
    result = verify_all(session, now=now)
    if result.broken or result.checkpoint_problems:
        raise Conflict(N_("The history does not verify: run `flask audit verify` and resolve it before a checkpoint."))
    return checkpoints.write(session, now=now)


def is_checkpoint_due(session: Session, *, now: datetime, interval: timedelta) -> bool:
    newest = checkpoints.latest(session)
    return newest is None or newest.at <= now - interval


def rekey_all(session: Session, *, now: datetime) -> int:
    """Re-hash every verified chain that still has unkeyed events with the key, then sign a checkpoint of the
    new heads; refused while any chain is broken (rekeying would launder the tampering)."""
    result = verify_all(session, now=now)
    if result.broken or result.checkpoint_problems:
        raise Conflict(N_("The history does not verify: run `flask audit verify` and resolve it before rekeying."))
    stale_ids = session.scalars(
        select(HistoryEvent.instance_id).where(HistoryEvent.hash_scheme != HashScheme.HMAC1).distinct()
    ).all()
    for instance_id in stale_ids:
        head = rekey(history_of(session, instance_id))
        instance = session.get(ProcessInstance, instance_id)
        if instance is not None:
            instance.last_event_hash = head
    session.flush()
    checkpoints.write(session, now=now)
    return len(stale_ids)


@dataclass(frozen=True)
class CheckpointMatch:
    checkpoint: Checkpoint | None
    is_covered: bool  # the instance existed at the checkpoint
    is_matching: bool


def match_checkpoint(session: Session, instance: ProcessInstance, events: list[HistoryEvent]) -> CheckpointMatch:
    """Whether the instance's history still holds the head the newest trusted checkpoint signed for it."""
    chain = checkpoints.check_chain(session)
    if chain.latest is None:
        return CheckpointMatch(None, False, False)
    anchored = checkpoints.unpack_heads(chain.latest)
    if anchored is None or chain.problems:
        return CheckpointMatch(chain.latest, True, False)
    if instance.id not in anchored:
        return CheckpointMatch(chain.latest, False, False)
    return CheckpointMatch(chain.latest, True, _against_checkpoint(instance.id, events, *anchored[instance.id]) is None)


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
    events = history_of(session, instance_id)
    return instance, events, verify(instance_id, events, instance.last_event_hash)


def replay_instance(session: Session, auditor: User, instance_id: int) -> ReplayResult:
    """Re-execute the instance's recorded inputs and compare with what is stored."""
    instance, events, _broken = timeline(session, auditor, instance_id)
    return replay(session, instance, events)


def replay_all(session: Session) -> list[tuple[int, ReplayResult]]:
    results = []
    for instance in session.scalars(select(ProcessInstance).order_by(ProcessInstance.id)):
        events = history_of(session, instance.id)
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
