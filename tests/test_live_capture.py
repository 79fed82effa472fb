"""The live capture's pure parts: where a symbol's group offset may go, the comparison of a captured day with its
archive, and which days the live sensors keep up to date. (Merging overlapping reads is the store's:
tests/store/test_store_contract.py.)"""

from datetime import UTC, date, datetime

import polars as pl
from kafka.partitioner.default import DefaultPartitioner

from sensors.live import live_days
from streamforge.bus.offsets import partition_for
from streamforge.checks import live_matches_archive
from streamforge.live_capture import PartitionRead
from trade_frames import trades_frame

DAY_TRADES = trades_frame(list(range(0, 10_000_000, 1_000_000)), [100 + i / 4 for i in range(10)], [1 + i / 8 for i in range(10)])


def test_the_group_offset_stops_before_a_later_days_message():
    assert PartitionRead(0, start=5, next=40, messages=35, matching=30, later_from=None).resume == 40
    assert PartitionRead(0, start=5, next=40, messages=35, matching=30, later_from=33).resume == 33


def test_symbols_map_to_the_partition_kafkas_default_partitioner_picks():
    class Cluster:
        def topics(self):
            return {"t"}

        def partitions_for_topic(self, _):
            return set(range(6))

        available_partitions_for_topic = partitions_for_topic

    for symbol in ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT"]:
        assert partition_for(symbol, 6) == DefaultPartitioner().partition("t", symbol, symbol.encode(), None, None, Cluster())


def test_a_capture_equal_to_the_archive_passes():
    outcome = live_matches_archive(DAY_TRADES, DAY_TRADES.sample(fraction=1.0, shuffle=True, seed=1))
    assert outcome.passed, outcome.description
    assert outcome.metadata["archive_rows"] == outcome.metadata["live_rows"] == 10


def test_missing_extra_and_changed_ids_are_counted_and_named():
    ids = DAY_TRADES["agg_id"]
    live = pl.concat([
        DAY_TRADES.filter(pl.col("agg_id") != ids[2]).with_columns(
            price=pl.when(pl.col("agg_id") == ids[5]).then(pl.col("price") + 0.25).otherwise(pl.col("price")),
            qty=pl.when(pl.col("agg_id") == ids[7]).then(pl.col("qty") * 2).otherwise(pl.col("qty")),
        ),
        trades_frame([50_000_000], [1.0], [1.0], first_agg_id=int(ids[-1]) + 1),
    ])
    outcome = live_matches_archive(DAY_TRADES, live)
    assert not outcome.passed
    md = outcome.metadata
    assert (md["missing_ids"], md["extra_ids"], md["mismatching_ids"]) == (1, 1, 2)
    assert md["first_missing_ids"] == [ids[2]] and md["first_extra_ids"] == [ids[-1] + 1]
    assert "1 archive ids missing" in outcome.description and "2 ids with another price or quantity" in outcome.description


def test_yesterday_stays_live_only_shortly_after_midnight():
    assert live_days(datetime(2025, 3, 2, 0, 5, tzinfo=UTC)) == [date(2025, 3, 1), date(2025, 3, 2)]
    assert live_days(datetime(2025, 3, 2, 12, 0, tzinfo=UTC)) == [date(2025, 3, 2)]
