"""The live capture's pure parts: offset ranges as run keys name them, rows split by cell, the partition an
instrument's rows live in, and the comparison of a captured day with its archive. (Merging overlapping reads is the
store's: tests/store/test_store_contract.py; reading Kafka: tests/integration/test_live_assets.py.)"""

from datetime import date

import polars as pl
from kafka.partitioner.default import DefaultPartitioner

from streamforge.bus.offsets import partition_for
from streamforge.catalog import Cell
from streamforge.checks import live_matches_archive
from streamforge.live_capture import Range, _cells, parse_ranges
from streamforge.schemas import AGG_TRADE, LIQUIDATION
from trade_frames import DAY_START_US, trades_frame

DAY_TRADES = trades_frame(list(range(0, 10_000_000, 1_000_000)), [100 + i / 4 for i in range(10)], [1 + i / 8 for i in range(10)])


def test_offset_ranges_read_back_from_their_text():
    ranges = [Range(0, 10, 250), Range(3, 0, 7)]
    assert str(ranges[0]) == "0:10-250"
    assert parse_ranges(", ".join(map(str, ranges))) == ranges


def test_rows_of_a_partition_split_into_cells_by_instrument_and_day_and_a_repeated_row_counts_once():
    eth = trades_frame([86_390_000_000, 86_399_000_000, 86_401_000_000], [1.0] * 3, [1.0] * 3, instrument="binance.spot.ETHUSDT",
                       day=date(2025, 1, 1))
    btc = trades_frame([5_000_000], [2.0], [1.0], instrument="binance.spot.BTCUSDT", day=date(2025, 1, 2))
    cells = _cells(AGG_TRADE, pl.concat([eth, btc, eth[:1]]))
    assert sorted(cells) == [Cell(date(2025, 1, 1), "binance.spot.ETHUSDT"), Cell(date(2025, 1, 2), "binance.spot.BTCUSDT"),
                             Cell(date(2025, 1, 2), "binance.spot.ETHUSDT")]
    assert cells[Cell(date(2025, 1, 1), "binance.spot.ETHUSDT")]["agg_id"].to_list() == eth["agg_id"][:2].to_list()
    assert cells[Cell(date(2025, 1, 2), "binance.spot.ETHUSDT")].height == 1


def test_liquidations_sharing_a_millisecond_and_side_are_all_kept_and_a_repeated_report_counts_once():
    """A forceOrder has no id: what tells two apart is everything it reports (schemas.LIQUIDATION)."""
    same_ms = DAY_START_US + 7_000
    rows = pl.DataFrame({
        "instrument": "binance.usdm.BTCUSDT",
        "time": [same_ms, same_ms, same_ms, same_ms + 1_000],
        "side": ["SELL", "SELL", "SELL", "SELL"],
        "price": [100.0, 100.0, 99.5, 100.0],
        "average_price": [100.0, 100.0, 99.5, 100.0],
        "qty": [1.0, 2.0, 1.0, 1.0],
        "filled_qty": [1.0, 2.0, 1.0, 1.0],
        "status": "FILLED",
    }).with_columns(pl.from_epoch("time", "us").dt.replace_time_zone("UTC"))
    liquidations = LIQUIDATION.conform(rows)
    (cell,) = _cells(LIQUIDATION, pl.concat([liquidations, liquidations[:2]])).values()
    assert cell.equals(liquidations)


def test_instruments_map_to_the_partition_kafkas_default_partitioner_picks():
    class Cluster:
        def topics(self):
            return {"t"}

        def partitions_for_topic(self, _):
            return set(range(6))

        available_partitions_for_topic = partitions_for_topic

    for instrument in ["binance.spot.BTCUSDT", "binance.spot.ETHUSDT", "binance.spot.SOLUSDT", "okx.swap.BTC-USDT-SWAP"]:
        assert partition_for(instrument, 6) == DefaultPartitioner().partition("t", instrument, instrument.encode(), None, None, Cluster())


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
