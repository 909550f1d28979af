"""The hash-chained history of each instance: every event carries the hash of the one before it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.engine.models import HistoryEvent, ProcessInstance
from app.errors import N_

GENESIS = "0" * 64


@dataclass(frozen=True)
class NewEvent:
    kind: str
    actor: str = ""
    task_uuid: str = ""
    bpmn_id: str = ""
    task_name: str = ""
    data_before: dict[str, Any] | None = None
    data_after: dict[str, Any] | None = None
    detail: str = ""
    journal: list[Any] | None = None


def canonical_json(value: Any) -> str:
    """Data as history keeps it. Key order is kept: replay feeds it back to SpiffWorkflow, whose stored
    deltas list keys in insertion order. The hash covers this exact text."""
    return json.dumps(value or {}, ensure_ascii=False, separators=(",", ":"), default=str)


def event_hash(event: HistoryEvent) -> str:
    """SHA-256 over the previous hash and every recorded field, in a fixed order."""
    material = "\x1f".join(
        [
            event.prev_hash,
            str(event.instance_id),
            str(event.seq),
            event.at.astimezone(UTC).isoformat(timespec="microseconds"),
            event.kind,
            event.actor,
            event.task_uuid,
            event.bpmn_id,
            event.task_name,
            event.data_before,
            event.data_after,
            event.detail,
        ]
        # Events written before helper journals existed hash as they did then.
        + ([event.journal] if event.journal not in ("", "[]") else [])
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def chain(instance: ProcessInstance, events: list[NewEvent], at: datetime) -> list[HistoryEvent]:
    """Rows for `events`, linked after the instance's last event; the caller holds the instance lock."""
    rows = []
    for new in events:
        row = HistoryEvent(
            instance_id=instance.id,
            seq=instance.event_count + 1,
            at=at,
            kind=new.kind,
            actor=new.actor,
            task_uuid=new.task_uuid,
            bpmn_id=new.bpmn_id,
            task_name=new.task_name,
            data_before=canonical_json(new.data_before),
            data_after=canonical_json(new.data_after),
            detail=new.detail,
            journal=json.dumps(new.journal or [], ensure_ascii=False, separators=(",", ":")),
            prev_hash=instance.last_event_hash or GENESIS,
        )
        row.hash = event_hash(row)
        instance.event_count = row.seq
        instance.last_event_hash = row.hash
        rows.append(row)
    return rows


@dataclass(frozen=True)
class BrokenLink:
    instance_id: int
    seq: int
    reason: str


def verify(instance_id: int, events: list[HistoryEvent], head_hash: str | None = None) -> BrokenLink | None:
    """The first event whose hash, link or sequence does not hold; None when the chain is intact."""
    previous = GENESIS
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return BrokenLink(instance_id, expected_seq, N_("it is missing or out of order"))
        if event.prev_hash != previous:
            return BrokenLink(instance_id, event.seq, N_("it does not link to the event before it"))
        if event_hash(event) != event.hash:
            return BrokenLink(instance_id, event.seq, N_("its content was changed after it was written"))
        previous = event.hash
    if head_hash is not None and head_hash != (previous if events else "") and not (head_hash == "" and not events):
        return BrokenLink(instance_id, len(events) + 1, N_("events after it were deleted"))
    return None
