"""Registers (sổ) with their gapless counters, incoming documents and their attachments."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime


class Register(Base):
    """A sổ of one agency for one kind and year; next_number is taken under the row lock (IN-5, OUT-8)."""

    __tablename__ = "registers"
    __table_args__ = (UniqueConstraint("agency_id", "kind", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    kind: Mapped[str] = mapped_column(String(20))  # incoming | outgoing
    year: Mapped[int] = mapped_column(Integer)
    next_number: Mapped[int] = mapped_column(Integer, default=1)


class IncomingDocument(Base):
    """Registration data of Nghị định 30/2020 Phụ lục VI Part II (names follow its English column names)."""

    __tablename__ = "incoming_documents"
    __table_args__ = (
        UniqueConstraint("register_id", "arrival_number"),
        # The incoming list of one agency, newest first: alone, by urgency, by type (counts read the index only).
        Index("ix_incoming_documents_agency_arrival", "agency_id", "arrival_at"),
        Index("ix_incoming_documents_agency_urgency", "agency_id", "urgency", "arrival_at"),
        Index("ix_incoming_documents_agency_type", "agency_id", "type_name", "arrival_at"),
        # PostgreSQL: one GIN over the agency (btree_gin) and the trigrams (pg_trgm) of search_text, so a
        # search reads only that agency's matches. SQLite searches an FTS5 table instead and keeps an empty
        # stand-in of this index (WHERE 0) so the schema still matches the models.
        Index(
            "ix_incoming_documents_search_text",
            "agency_id",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))  # indexed first in the list's indexes
    register_id: Mapped[int] = mapped_column(ForeignKey("registers.id"))
    arrival_number: Mapped[int] = mapped_column(Integer)  # số đến
    arrival_at: Mapped[datetime] = mapped_column(UTCDateTime)
    organ_name: Mapped[str] = mapped_column(String(200))  # issuing agency
    organ_code: Mapped[str] = mapped_column(String(13), default="", server_default="")  # its mã định danh
    document_code: Mapped[str] = mapped_column(String(60), default="", server_default="")  # DOC-5 identifier
    code_number: Mapped[str] = mapped_column(String(11))
    code_notation: Mapped[str] = mapped_column(String(30))
    issued_date: Mapped[date] = mapped_column(Date)
    type_name: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(500))  # trích yếu
    urgency: Mapped[int] = mapped_column(Integer, default=0)  # 0 Thường, 1 Khẩn, 2 Thượng khẩn, 3 Hỏa tốc
    page_amount: Mapped[int] = mapped_column(Integer, default=1)
    language: Mapped[str] = mapped_column(String(30), default="Tiếng Việt", server_default="Tiếng Việt")
    received_via: Mapped[str] = mapped_column(String(30), default="", server_default="")
    signer_position: Mapped[str] = mapped_column(String(100), default="")
    signer_name: Mapped[str] = mapped_column(String(50), default="")
    due_date: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(500), default="")
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")  # unaccented, lower case
    paper_holder: Mapped[str] = mapped_column(String(200), default="", server_default="")  # IN-13
    is_paper: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # digitised (IN-4)
    extra_json: Mapped[str] = mapped_column(Text, default="{}")  # fields an agency added to its form
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    registered_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    attachments: Mapped[list[Attachment]] = relationship(back_populates="document", order_by="Attachment.id")

    @property
    def number_symbol(self) -> str:
        return f"{self.code_number}/{self.code_notation}" if self.code_number else self.code_notation


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("incoming_documents.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(100))
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    document: Mapped[IncomingDocument] = relationship(back_populates="attachments")


class ExchangeStatus(StrEnum):
    """Where a sent document stands at one recipient: the status codes of QCVN 102:2016 (domain.md §2.6), plus
    `00` for "sent, no answer yet" (the standard uses 01 for both the sender's and the receiver's first state)."""

    SENT = "00"
    ARRIVED = "01"
    RETURNED = "02"
    ACCEPTED = "03"
    ASSIGNED = "04"
    IN_PROGRESS = "05"
    COMPLETED = "06"
    RECALL_REQUESTED = "13"
    RECALL_ACCEPTED = "15"
    RECALL_REFUSED = "16"


class Delivery(Base):
    """One document sent to one recipient agency, and where it stands there (OUT-13, OUT-16)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_sender_sent", "sender_agency_id", "sent_at"),
        Index("ix_deliveries_document_recipient", "document_id", "recipient_code"),  # statuses from outside
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)  # the package's id, the same at both ends
    sender_agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    recipient_code: Mapped[str] = mapped_column(String(40))  # 13 for government codes; QĐ 20/2020 forms longer
    recipient_name: Mapped[str] = mapped_column(String(200))
    recipient_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))  # within the installation
    transport: Mapped[str] = mapped_column(String(20))
    number_symbol: Mapped[str] = mapped_column(String(42))
    subject: Mapped[str] = mapped_column(String(500))
    urgency: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(2), default=ExchangeStatus.SENT)
    status_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_note: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_by: Mapped[str] = mapped_column(String(100))
    outgoing_id: Mapped[int | None] = mapped_column(ForeignKey("outgoing_documents.id"), index=True)
    # When the sender starts to worry that the recipient has not taken it in (OUT-13; the time is the diagram's).
    flag_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Mã định danh văn bản (DocumentId) the statuses of an outside recipient refer to.
    document_id: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # When a transport outside the installation acknowledged the package (QĐ 28: the time of sending), and why
    # it has not yet.
    handed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    transport_note: Mapped[str] = mapped_column(Text, default="", server_default="")

    events: Mapped[list[DeliveryEvent]] = relationship(order_by="DeliveryEvent.id")


class DeliveryEvent(Base):
    """Each status a recipient reported, with its time (ISO 8601, shown in Vietnam time) and note."""

    __tablename__ = "delivery_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), index=True)
    status: Mapped[str] = mapped_column(String(2))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    reported_by: Mapped[str] = mapped_column(String(200), default="")


class ReceivedState(StrEnum):
    PENDING = "pending"  # waiting for the clerk's check (IN-1)
    RETURNED = "returned"  # sent back with a reason (IN-2)
    ACCEPTED = "accepted"  # registered as an incoming document (IN-3, IN-5)
    RECALLED = "recalled"  # the sender recalled it and the clerk confirmed (OUT-14)


class ReceivedDocument(Base):
    """An electronic document that arrived for an agency and waits for its clerk to accept or return it."""

    __tablename__ = "received_documents"
    __table_args__ = (
        UniqueConstraint("agency_id", "message_id"),  # the same package twice is one document
        Index("ix_received_documents_agency_state", "agency_id", "state", "received_at"),
        Index("ix_received_documents_sender_document", "sender_code", "document_id"),  # recalls from outside
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    message_id: Mapped[str] = mapped_column(String(64))
    transport: Mapped[str] = mapped_column(String(20))
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))  # the sender's row, within
    document_id: Mapped[str] = mapped_column(String(100), default="", server_default="")  # the sender's DocumentId
    sender_code: Mapped[str] = mapped_column(String(40))
    sender_name: Mapped[str] = mapped_column(String(200))
    number_symbol: Mapped[str] = mapped_column(String(42))
    subject: Mapped[str] = mapped_column(String(500))
    urgency: Mapped[int] = mapped_column(Integer, default=0)
    header_json: Mapped[str] = mapped_column(Text)  # the registration fields the package carried
    state: Mapped[str] = mapped_column(String(20), default=ReceivedState.PENDING)
    last_status: Mapped[str] = mapped_column(String(2), default=ExchangeStatus.ARRIVED)  # last one reported back
    note: Mapped[str] = mapped_column(Text, default="")  # the reason of a return
    recall_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the sender asks it back (OUT-14)
    recall_note: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    incoming_document_id: Mapped[int | None] = mapped_column(ForeignKey("incoming_documents.id"), index=True)

    files: Mapped[list[ReceivedFile]] = relationship(order_by="ReceivedFile.id")


class ReceivedFile(Base):
    """A file of a received document, kept as it came."""

    __tablename__ = "received_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_id: Mapped[int] = mapped_column(ForeignKey("received_documents.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class OutgoingState(StrEnum):
    DRAFTING = "drafting"  # from the first upload until the final signature
    SIGNED = "signed"  # signed, waiting for the clerk's number, seal and publication
    PUBLISHED = "published"
    RECALLED = "recalled"
    CANCELLED = "cancelled"


class OutgoingDocument(Base):
    """A document the agency drafts, signs, numbers and publishes (Phụ lục VI Part I)."""

    __tablename__ = "outgoing_documents"
    __table_args__ = (
        UniqueConstraint("register_id", "number"),  # gapless and unique within a register's year (OUT-8)
        Index("ix_outgoing_documents_agency_created", "agency_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))  # the drafting unit
    drafter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    type_name: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(500))
    urgency: Mapped[int] = mapped_column(Integer, default=0)
    due_date: Mapped[date | None] = mapped_column(Date)  # the date recipients are asked to answer by (OUT-12)
    recipients_json: Mapped[str] = mapped_column(Text, default="[]")  # agency codes
    internal_units_json: Mapped[str] = mapped_column(Text, default="[]")  # unit codes of the agency
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("incoming_documents.id"))  # IN-11
    state: Mapped[str] = mapped_column(String(20), default=OutgoingState.DRAFTING)
    register_id: Mapped[int | None] = mapped_column(ForeignKey("registers.id"))
    number: Mapped[int | None] = mapped_column(Integer)
    code_number: Mapped[str] = mapped_column(String(11), default="")
    code_notation: Mapped[str] = mapped_column(String(30), default="")
    document_code: Mapped[str] = mapped_column(String(60), default="")  # DOC-5 identifier
    issued_date: Mapped[date | None] = mapped_column(Date)
    signer_name: Mapped[str] = mapped_column(String(50), default="")
    signer_position: Mapped[str] = mapped_column(String(100), default="")
    page_amount: Mapped[int] = mapped_column(Integer, default=1)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    versions: Mapped[list[DraftVersion]] = relationship(order_by="DraftVersion.id")

    @property
    def number_symbol(self) -> str:
        return f"{self.code_number}/{self.code_notation}" if self.code_number else ""


class FileRole(StrEnum):
    DRAFT = "draft"  # the document itself; the latest one is what is reviewed and signed
    SUBMISSION = "submission"  # phiếu trình (OUT-2)
    APPENDIX = "appendix"  # an appendix in its own file (OUT-9)
    SIGNED = "signed"  # the document as the final signer signed it
    PUBLISHED = "published"  # numbered, dated and sealed: what recipients receive


class DraftVersion(Base):
    """Every file of an outgoing document as uploaded or produced, never overwritten (OUT-7)."""

    __tablename__ = "draft_versions"
    __table_args__ = (UniqueConstraint("document_id", "role", "version", "file_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("outgoing_documents.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, … per role
    file_name: Mapped[str] = mapped_column(String(100))
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    uploaded_by: Mapped[str] = mapped_column(String(100))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
