"""`arangodb/*`: each Kafka-borne asset persisted into the store (the original design's arango-connector).

Each asset reads its upstream partitions from Kafka through the IO manager and replaces exactly those partitions in
the store, so re-running a partition leaves the same content and no duplicates. The store is ArangoDB in production
and the embedded Parquet store locally; the asset does not know which.
"""

import dagster as dg

from resources import StoreResource
from resources.io_managers import PartitionedFrames
from streamforge.schemas import AGG_TRADE, CANDLE, Record
from streamforge_assets.metadata import OWNERS, definition_metadata, partitions_metadata
from streamforge_assets.partitions import BACKFILL_POLICY, SYMBOL_DAYS, split_key


def store_asset(upstream: str, record: Record) -> dg.AssetsDefinition:
    """An asset `arangodb/<upstream>` that persists `upstream`'s partitions into the collection of the same name."""

    @dg.asset(
        key=["arangodb", upstream],
        ins={"frames": dg.AssetIn(key=upstream)},
        partitions_def=SYMBOL_DAYS,
        backfill_policy=BACKFILL_POLICY,
        kinds={"arangodb"},
        owners=OWNERS,
        group_name="store",
        metadata=definition_metadata(record) | {"store/collection": upstream},
        description=f"`{upstream}` persisted into the store collection `{upstream}`, one replaceable partition "
        "per (symbol, day).",
    )
    def _persist(context: dg.AssetExecutionContext, frames: PartitionedFrames, store: StoreResource) -> dg.MaterializeResult:
        target = store.open()
        stats = {}
        for key, frame in sorted(frames.items()):
            symbol, day = split_key(key)
            stats[key] = {"rows": target.replace_partition(upstream, record, symbol, day, frame)}
        return dg.MaterializeResult(metadata=partitions_metadata(stats) | {"store/backend": store.backend})

    return _persist


store_trades = store_asset("trades", AGG_TRADE)
store_candles_1m = store_asset("candles_1m", CANDLE)
store_candles_5m = store_asset("candles_5m", CANDLE)
