"""Days and microseconds: the simulator's time grid.

The market exists from EPOCH on; everything is generated per UTC day, and per-day quantities (anchor prices, trade
counts) are precomputed as arrays indexed by days since EPOCH, up to HORIZON.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

EPOCH = date(2017, 1, 1)
HORIZON = date(2060, 1, 1)
N_DAYS = (HORIZON - EPOCH).days

US_PER_S = 1_000_000
US_PER_MS = 1_000
S_PER_DAY = 86_400
US_PER_DAY = S_PER_DAY * US_PER_S
EPOCH_US = (datetime(EPOCH.year, EPOCH.month, EPOCH.day, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
    microseconds=1
)

#: Binance's spot dumps switched from ms to µs timestamps on this day; the simulator's trade times follow it.
MICROSECOND_DUMPS_FROM = date(2025, 1, 1)


def day_index(day: date) -> int:
    return (day - EPOCH).days


def in_range(day: date) -> bool:
    return EPOCH <= day < HORIZON


def day_start_us(day: date) -> int:
    return day_index(day) * US_PER_DAY + EPOCH_US


def day_of(time_us: int) -> date:
    return EPOCH + timedelta(days=(time_us - EPOCH_US) // US_PER_DAY)


def days_between(start_us: int, end_us: int) -> list[date]:
    """The UTC days that intersect [start_us, end_us), clipped to the simulated range."""
    if end_us <= start_us:
        return []
    first = max(day_of(start_us), EPOCH)
    last = min(day_of(end_us - 1), HORIZON - timedelta(days=1))
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


