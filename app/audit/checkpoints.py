"""Signed checkpoints: the heads of every chain and the instance count, MAC'd and chained one to the next."""

from __future__ import annotations

import hashlib
import hmac
import json
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import Checkpoint
from app.engine.history import checkpoint_mac
from app.engine.models import HistoryEvent, ProcessInstance

Head = tuple[int, int, str]  # instance id, seq of its last event, that event's hash


def material(checkpoint: Checkpoint) -> str:
    """What the MAC covers, in a fixed order; the heads through their digest."""
    return "\x1f".join(
        [
            "qlvb checkpoint v1",
            checkpoint.at.astimezone(UTC).isoformat(timespec="microseconds"),
            str(checkpoint.instance_count),
            str(checkpoint.event_count),
            checkpoint.heads_digest,
            checkpoint.prev_mac,
        ]
    )


def pack_heads(heads: list[Head]) -> tuple[bytes, str]:
    text = json.dumps(heads, separators=(",", ":")).encode("ascii")
    return zlib.compress(text, 6), hashlib.sha256(text).hexdigest()


def unpack_heads(checkpoint: Checkpoint) -> dict[int, tuple[int, str]] | None:
    """The checkpoint's heads by instance id; None when the blob does not match its signed digest."""
    try:
        text = zlib.decompress(checkpoint.heads)
    except zlib.error:
        return None
    if not hmac.compare_digest(hashlib.sha256(text).hexdigest(), checkpoint.heads_digest):
        return None
    return {int(instance_id): (int(seq), str(head)) for instance_id, seq, head in json.loads(text)}


def current_heads(session: Session) -> list[Head]:
    query = select(ProcessInstance.id, ProcessInstance.event_count, ProcessInstance.last_event_hash)
    return [(instance_id, seq, head) for instance_id, seq, head in session.execute(query.order_by(ProcessInstance.id))]


def latest(session: Session) -> Checkpoint | None:
    return session.scalar(select(Checkpoint).order_by(Checkpoint.id.desc()).limit(1))


def write(session: Session, *, now: datetime) -> Checkpoint:
    """Sign the current heads after the previous checkpoint (the caller has verified the chains)."""
    heads = current_heads(session)
    previous = latest(session)
    blob, digest = pack_heads(heads)
    checkpoint = Checkpoint(
        at=now,
        instance_count=len(heads),
        event_count=session.scalar(select(func.count()).select_from(HistoryEvent)) or 0,
        heads_digest=digest,
        heads=blob,
        prev_mac=previous.mac if previous is not None else "",
    )
    checkpoint.mac = checkpoint_mac(material(checkpoint))
    session.add(checkpoint)
    session.flush()
    return checkpoint


@dataclass(frozen=True)
class ChainCheck:
    count: int
    latest: Checkpoint | None  # the newest checkpoint whose MAC holds: its heads are trusted
    problems: list[str]


def check_chain(session: Session) -> ChainCheck:
    """Every checkpoint's MAC and its link to the one before; editing or deleting one breaks the next."""
    problems: list[str] = []
    previous_mac = ""
    trusted: Checkpoint | None = None
    count = 0
    for checkpoint in session.scalars(select(Checkpoint).order_by(Checkpoint.id)):
        count += 1
        if not hmac.compare_digest(checkpoint_mac(material(checkpoint)), checkpoint.mac):
            problems.append(f"checkpoint #{checkpoint.id} was forged or edited: its MAC does not hold")
        elif checkpoint.prev_mac != previous_mac:
            problems.append(f"checkpoint #{checkpoint.id} does not follow the one before it (one was deleted)")
            trusted = checkpoint
        else:
            trusted = checkpoint
        previous_mac = checkpoint.mac
    return ChainCheck(count, trusted, problems)
