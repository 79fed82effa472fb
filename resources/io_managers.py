"""The Kafka IO manager: assets hand over typed frames, Kafka carries them, the next asset reads exactly those.

An asset's output is `{partition_key: frame}` — one entry per cell (date, instrument) of the run, so a run that
covers seven days writes seven frames. `handle_output` publishes each as compressed Arrow batches keyed by instrument and
records the exact topic/partition/offset ranges in the materialisation metadata (`kafka/offsets`, per partition key).
`load_input` looks up the latest materialisation of each requested upstream partition and reads precisely those
offsets — never "up to the end offset", which another writer may have moved and which Tansu under-reports. When the
data has aged out of the topic (or the broker lost it) the read fails naming the partition to re-materialise.
"""

from __future__ import annotations

from dataclasses import asdict

import dagster as dg
import polars as pl

from resources.kafka import KafkaResource
from streamforge.bus.frames import OffsetRange, publish_frame, read_ranges
from streamforge.bus.topics import topic
from streamforge.catalog import parse_cell
from streamforge.errors import DataGoneError
from streamforge.schemas import record as record_named

DATASET = "streamforge/dataset"
RECORD = "streamforge/record"
OFFSETS = "kafka/offsets"

PartitionedFrames = dict[str, pl.DataFrame]


class KafkaFrameIOManager(dg.ConfigurableIOManager):
    kafka: KafkaResource

    def handle_output(self, context: dg.OutputContext, obj: PartitionedFrames) -> None:
        spec = topic(context.definition_metadata[DATASET])
        record = record_named(context.definition_metadata[RECORD])
        expected = set(context.asset_partition_keys)
        if set(obj) != expected:
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()} returned partitions {sorted(obj)}, the run covers {sorted(expected)}"
            )
        offsets: dict[str, list[dict]] = {}
        for key in sorted(obj):
            ranges = publish_frame(self.kafka.producer(), spec.name, parse_cell(key).instrument, key, record, obj[key])
            offsets[key] = [asdict(r) for r in ranges]
        context.add_output_metadata(
            {
                "kafka/topic": spec.name,
                OFFSETS: dg.MetadataValue.json(offsets),
                "kafka/messages": sum(r["messages"] for rs in offsets.values() for r in rs),
                "rows_total": sum(df.height for df in obj.values()),
            }
        )

    def load_input(self, context: dg.InputContext) -> PartitionedFrames:
        upstream = context.asset_key
        record = record_named(context.upstream_output.definition_metadata[RECORD])
        frames: PartitionedFrames = {}
        for key in sorted(context.asset_partition_keys):
            records = context.instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=upstream, asset_partitions=[key]), limit=1, ascending=False
            ).records
            name = upstream.to_user_string()
            if not records:
                raise DataGoneError(f"{name} partition {key} has never been materialised: materialise it first")
            offsets = records[0].asset_materialization.metadata.get(OFFSETS)
            if offsets is None or key not in offsets.data:
                raise DataGoneError(f"{name} partition {key}: its latest materialisation recorded no Kafka offsets; re-materialise it")
            ranges = [OffsetRange(**r) for r in offsets.data[key]]
            frames[key] = read_ranges(self.kafka.client_config(), ranges, record, key)
        return frames
