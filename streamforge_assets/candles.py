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
from streamforge.checks import candles_invariants, candles_match_klines, candles_match_trades
from streamforge.schemas import CANDLE
from streamforge_assets.metadata import OWNERS, definition_metadata, partition_stats, partitions_metadata
from streamforge_assets.partitions import BACKFILL_POLICY, SYMBOL_DAYS, split_key
from streamforge_assets.verdicts import check_result

INTERVALS = {"candles_1m": "1m", "candles_5m": "5m"}
CHECKS = {
    "ohlc_invariants": "low ≤ open, close ≤ high; volumes non-negative; a full day of candles on the interval grid.",
    "volumes_match_trades": "Σ volume, Σ quote volume and Σ trade count equal the day's trades'.",
    "matches_exchange_klines": "Every field equals the exchange's own kline for the same interval (REST klines).",
}


@dg.multi_asset(
    outs={
        name: dg.AssetOut(
            io_manager_key="kafka_io",
            kinds={"kafka", "polars"},
            owners=OWNERS,
            group_name="historical",
            description=f"{interval} candles built from aggregate trades: Binance kline fields plus VWAP.",
            metadata=definition_metadata(CANDLE, f"candles-{interval}"),
        )
        for name, interval in INTERVALS.items()
    },
    ins={"trades": dg.AssetIn()},
    partitions_def=SYMBOL_DAYS,
    backfill_policy=BACKFILL_POLICY,
    check_specs=[
        dg.AssetCheckSpec(check, asset=name, blocking=True, description=description)
        for name in INTERVALS
        for check, description in CHECKS.items()
    ],
)
def candles(context: dg.AssetExecutionContext, trades: PartitionedFrames, exchange: ExchangeResource) -> Iterator:
    prev_close = {key: exchange.price_before(split_key(key)[0], frame) for key, frame in trades.items()}
    for name, interval in INTERVALS.items():
        frames: PartitionedFrames = {}
        stats: dict[str, dict] = {}
        invariants, volumes, klines = {}, {}, {}
        for key in sorted(trades):
            symbol, day = split_key(key)
            frame = aggregate(trades[key], interval, day, prev_close[key])
            frames[key] = frame
            stats[key] = partition_stats(CANDLE, frame)
            invariants[key] = candles_invariants(frame, interval, day)
            volumes[key] = candles_match_trades(frame, trades[key])
            klines[key] = candles_match_klines(frame, exchange.klines_day(symbol, interval, day))
        yield dg.Output(frames, output_name=name, metadata=partitions_metadata(stats))
        asset_key = dg.AssetKey(name)
        yield check_result("ohlc_invariants", invariants, asset_key)
        yield check_result("volumes_match_trades", volumes, asset_key)
        yield check_result("matches_exchange_klines", klines, asset_key)
