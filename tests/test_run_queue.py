"""The run queue tags every run with the one symbol it covers, so symbols can take turns."""

import pytest

from streamforge_assets.run_queue import symbol_of


@pytest.mark.parametrize(
    ("tags", "symbol"),
    [
        ({"dagster/partition/symbol": "ETHUSDT", "dagster/partition/date": "2025-01-01"}, "ETHUSDT"),
        ({"dagster/asset_partition_range_start": "2025-01-01|BTCUSDT",
          "dagster/asset_partition_range_end": "2025-01-07|BTCUSDT"}, "BTCUSDT"),
        ({"dagster/asset_partition_range_start": "2025-01-01|BTCUSDT",
          "dagster/asset_partition_range_end": "2025-01-07|SOLUSDT"}, None),
        ({"dagster/backfill": "abc"}, None),
    ],
)
def test_the_symbol_of_a_run_comes_from_its_partition_tags(tags, symbol):
    assert symbol_of(tags) == symbol
