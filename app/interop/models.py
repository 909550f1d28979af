"""What the exchange layer keeps: the directory of agency codes (INT-3), packages waiting to leave through a
transport (retried with back-off by the worker), and packages that could not be taken in (quarantine)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class CodeKind(StrEnum):
    GOVERNMENT = "government"  # QĐ 28 Điều 10.2a: 000.00.12.H34
    OTHER = "other"  # QĐ 20/2020 Điều 5–6 forms (enterprises, other organisations), whitelisted by an administrator


class DirectoryEntry(Base):
    """One agency of the directory of mã định danh, and how its documents travel when it is not ours."""

    __tablename__ = "directory_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(250), default="")
    email: Mapped[str] = mapped_column(String(100), default="")
    telephone: Mapped[str] = mapped_column(String(20), default="")
    kind: Mapped[str] = mapped_column(String(20), default=CodeKind.GOVERNMENT)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # How packages reach it: "" = the installation's default (within when it is ours, else INTEROP_TRANSPORT);
    # "directory" or "http" (with the URL in endpoint) otherwise.
    transport: Mapped[str] = mapped_column(String(20), default="")
    endpoint: Mapped[str] = mapped_column(String(500), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(100), default="")


class PackageState(StrEnum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENT = "sent"  # handed to the axis, gateway folder or peer, which acknowledged it
    FAILED = "failed"  # gave up after the last attempt; an operator may send it again


class OutboundPackage(Base):
    """A package to hand to a transport after the transaction that made it commits: written with the step that
    caused it (publication, a status, a recall), so a lost Redis or a killed worker never loses it."""

    __tablename__ = "outbound_packages"
    __table_args__ = (Index("ix_outbound_packages_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # document | status
    transport: Mapped[str] = mapped_column(String(20))
    endpoint: Mapped[str] = mapped_column(String(500), default="")
    recipient_code: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)  # on whose behalf
    state: Mapped[str] = mapped_column(String(10), default=PackageState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QuarantineState(StrEnum):
    HELD = "held"
    RELEASED = "released"  # taken in after all (the directory or the installation changed)
    DISMISSED = "dismissed"  # an administrator decided it needs nothing more; the bytes are still kept


class QuarantinedPackage(Base):
    """A package that could not be taken in, kept byte for byte with the reason (translated when shown)."""

    __tablename__ = "quarantined_packages"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)  # the same bytes twice are one entry
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int] = mapped_column(Integer)
    transport: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(300), default="")  # file name, remote address, CLI
    reason: Mapped[str] = mapped_column(Text)  # the message id (English), translated when shown
    reason_params: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    sender_code: Mapped[str] = mapped_column(String(40), default="")
    recipient_codes: Mapped[str] = mapped_column(String(500), default="")  # comma-separated, as far as readable
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)  # ours it was for
    answer: Mapped[str] = mapped_column(Text, default="")  # the status sent back, or why none could be
    state: Mapped[str] = mapped_column(String(10), default=QuarantineState.HELD)
    times_received: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str] = mapped_column(String(100), default="")
