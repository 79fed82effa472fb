"""`candles_1m`, `candles_5m`: candles built from `trades` (read back from Kafka) and published to Kafka.

Both intervals come from one step so the day's trades are read from the bus once. Three blocking checks per
interval guard the store: OHLC invariants and a full day of candles, volumes equal to the trades' volumes, and
field-by-field equality with the exchange's own klines for the same partition.
"""

from typing import Iterator

import dagster as dg

from resources import ExchangeResource
from resources.io_managers import Cells
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
def candles(context: dg.AssetExecutionContext, trades: Cells, exchange: ExchangeResource) -> Iterator:
    """One pass over the run's days of trades (read from Kafka one at a time); the candles, small, are kept."""
    frames: dict = {d: {} for d in DATASETS}
    outcomes: dict = {d: {check: {} for check in CHECKS} for d in DATASETS}
    for key in sorted(trades):
        day_trades, cell = trades[key], parse_cell(key)
        prev_close = exchange.price_before(cell, day_trades)
        for d in DATASETS:
            frame = frames[d][key] = aggregate(day_trades, d.interval, cell.day, prev_close)
            outcomes[d]["ohlc_invariants"][key] = candles_invariants(frame, d.interval, cell.day)
            outcomes[d]["volumes_match_trades"][key] = candles_match_trades(frame, day_trades)
            outcomes[d]["matches_exchange_klines"][key] = candles_match_klines(frame, exchange.klines_day(cell, d.interval))
    for d in DATASETS:
        stats = {key: partition_stats(d.record, frame) for key, frame in frames[d].items()}
        yield dg.Output(frames[d], output_name=d.asset, metadata=partitions_metadata(stats))
        for check in CHECKS:
            yield check_result(check, outcomes[d][check], dg.AssetKey(d.asset))
