"""Notifications shown under the bell (and mailed when SMTP is configured); each person's saved list filters."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    message: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(300), default="")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    is_urgent: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FilterPage(StrEnum):
    """The lists whose filters a person can save."""

    INBOX = "inbox"
    INCOMING = "incoming"


class SavedFilter(Base):
    """A person's named query string of one list, shown with its count (Camunda Tasklist's saved filters)."""

    __tablename__ = "saved_filters"
    __table_args__ = (Index("ix_saved_filters_user_page", "user_id", "page", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    page: Mapped[str] = mapped_column(String(20))  # a FilterPage
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(1000), default="")  # e.g. "urgent=1&due=late", without "?"
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
