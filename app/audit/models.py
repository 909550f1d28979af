"""Signed checkpoints of every instance's chain head: they anchor histories against deletion and truncation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class Checkpoint(Base):
    """The heads of all chains and the instance count at one moment, MAC'd with a key the database never holds.

    Each checkpoint's MAC covers the previous one's, so editing or deleting one breaks the next; `prev_mac` is
    unique, so two workers writing at once cannot fork the chain (the second insert fails)."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    instance_count: Mapped[int] = mapped_column(Integer)
    event_count: Mapped[int] = mapped_column(Integer)
    heads_digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the uncompressed heads
    heads: Mapped[bytes] = mapped_column(LargeBinary)  # zlib of JSON [[instance_id, seq, head], …]
    prev_mac: Mapped[str] = mapped_column(String(64), unique=True)  # "" for the first
    mac: Mapped[str] = mapped_column(String(64))
