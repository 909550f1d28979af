from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.worktime.models import CalendarDay
from app.worktime.services import clear_day, list_days, load_calendar, set_day


def test_make_up_saturday_entered_by_the_administrator_is_a_working_day(session: Session) -> None:
    assert not load_calendar(session).is_working_day(date(2026, 3, 14))
    set_day(session, date(2026, 3, 14), True, "Làm bù theo quyết định 12/QĐ-UBND")
    assert load_calendar(session).is_working_day(date(2026, 3, 14))


def test_extra_day_off_entered_by_the_administrator_is_off(session: Session) -> None:
    set_day(session, date(2026, 3, 10), False, "Nghỉ bầu cử")
    assert not load_calendar(session).is_working_day(date(2026, 3, 10))


def test_setting_a_day_twice_keeps_one_row_with_the_last_values(session: Session) -> None:
    set_day(session, date(2026, 3, 14), True, "first")
    day = set_day(session, date(2026, 3, 14), False, "second")
    assert session.scalar(select(func.count()).select_from(CalendarDay)) == 1
    assert (day.is_working_day, day.note) == (False, "second")
    assert day.created_at.tzinfo is not None


def test_clearing_a_day_brings_back_the_public_holiday(session: Session) -> None:
    set_day(session, date(2026, 9, 2), True, "")
    clear_day(session, date(2026, 9, 2))
    assert not load_calendar(session).is_working_day(date(2026, 9, 2))
    clear_day(session, date(2026, 9, 2))  # nothing left to clear


def test_list_days_gives_the_year_in_date_order(session: Session) -> None:
    for day in (date(2026, 12, 26), date(2025, 6, 7), date(2026, 3, 14), date(2027, 1, 2)):
        set_day(session, day, True, "")
    assert [row.day for row in list_days(session, 2026)] == [date(2026, 3, 14), date(2026, 12, 26)]


def test_created_at_is_stored_as_utc(session: Session) -> None:
    day = set_day(session, date(2026, 3, 14), True, "")
    session.expire_all()
    stored = session.get(CalendarDay, day.day)
    assert stored is not None
    assert stored.created_at.tzinfo == UTC
    assert abs((datetime.now(UTC) - stored.created_at).total_seconds()) < 60
