"""`live_trades`: today's aggregate trades as the live loader publishes them, brought into the store run by run.

Each run reads what is new on the live topic for its (date, instrument) cell and merges it into the stored partition
(collection `live_trades`, `Store.merge_partition`: the rows not stored yet are added — ArangoDB appends them without
sending what is stored again), so the partition fills up during the day and a repeated run changes nothing. The
store write happens inside the asset, not in a separate `arangodb/*` asset: the materialisation that records the
offsets read must be the one that proves they were persisted — sensors/live.py commits the consumer-group offsets
from exactly that metadata once the run has succeeded.

When the day's archive appears, the `trades` asset re-materialises the day from it and the `matches_live_capture`
check (defined here, run with `trades`) compares the two.
"""

from dataclasses import asdict

import dagster as dg
import polars as pl

from resources import KafkaResource, StoreResource
from streamforge.bus.topics import topic
from streamforge.catalog import LIVE_TRADES, TRADES, dataset, parse_cell
from streamforge.checks import CheckOutcome, live_matches_archive
from streamforge.live_capture import PartitionRead, Position, ReadLimits, consumer_group, read_capture
from streamforge.store import Store
from streamforge_assets.metadata import OWNERS, definition_metadata
from streamforge_assets.partitions import LIVE_CELLS

DATASET = dataset(LIVE_TRADES)
# Materialisation metadata the commit sensor reads back: {kafka partition: PartitionRead as a dict}.
READS = "kafka/read"
GROUP = "kafka/group"
LIVE_VS_ARCHIVE = "matches_live_capture"


def _resume(context: dg.AssetExecutionContext) -> dict[int, Position]:
    """Where the latest materialisation of this cell stopped reading, per Kafka partition."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=context.asset_key, asset_partitions=[context.partition_key]), limit=1, ascending=False
    ).records
    reads = records[0].asset_materialization.metadata.get(READS) if records else None
    return {int(p): Position(r["next"], r["later_from"]) for p, r in (reads.data if reads else {}).items()}


@dg.asset(
    name=DATASET.asset,
    partitions_def=LIVE_CELLS,
    kinds={"kafka", "polars", "arangodb"},
    owners=OWNERS,
    group_name="live",
    description=DATASET.description,
    metadata=definition_metadata(DATASET),
)
def live_trades(context: dg.AssetExecutionContext, kafka: KafkaResource, store: StoreResource) -> dg.MaterializeResult:
    """The day's aggregate trades of one instrument captured from the live topic: one row per agg id, sorted."""
    cell, record = parse_cell(context.partition_key), DATASET.record
    spec = topic(DATASET.name)
    capture = read_capture(
        kafka.client_config(), spec.name, record, cell.instrument, cell.day, _resume(context), ReadLimits.from_settings()
    )
    merged = store.open().merge_partition(DATASET.collection, record, cell.instrument, cell.day, capture.rows)
    context.log.info(f"{context.partition_key}: {merged.added} new trades, {merged.rows} in all")
    return dg.MaterializeResult(
        metadata={
            "rows": merged.rows,
            "rows_new": merged.added,
            "kafka/topic": spec.name,
            GROUP: consumer_group(cell.instrument),
            READS: dg.MetadataValue.json({str(p): asdict(r) for p, r in capture.reads.items()}),
            "store/backend": store.backend,
        }
    )


def persisted_offsets(metadata: dict) -> tuple[str, str, dict[int, int]]:
    """(group, topic, {kafka partition: offset safe to commit}) from a `live_trades` materialisation's metadata."""
    reads = {int(p): PartitionRead(**r) for p, r in metadata[READS].data.items()}
    return metadata[GROUP].value, metadata["kafka/topic"].value, {p: r.resume for p, r in reads.items()}


live_vs_archive_spec = dg.AssetCheckSpec(
    LIVE_VS_ARCHIVE,
    asset=dataset(TRADES).asset,
    description="The day's archive (dump or REST) equals the live capture stored by `live_trades`: same agg ids, "
    "prices and quantities. Passes, saying so, when the day was not captured live.",
)


def live_vs_archive(store: Store, key: str, archive: pl.DataFrame) -> CheckOutcome:
    """The archive frame of a cell compared with the stored live capture of the same cell."""
    cell = parse_cell(key)
    live = store.read(DATASET.collection, DATASET.record, [cell.instrument], cell.day, cell.day)
    if not live.height:
        return CheckOutcome(True, f"{key} was not captured live: nothing to compare", {"live_capture": False})
    return live_matches_archive(archive, live)
