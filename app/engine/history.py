"""The keyed hash chain of each instance's history: every event carries the MAC of the one before it."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from app.engine.models import HistoryEvent, ProcessInstance
from app.errors import N_

GENESIS = "0" * 64


class HashScheme:
    """How an event's hash was made, stored beside it (`history_events.hash_scheme`)."""

    SHA256 = "sha256"  # before keying: anyone who can write the table can recompute it
    HMAC1 = "hmac1"  # HMAC-SHA256 with a key derived from AUDIT_SECRET, which the database never holds


_keys: dict[str, hmac.HMAC] = {}  # keyed once; each MAC copies the prepared state


def derive_key(secret: str, label: str) -> bytes:
    """A key for one purpose, so the chain key and the checkpoint key never sign each other's material."""
    return hmac.new(secret.encode("utf-8"), label.encode("utf-8"), hashlib.sha256).digest()


def configure(secret: str) -> None:
    """Take the installation's audit secret (called once by create_app; the engine reads no settings)."""
    for purpose, label in (("chain", "qlvb history v1"), ("checkpoint", "qlvb checkpoint v1")):
        _keys[purpose] = hmac.new(derive_key(secret, label), digestmod=hashlib.sha256)


def _mac(purpose: str, material: str) -> str:
    try:
        keyed = _keys[purpose].copy()
    except KeyError:
        raise RuntimeError("history.configure(AUDIT_SECRET) was not called") from None
    keyed.update(material.encode("utf-8"))
    return keyed.hexdigest()


def checkpoint_mac(material: str) -> str:
    """The MAC of a checkpoint: only a holder of AUDIT_SECRET can write one that verifies."""
    return _mac("checkpoint", material)


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


class RecordedEvent(Protocol):
    """What hashing reads: a HistoryEvent, or a plain row of its table (verifying in bulk skips the ORM)."""

    @property
    def instance_id(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def task_uuid(self) -> str: ...
    @property
    def bpmn_id(self) -> str: ...
    @property
    def task_name(self) -> str: ...
    @property
    def data_before(self) -> str: ...
    @property
    def data_after(self) -> str: ...
    @property
    def detail(self) -> str: ...
    @property
    def journal(self) -> str: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...
    @property
    def hash_scheme(self) -> str: ...


def canonical_json(value: Any) -> str:
    """Data as history keeps it. Key order is kept: replay feeds it back to SpiffWorkflow, whose stored
    deltas list keys in insertion order. The hash covers this exact text."""
    return json.dumps(value or {}, ensure_ascii=False, separators=(",", ":"), default=str)


def event_hash(event: RecordedEvent, scheme: str | None = None) -> str:
    """The event's hash in its scheme (keyed unless it was written before keying) over the previous hash and
    every recorded field, in a fixed order."""
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
    scheme = scheme or event.hash_scheme
    if scheme == HashScheme.SHA256:
        return hashlib.sha256(material.encode("utf-8")).hexdigest()
    if scheme == HashScheme.HMAC1:
        return _mac("chain", material)
    return ""  # an unknown scheme never matches


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
            hash_scheme=HashScheme.HMAC1,
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


def verify(instance_id: int, events: Sequence[RecordedEvent], head_hash: str | None = None) -> BrokenLink | None:
    """The first event whose hash, link or sequence does not hold; None when the chain is intact."""
    previous = GENESIS
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq:
            return BrokenLink(instance_id, expected_seq, N_("it is missing or out of order"))
        if event.prev_hash != previous:
            return BrokenLink(instance_id, event.seq, N_("it does not link to the event before it"))
        if not hmac.compare_digest(event_hash(event), event.hash):
            return BrokenLink(instance_id, event.seq, N_("its content was changed after it was written"))
        previous = event.hash
    if head_hash is not None and head_hash != (previous if events else "") and not (head_hash == "" and not events):
        return BrokenLink(instance_id, len(events) + 1, N_("events after it were deleted"))
    return None


def rekey(events: list[HistoryEvent]) -> str:
    """Re-hash one instance's verified chain with the key, in order; returns the new head."""
    previous = GENESIS
    for event in events:
        event.prev_hash = previous
        event.hash_scheme = HashScheme.HMAC1
        event.hash = event_hash(event)
        previous = event.hash
    return previous if events else ""
