"""`arangodb/*`: each Kafka-borne dataset persisted into its store collection (the original design's arango-connector).

Each asset reads its upstream partitions from Kafka through the IO manager and replaces exactly those partitions in
the store, so re-running a partition leaves the same content and no duplicates. The store is ArangoDB in production
and the embedded Parquet store locally; the asset does not know which. One asset per catalog dataset marked
`persisted`, so a new dataset gets its store asset from its declaration.
"""

import dagster as dg

from resources import StoreResource
from resources.io_managers import Cells
from streamforge.catalog import DATASETS, Dataset, parse_cell
from streamforge_assets.metadata import OWNERS, definition_metadata, partitions_metadata
from streamforge_assets.partitions import BACKFILL_POLICY, CELLS


def store_asset(dataset: Dataset) -> dg.AssetsDefinition:
    """The asset `arangodb/<collection>` that persists the dataset's Kafka-borne asset into its collection."""

    @dg.asset(
        key=dataset.store_asset.split("/"),
        ins={"frames": dg.AssetIn(key=dataset.asset)},
        partitions_def=CELLS,
        backfill_policy=BACKFILL_POLICY,
        kinds={"arangodb"},
        owners=OWNERS,
        group_name="store",
        metadata=definition_metadata(dataset),
        description=f"`{dataset.asset}` persisted into the store collection `{dataset.collection}`, one replaceable "
        "partition per (instrument, day).",
    )
    def _persist(context: dg.AssetExecutionContext, frames: Cells, store: StoreResource) -> dg.MaterializeResult:
        target = store.open()
        stats = {}
        for key in sorted(frames):  # one cell read from Kafka at a time
            cell = parse_cell(key)
            stats[key] = {"rows": target.replace_partition(dataset.collection, dataset.record, cell.instrument, cell.day, frames[key])}
        return dg.MaterializeResult(metadata=partitions_metadata(stats) | {"store/backend": store.backend})

    return _persist


STORE_ASSETS = [store_asset(d) for d in DATASETS.values() if d.persisted]
