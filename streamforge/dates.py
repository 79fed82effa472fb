"""Which days may be asked for. Historical assets cover completed UTC days only; today belongs to the live path."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from streamforge import settings
from streamforge.errors import ConfigError


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def first_day() -> date:
    return date.fromisoformat(settings.get("STREAMFORGE_START_DATE"))


def parse_day(text: str, what: str = "date") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{what} {text!r} is not a date in YYYY-MM-DD form") from None


def completed_days(start: date, end: date, *, first: date | None = None, today: date | None = None) -> list[date]:
    """Every day from start to end inclusive, refusing ranges the historical graph cannot have."""
    first = first or first_day()
    today = today or today_utc()
    if end < start:
        raise ConfigError(f"end date {end} is before start date {start}")
    if start < first:
        raise ConfigError(f"start date {start} is before the first partition {first} (STREAMFORGE_START_DATE)")
    if end >= today:
        raise ConfigError(
            f"end date {end} is not a completed UTC day (today is {today}); historical data ends yesterday, "
            "today's data comes from the live loader"
        )
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def day_bounds_us(day: date) -> tuple[int, int]:
    """[start, end) of a UTC day in µs since the epoch."""
    start = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()) * 1_000_000
    return start, start + 86_400_000_000
