"""`candles_1m`, `candles_5m`: candles built from `trades` (read back from Kafka) and published to Kafka.

Both intervals come from one step so the day's trades are read from the bus once. Three blocking checks per
interval guard the store: OHLC invariants and a full day of candles, volumes equal to the trades' volumes, and
field-by-field equality with the exchange's own klines for the same partition.
"""

from typing import Iterator

import dagster as dg

from resources import ExchangeResource
from resources.io_managers import PartitionedFrames
from streamforge.candles import aggregate
from streamforge.catalog import CANDLES, TRADES, dataset, parse_cell
from streamforge.checks import candles_invariants, candles_match_klines, candles_match_trades
from streamforge_assets.metadata import OWNERS, definition_metadata, partition_stats, partitions_metadata
from streamforge_assets.partitions import BACKFILL_POLICY, CELLS
from streamforge_assets.verdicts import check_result

DATASETS = [dataset(name) for name in CANDLES]
CHECKS = {
    "ohlc_invariants": "low ≤ open, close ≤ high; volumes non-negative; a full day of candles on the interval grid.",
    "volumes_match_trades": "Σ volume, Σ quote volume and Σ trade count equal the day's trades'.",
    "matches_exchange_klines": "Every field equals the exchange's own kline for the same interval (REST klines).",
}


@dg.multi_asset(
    outs={
        d.asset: dg.AssetOut(
            io_manager_key="kafka_io",
            kinds={"kafka", "polars"},
            owners=OWNERS,
            group_name="historical",
            description=d.description,
            metadata=definition_metadata(d),
        )
        for d in DATASETS
    },
    ins={TRADES: dg.AssetIn(key=dataset(TRADES).asset)},  # the key is the parameter name below
    partitions_def=CELLS,
    backfill_policy=BACKFILL_POLICY,
    check_specs=[
        dg.AssetCheckSpec(check, asset=d.asset, blocking=True, description=description)
        for d in DATASETS
        for check, description in CHECKS.items()
    ],
)
def candles(context: dg.AssetExecutionContext, trades: PartitionedFrames, exchange: ExchangeResource) -> Iterator:
    prev_close = {key: exchange.price_before(parse_cell(key), frame) for key, frame in trades.items()}
    for d in DATASETS:
        frames: PartitionedFrames = {}
        stats: dict[str, dict] = {}
        invariants, volumes, klines = {}, {}, {}
        for key in sorted(trades):
            cell = parse_cell(key)
            frame = aggregate(trades[key], d.interval, cell.day, prev_close[key])
            frames[key] = frame
            stats[key] = partition_stats(d.record, frame)
            invariants[key] = candles_invariants(frame, d.interval, cell.day)
            volumes[key] = candles_match_trades(frame, trades[key])
            klines[key] = candles_match_klines(frame, exchange.klines_day(cell, d.interval))
        yield dg.Output(frames, output_name=d.asset, metadata=partitions_metadata(stats))
        asset_key = dg.AssetKey(d.asset)
        yield check_result("ohlc_invariants", invariants, asset_key)
        yield check_result("volumes_match_trades", volumes, asset_key)
        yield check_result("matches_exchange_klines", klines, asset_key)
