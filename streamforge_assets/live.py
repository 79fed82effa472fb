"""The live datasets in the store: today's data as the live loaders publish it, brought in by Kafka partition.

Every catalog dataset that is live and has a store collection (`LIVE_STORED`: live trades, and the perpetuals'
mark prices with their funding and liquidations) is an asset partitioned like the historical ones, by cell (day,
instrument). Its cells are not materialised one by one: a run of the `live_capture` job reads offset ranges of the
dataset's topic, one per Kafka partition that moved, merges every cell it finds there into the collection
(`Store.merge_partition`: rows whose record key is not stored yet are added, a repeated run changes nothing), and
reports one materialisation per cell it touched. At hundreds of instruments that is one run for the whole topic
instead of one per instrument: sensors/live.py launches at most one run per dataset at a time, every
STREAMFORGE_LIVE_CAPTURE_INTERVAL_S, and commits the offsets a run read once it has succeeded — the run's output
says which.

When the day's archive appears, the `trades` asset re-materialises the day from it and the `matches_live_capture`
check (defined here, run with `trades`) compares the two.
"""

from dataclasses import asdict

import dagster as dg
import polars as pl

from resources import KafkaResource, StoreResource
from streamforge.bus.topics import build_topics, topic
from streamforge.catalog import DATASETS, LIVE_TRADES, TRADES, dataset, parse_cell
from streamforge.checks import CheckOutcome, live_matches_archive
from streamforge.live_capture import RangeRead, ReadLimits, consumer_group, parse_ranges, read_ranges
from streamforge.store import Store
from streamforge_assets.metadata import OWNERS, definition_metadata
from streamforge_assets.partitions import LIVE_CELLS

# The live datasets the capture keeps in the store: a live dataset with a collection joins by declaration.
LIVE_STORED = [d for d in DATASETS.values() if d.live and d.collection]
# Metadata of a capture run's output, which the commit sensor reads back: {kafka partition: RangeRead as a dict}.
READS, GROUP, TOPIC = "kafka/read", "kafka/group", "kafka/topic"
DATASET_TAG, RANGES_TAG = "streamforge/dataset", "streamforge/kafka-ranges"
LIVE_VS_ARCHIVE = "matches_live_capture"

live_assets = [
    dg.AssetSpec(
        d.asset,
        partitions_def=LIVE_CELLS,
        kinds={"kafka", "polars", "arangodb"},
        owners=OWNERS,
        group_name="live",
        description=f"{d.description} Materialised cell by cell by the `live_capture` job (sensors/live.py).",
        metadata=definition_metadata(d),
    )
    for d in LIVE_STORED
]


class CaptureConfig(dg.Config):
    dataset: str  # a catalog dataset of LIVE_STORED
    ranges: str  # Kafka offset ranges `partition:start-stop, ...` (`live_capture.Range`)


@dg.op(tags={"kind": "kafka"})
def capture_live(context: dg.OpExecutionContext, config: CaptureConfig, kafka: KafkaResource, store: StoreResource):
    """Read the ranges, merge every cell found into the dataset's collection, report a materialisation per cell; the
    output's metadata names the offsets read, all of them persisted by then."""
    live, spec = dataset(config.dataset), topic(config.dataset, build_topics())
    capture = read_ranges(kafka.client_config(), spec.name, live.record, parse_ranges(config.ranges), ReadLimits.from_settings())
    reads = {r.partition: r for r in capture.reads}
    opened = store.open()
    for cell, rows in sorted(capture.cells.items()):
        merged = opened.merge_partition(live.collection, live.record, cell.instrument, cell.day, rows)
        yield dg.AssetMaterialization(
            asset_key=live.asset_path,
            partition=cell.key,
            metadata={"rows": merged.rows, "rows_new": merged.added, TOPIC: spec.name, "store/backend": store.backend},
        )
    context.log.info(f"{config.dataset} {config.ranges}: {len(capture.cells)} cells, "
                     f"{sum(r.messages for r in capture.reads)} messages")
    yield dg.Output(None, metadata={
        READS: dg.MetadataValue.json({str(p): asdict(r) for p, r in reads.items()}),
        GROUP: consumer_group(),
        TOPIC: spec.name,
        "cells": len(capture.cells),
    })


@dg.job(name="live_capture", description="Offset ranges of a live topic into the store, every cell they hold "
        "(launched by sensors/live.py, one run per live dataset at a time).")
def live_capture_job():
    capture_live()


def persisted_offsets(metadata: dict) -> tuple[str, str, dict[int, int]]:
    """(group, topic, {kafka partition: offset safe to commit}) from a capture run's output metadata."""
    reads = {int(p): RangeRead(**r) for p, r in metadata[READS].data.items()}
    return metadata[GROUP].value, metadata[TOPIC].value, {p: r.next for p, r in reads.items() if r.next > r.start}


live_vs_archive_spec = dg.AssetCheckSpec(
    LIVE_VS_ARCHIVE,
    asset=dataset(TRADES).asset,
    description="The day's archive (dump or REST) equals the live capture stored by `live_trades`: same agg ids, "
    "prices and quantities. Passes, saying so, when the day was not captured live.",
)


def live_vs_archive(store: Store, key: str, archive: pl.DataFrame) -> CheckOutcome:
    """The archive frame of a cell compared with the stored live capture of the same cell."""
    captured, cell = dataset(LIVE_TRADES), parse_cell(key)
    live = store.read(captured.collection, captured.record, [cell.instrument], cell.day, cell.day)
    if not live.height:
        return CheckOutcome(True, f"{key} was not captured live: nothing to compare", {"live_capture": False})
    return live_matches_archive(archive, live)
