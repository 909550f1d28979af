"""Registers (sổ) with their gapless counters, incoming documents and their attachments."""

from __future__ import annotations

from datetime import date, datetime

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
