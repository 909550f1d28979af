"""Reading and editing the calendar overrides; flush, never commit."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.worktime.calendar import WorkCalendar
from app.worktime.models import CalendarDay


def load_calendar(session: Session) -> WorkCalendar:
    """The working calendar with every administrator override applied."""
    rows = session.execute(select(CalendarDay.day, CalendarDay.is_working_day))
    return WorkCalendar({day: is_working_day for day, is_working_day in rows})


def set_day(session: Session, day: date, is_working_day: bool, note: str = "") -> CalendarDay:
    """Make `day` a working day or a day off, whatever the public-holiday calendar says."""
    calendar_day = session.get(CalendarDay, day)
    if calendar_day is None:
        calendar_day = CalendarDay(day=day)
        session.add(calendar_day)
    calendar_day.is_working_day = is_working_day
    calendar_day.note = note
    session.flush()
    return calendar_day


def clear_day(session: Session, day: date) -> None:
    """Drop the override of `day`, so the public-holiday calendar applies again."""
    calendar_day = session.get(CalendarDay, day)
    if calendar_day is not None:
        session.delete(calendar_day)
        session.flush()


def list_days(session: Session, year: int) -> list[CalendarDay]:
    """The overrides of `year`, in date order."""
    query = (
        select(CalendarDay)
        .where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
        .order_by(CalendarDay.day)
    )
    return list(session.scalars(query))
