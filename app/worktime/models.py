"""Administrator overrides of the statutory calendar: make-up working days and extra days off."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow_column_default


class CalendarDay(Base):
    """One day whose working status overrides the `holidays` package."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    is_working_day: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow_column_default)
