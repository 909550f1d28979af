from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time

import pytest

from app.clock import VN
from app.worktime.calendar import WorkCalendar, statutory_name

calendar = WorkCalendar()


def vn(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN)


def test_tet_2026_is_nine_days_off() -> None:
    days_off = [date(2026, 2, d) for d in range(14, 23)]
    assert [calendar.is_working_day(d) for d in days_off] == [False] * 9
    assert calendar.is_working_day(date(2026, 2, 13))
    assert calendar.is_working_day(date(2026, 2, 23))


def test_2026_08_22_saturday_is_a_make_up_working_day() -> None:
    assert calendar.is_working_day(date(2026, 8, 22))
    assert not calendar.is_working_day(date(2026, 8, 31))
    assert statutory_name(date(2026, 8, 22)) == "Ngày làm bù"
    assert statutory_name(date(2026, 8, 31)) == "Ngày nghỉ (thay cho ngày 22/08/2026)"


def test_saturday_27_december_2014_was_worked_for_2_january_2015() -> None:
    assert calendar.is_working_day(date(2014, 12, 27))
    assert not calendar.is_working_day(date(2015, 1, 2))


def test_culture_day_24_november_2026_is_off() -> None:
    assert not calendar.is_working_day(date(2026, 11, 24))
    assert statutory_name(date(2026, 11, 24)) == "Ngày Văn hóa Việt Nam"
    assert calendar.is_working_day(date(2025, 11, 24))


def test_hung_kings_day_on_sunday_26_april_2026_is_observed_on_monday() -> None:
    assert not calendar.is_working_day(date(2026, 4, 27))
    assert calendar.is_working_day(date(2026, 4, 28))


def test_special_days_of_2026_are_the_weekdays_off_and_the_working_saturday() -> None:
    assert calendar.special_days(2026) == [
        date(2026, 1, 1),
        *(date(2026, 2, d) for d in range(16, 21)),
        date(2026, 4, 27),
        date(2026, 4, 30),
        date(2026, 5, 1),
        date(2026, 8, 22),
        date(2026, 8, 31),
        date(2026, 9, 1),
        date(2026, 9, 2),
        date(2026, 11, 24),
    ]


def test_three_working_days_after_29_april_2025_skip_the_holidays() -> None:
    # 30/4, 1/5 and the swapped 2/5 are off, then the weekend.
    assert calendar.add_working_days(date(2025, 4, 29), 3) == date(2025, 5, 7)


def test_zero_working_days_is_the_start_even_on_a_holiday() -> None:
    assert calendar.add_working_days(date(2025, 4, 30), 0) == date(2025, 4, 30)


def test_negative_working_days_are_refused() -> None:
    with pytest.raises(ValueError):
        calendar.add_working_days(date(2025, 4, 29), -1)


def test_draft_at_16_00_goes_next_working_morning() -> None:
    assert calendar.forward_time(vn(2026, 3, 10, 16, 0)) == vn(2026, 3, 11, 8, 0)


def test_draft_at_15_59_goes_at_once() -> None:
    assert calendar.forward_time(vn(2026, 3, 10, 15, 59)) == vn(2026, 3, 10, 15, 59)


def test_draft_at_16_00_before_culture_day_goes_two_days_later() -> None:
    assert calendar.forward_time(vn(2026, 11, 23, 16, 0)) == vn(2026, 11, 25, 8, 0)


def test_friday_evening_goes_to_monday_morning() -> None:
    assert calendar.forward_time(vn(2026, 3, 13, 18, 30)) == vn(2026, 3, 16, 8, 0)


def test_cut_off_is_read_in_vietnam_time() -> None:
    nine_utc = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 16:00 in Hà Nội
    assert calendar.after_cutoff(nine_utc)
    assert not calendar.after_cutoff(nine_utc, cutoff=time(17, 0))
    assert calendar.forward_time(nine_utc, cutoff="17:00") == nine_utc


def test_holiday_morning_is_after_the_cut_off() -> None:
    assert calendar.after_cutoff(vn(2026, 9, 2, 9, 0))


def test_next_working_morning_skips_tet() -> None:
    assert calendar.next_working_morning(vn(2026, 2, 13, 9, 0)) == vn(2026, 2, 23, 8, 0)
    assert calendar.next_working_morning(vn(2026, 2, 13, 9, 0), hour=7) == vn(2026, 2, 23, 7, 0)


def test_working_start_waits_for_the_office_to_open() -> None:
    assert calendar.working_start(vn(2026, 3, 10, 6, 30)) == vn(2026, 3, 10, 8, 0)
    assert calendar.working_start(vn(2026, 3, 10, 10, 15)) == vn(2026, 3, 10, 10, 15)
    assert calendar.working_start(vn(2026, 3, 14, 10, 15)) == vn(2026, 3, 16, 8, 0)


def test_deadline_of_three_working_days_from_24_april_2026_is_4_may_at_17_00() -> None:
    # 27/4 observed Giỗ Tổ, 30/4 and 1/5 holidays, 2–3/5 weekend.
    assert calendar.deadline(vn(2026, 4, 24, 10, 0), 3) == vn(2026, 5, 4, 17, 0)


def test_deadline_of_zero_days_is_the_end_of_the_same_day() -> None:
    late_utc = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # already 11 March in Vietnam
    assert calendar.deadline(late_utc, 0) == vn(2026, 3, 11, 17, 0)
    assert calendar.deadline(vn(2026, 3, 10, 9, 0), 0, end_hour=16) == vn(2026, 3, 10, 16, 0)


def test_override_makes_saturday_working() -> None:
    with_saturday = WorkCalendar({date(2026, 3, 14): True})
    assert with_saturday.is_working_day(date(2026, 3, 14))
    assert with_saturday.add_working_days(date(2026, 3, 13), 1) == date(2026, 3, 14)
    assert with_saturday.forward_time(vn(2026, 3, 13, 16, 30)) == vn(2026, 3, 14, 8, 0)


def test_override_gives_an_extra_day_off_and_cancels_a_holiday() -> None:
    overridden = WorkCalendar({date(2026, 3, 10): False, date(2026, 11, 24): True})
    assert not overridden.is_working_day(date(2026, 3, 10))
    assert overridden.is_working_day(date(2026, 11, 24))
    assert date(2026, 11, 24) not in overridden.special_days(2026)
    assert date(2026, 3, 10) in overridden.special_days(2026)


@pytest.mark.parametrize(
    "call",
    [
        lambda at: calendar.forward_time(at),
        lambda at: calendar.after_cutoff(at),
        lambda at: calendar.working_start(at),
        lambda at: calendar.next_working_morning(at),
        lambda at: calendar.deadline(at, 1),
    ],
)
def test_naive_datetime_is_refused(call: Callable[[datetime], object]) -> None:
    with pytest.raises(ValueError, match="naive"):
        call(datetime(2026, 3, 10, 9, 0))
