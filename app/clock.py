"""The one source of time: aware UTC datetimes, frozen or moved by tests, replays and demos."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

VN = ZoneInfo("Asia/Ho_Chi_Minh")

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC)


def freeze(at: datetime | str) -> None:
    """Stop the clock at `at` (an aware datetime or ISO string; naive means Vietnam time)."""
    global _frozen
    _frozen = parse_instant(at)


def advance(delta: timedelta) -> None:
    global _frozen
    _frozen = now() + delta


def unfreeze() -> None:
    global _frozen
    _frozen = None


def is_frozen() -> bool:
    return _frozen is not None


def parse_instant(at: datetime | str) -> datetime:
    value = datetime.fromisoformat(at) if isinstance(at, str) else at
    if value.tzinfo is None:
        value = value.replace(tzinfo=VN)
    return value.astimezone(UTC)


def local(at: datetime) -> datetime:
    """The same instant in Vietnam's time zone, for display and for working-day rules."""
    return at.astimezone(VN)
