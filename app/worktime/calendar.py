"""Working-day arithmetic over Vietnamese public holidays, swapped days and local overrides."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from app.clock import VN

MAKE_UP_DAY_NAME = "Ngày làm bù"


@lru_cache(maxsize=32)
def _vietnam(year: int) -> holidays.HolidayBase:
    return holidays.Vietnam(years=year, observed=True, language="vi")


def is_statutory_working_day(day: date) -> bool:
    """Working day by law: Monday–Friday except public holidays, plus Saturdays worked for a swap."""
    # A late-December Saturday can be worked for a January day off, which only next year's set lists.
    return _vietnam(day.year).is_working_day(day) or day in _vietnam(day.year + 1).weekend_workdays


def statutory_name(day: date) -> str:
    """The package's Vietnamese name for a holiday or make-up day, or "" for an ordinary day."""
    name: str = _vietnam(day.year).get(day, "")
    if not name and day.weekday() >= 5 and is_statutory_working_day(day):
        return MAKE_UP_DAY_NAME
    return name


def _local(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: working-day rules need an aware one")
    return at.astimezone(VN)


def _at_hour(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=VN)


class WorkCalendar:
    """Working days from the `holidays` package with administrator overrides on top; no I/O."""

    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        self.overrides: dict[date, bool] = dict(overrides or {})

    def is_working_day(self, day: date) -> bool:
        override = self.overrides.get(day)
        return is_statutory_working_day(day) if override is None else override

    def special_days(self, year: int) -> list[date]:
        """Days of `year` off on a weekday or worked on a weekend, in order."""
        first, last = date(year, 1, 1), date(year, 12, 31)
        days = (first + timedelta(days=i) for i in range((last - first).days + 1))
        return [day for day in days if self.is_working_day(day) != (day.weekday() < 5)]

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (which does not count); `start` itself when n is 0."""
        if n < 0:
            raise ValueError(f"working days must not be negative: {n}")
        day = start
        while n:
            day += timedelta(days=1)
            n -= self.is_working_day(day)
        return day

    def next_working_morning(self, at: datetime, hour: int = 8) -> datetime:
        """`hour`:00 Vietnam time on the first working day after the day of `at`."""
        return _at_hour(self.add_working_days(_local(at).date(), 1), hour)

    def working_start(self, at: datetime, hour: int = 8) -> datetime:
        """When work on something arriving at `at` can start: `at`, or the next opening at `hour`."""
        local = _local(at)
        if not self.is_working_day(local.date()):
            return self.next_working_morning(local, hour)
        return max(local, _at_hour(local.date(), hour))

    def after_cutoff(self, at: datetime, cutoff: time | str = "16:00") -> bool:
        """True at or after the cut-off in Vietnam time, and all day on a day off."""
        local = _local(at)
        cutoff_time = time.fromisoformat(cutoff) if isinstance(cutoff, str) else cutoff
        return not self.is_working_day(local.date()) or local.time() >= cutoff_time

    def forward_time(self, at: datetime, cutoff: time | str = "16:00", hour: int = 8) -> datetime:
        """When an item sent at `at` reaches the next person: at once, or next working morning (OUT-4)."""
        if self.after_cutoff(at, cutoff):
            return self.next_working_morning(at, hour)
        return _local(at)

    def deadline(self, start: datetime, working_days: int, end_hour: int = 17) -> datetime:
        """`end_hour`:00 Vietnam time on the n-th working day after the day of `start`."""
        return _at_hour(self.add_working_days(_local(start).date(), working_days), end_hour)
