"""`funding`: a perpetual's funding settlements of one day, from its venue's funding history, into the store.

Cells of instruments that are not perpetuals (spot) have no funding: their materialisation says so and writes
nothing. The rows are few (three a day on OKX), so they go to the store directly rather than through Kafka.
"""

import dagster as dg

from resources import ExchangeResource, StoreResource
from streamforge.catalog import FUNDING, dataset, parse_cell
from streamforge.instruments import market_of
from streamforge_assets.metadata import OWNERS, definition_metadata, partition_stats, partitions_metadata
from streamforge_assets.partitions import BACKFILL_POLICY, CELLS

DATASET = dataset(FUNDING)


@dg.asset(
    name=DATASET.asset,
    partitions_def=CELLS,
    backfill_policy=BACKFILL_POLICY,
    kinds={"arangodb", "polars"},
    owners=OWNERS,
    group_name="historical",
    pool="exchange",
    description=DATASET.description,
    metadata=definition_metadata(DATASET),
)
def funding(context: dg.AssetExecutionContext, exchange: ExchangeResource, store: StoreResource) -> dg.MaterializeResult:
    target, stats = store.open(), {}
    for key in sorted(context.partition_keys):
        cell = parse_cell(key)
        market = market_of(cell.instrument)
        if not DATASET.exists_for(market.id):
            stats[key] = {"rows": 0, "skipped": f"{market.description} instruments have no funding"}
            continue
        frame = exchange.funding_day(cell)
        target.replace_partition(DATASET.collection, DATASET.record, cell.instrument, cell.day, frame)
        stats[key] = partition_stats(DATASET.record, frame)
        context.log.info(f"{key}: {frame.height} funding settlements")
    return dg.MaterializeResult(metadata=partitions_metadata(stats) | {"store/backend": store.backend})
