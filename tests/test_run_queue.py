"""The run queue tags every run with the one instrument it covers, so instruments can take turns."""

import pytest

from streamforge_assets.run_queue import instrument_of


@pytest.mark.parametrize(
    ("tags", "instrument"),
    [
        ({"dagster/partition/instrument": "binance.spot.ETHUSDT", "dagster/partition/date": "2025-01-01"},
         "binance.spot.ETHUSDT"),
        ({"dagster/asset_partition_range_start": "2025-01-01|binance.spot.BTCUSDT",
          "dagster/asset_partition_range_end": "2025-01-07|binance.spot.BTCUSDT"}, "binance.spot.BTCUSDT"),
        ({"dagster/asset_partition_range_start": "2025-01-01|binance.spot.BTCUSDT",
          "dagster/asset_partition_range_end": "2025-01-07|binance.spot.SOLUSDT"}, None),
        ({"dagster/backfill": "abc"}, None),
    ],
)
def test_the_instrument_of_a_run_comes_from_its_partition_tags(tags, instrument):
    assert instrument_of(tags) == instrument
