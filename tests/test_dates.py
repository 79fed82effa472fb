"""Which days a backfill may ask for: completed UTC days from the first partition on."""

from datetime import date

import pytest

from streamforge.dates import completed_days, day_bounds_us, parse_day
from streamforge.errors import ConfigError

FIRST, TODAY = date(2024, 1, 1), date(2025, 3, 1)


def test_a_range_lists_every_day_inclusive():
    assert completed_days(date(2025, 1, 30), date(2025, 2, 2), first=FIRST, today=TODAY) == [
        date(2025, 1, 30), date(2025, 1, 31), date(2025, 2, 1), date(2025, 2, 2)
    ]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2025, 1, 5), date(2025, 1, 4), "end date 2025-01-04 is before start date 2025-01-05"),
        (date(2023, 12, 31), date(2024, 1, 2), "before the first partition 2024-01-01"),
        (date(2025, 2, 27), date(2025, 3, 1), "2025-03-01 is not a completed UTC day"),
        (date(2025, 2, 27), date(2025, 6, 1), "2025-06-01 is not a completed UTC day"),
    ],
)
def test_ranges_the_historical_graph_cannot_have_are_refused_by_name(start, end, message):
    with pytest.raises(ConfigError, match=message):
        completed_days(start, end, first=FIRST, today=TODAY)


def test_a_date_that_is_not_a_date_is_named():
    with pytest.raises(ConfigError, match="start date '2025-13-01' is not a date"):
        parse_day("2025-13-01", "start date")


def test_day_bounds_are_microseconds_of_a_utc_day():
    start, end = day_bounds_us(date(2025, 1, 1))
    assert start == 1_735_689_600_000_000 and end - start == 86_400_000_000
